#include "swd/optim/options.h"

#include <ATen/core/ivalue.h>

#include <stdexcept>
#include <string>

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
  if (code < 0 || code > static_cast<int64_t>(Decay::Stable)) {
    throw std::runtime_error("saved optimizer options hold an invalid weight-decay mode " +
                             std::to_string(code) + " (expected 0, 1 or 2)");
  }
  v = static_cast<Decay>(code);
  return true;
}

void encode_value(NumberMap& out, const std::string& name, double v) { out[name] = v; }
void encode_value(NumberMap& out, const std::string& name, bool v) { out[name] = v ? 1 : 0; }
void encode_value(NumberMap& out, const std::string& name, const std::tuple<double, double>& v) {
  out[name + ".0"] = std::get<0>(v);
  out[name + ".1"] = std::get<1>(v);
}
void encode_value(NumberMap& out, const std::string& name, Decay v) {
  out[name] = static_cast<double>(static_cast<int>(v));
}

namespace {
double number_at(const NumberMap& in, const std::string& name) {
  const auto found = in.find(name);
  if (found == in.end()) throw std::runtime_error("optimizer option '" + name + "' is missing");
  return found->second;
}
}  // namespace

void decode_value(const NumberMap& in, const std::string& name, double& v) { v = number_at(in, name); }
void decode_value(const NumberMap& in, const std::string& name, bool& v) {
  const double x = number_at(in, name);
  if (x != 0 && x != 1) throw std::runtime_error("optimizer option '" + name + "' is not 0 or 1");
  v = x == 1;
}
void decode_value(const NumberMap& in, const std::string& name, std::tuple<double, double>& v) {
  v = std::make_tuple(number_at(in, name + ".0"), number_at(in, name + ".1"));
}
void decode_value(const NumberMap& in, const std::string& name, Decay& v) {
  const double x = number_at(in, name);
  if (x != 0 && x != 1 && x != 2) {
    throw std::runtime_error("optimizer option '" + name + "' is not a weight-decay mode");
  }
  v = static_cast<Decay>(static_cast<int>(x));
}

}  // namespace detail
}  // namespace optim
}  // namespace swd
