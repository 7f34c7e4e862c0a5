#include "swd/optim/options.h"

#include <ATen/core/ivalue.h>

namespace swd {
namespace optim {
namespace detail {

void write_value(torch::serialize::OutputArchive& archive, const std::string& key, double v) {
  archive.write(key, c10::IValue(v));
}
void write_value(torch::serialize::OutputArchive& archive, const std::string& key, bool v) {
  archive.write(key, c10::IValue(v));
}
void write_value(torch::serialize::OutputArchive& archive, const std::string& key,
                 const std::tuple<double, double>& v) {
  archive.write(key, c10::IValue(v));
}
void write_value(torch::serialize::OutputArchive& archive, const std::string& key, Decay v) {
  archive.write(key, c10::IValue(static_cast<int64_t>(v)));
}

namespace {
template <typename T>
bool read_as(torch::serialize::InputArchive& archive, const std::string& key, T& v) {
  c10::IValue stored;
  if (!archive.try_read(key, stored)) return false;
  v = stored.to<T>();
  return true;
}
}  // namespace

bool read_value(torch::serialize::InputArchive& archive, const std::string& key, double& v) {
  return read_as(archive, key, v);
}
bool read_value(torch::serialize::InputArchive& archive, const std::string& key, bool& v) {
  return read_as(archive, key, v);
}
bool read_value(torch::serialize::InputArchive& archive, const std::string& key,
                std::tuple<double, double>& v) {
  return read_as(archive, key, v);
}
bool read_value(torch::serialize::InputArchive& archive, const std::string& key, Decay& v) {
  int64_t code = 0;
  if (!read_as(archive, key, code)) return false;
  TORCH_CHECK(code >= 0 && code <= static_cast<int64_t>(Decay::Stable),
              "saved optimizer options hold an unknown weight-decay mode ", code);
  v = static_cast<Decay>(code);
  return true;
}

}  // namespace detail
}  // namespace optim
}  // namespace swd
