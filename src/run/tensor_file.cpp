#include "tensor_file.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "swd/util/io.h"

namespace swd {
namespace run {

namespace {

constexpr char kMagic[8] = {'S', 'W', 'D', 'C', 'K', 'P', 'T', '1'};
constexpr size_t kMaxDims = 8;

struct DtypeCode {
  uint8_t code;
  at::ScalarType type;
};
constexpr DtypeCode kDtypes[] = {
    {0, at::kFloat}, {1, at::kDouble}, {2, at::kLong}, {3, at::kByte}};

template <typename T>
void put(std::string& out, T value) {  // little-endian on the machines LibTorch supports
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

/// Reads from a byte range, refusing to go past its end.
class Reader {
 public:
  explicit Reader(const std::string& bytes, size_t end) : bytes_(bytes), end_(end) {}
  template <typename T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  const char* take(uint64_t n, const char* what) {
    if (n > end_ - pos_) {
      throw std::runtime_error(std::string("it is truncated or damaged (") + what + " runs past the end)");
    }
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  bool at_end() const { return pos_ == end_; }

 private:
  const std::string& bytes_;
  size_t end_;
  size_t pos_ = 0;
};

uint32_t crc_of(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

std::string encode_tensor_file(const TensorFile& file) {
  std::string out(kMagic, sizeof kMagic);
  put<uint64_t>(out, file.json.size());
  out += file.json;
  put<uint64_t>(out, file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    const auto t = tensor.detach().to(at::kCPU).contiguous();
    const DtypeCode* dtype = nullptr;
    for (const auto& d : kDtypes) {
      if (d.type == t.scalar_type()) dtype = &d;
    }
    if (dtype == nullptr) {
      throw std::invalid_argument("checkpoint: tensor " + name + " has unsupported dtype " +
                                  std::string(c10::toString(t.scalar_type())) +
                                  " (expected float32, float64, int64 or uint8)");
    }
    if (static_cast<size_t>(t.dim()) > kMaxDims) {
      throw std::invalid_argument("checkpoint: tensor " + name + " has " + std::to_string(t.dim()) +
                                  " dimensions (expected at most " + std::to_string(kMaxDims) + ")");
    }
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out += name;
    put<uint8_t>(out, dtype->code);
    put<uint8_t>(out, static_cast<uint8_t>(t.dim()));
    for (const auto d : t.sizes()) put<int64_t>(out, d);
    const uint64_t size = t.numel() * t.element_size();
    put<uint64_t>(out, size);
    out.append(static_cast<const char*>(t.data_ptr()), size);
  }
  put<uint32_t>(out, crc_of(out.data(), out.size()));
  return out;
}

TensorFile decode_tensor_file(const std::string& bytes, bool check_crc) {
  if (bytes.size() < sizeof kMagic + 4 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw std::runtime_error("it is not an swd checkpoint (no SWDCKPT1 header)");
  }
  const size_t body = bytes.size() - 4;
  if (check_crc) {
    uint32_t stored;
    std::memcpy(&stored, bytes.data() + body, 4);
    if (stored != crc_of(bytes.data(), body)) {
      throw std::runtime_error("it is damaged (checksum mismatch)");
    }
  }
  Reader in(bytes, body);
  in.take(sizeof kMagic, "header");
  TensorFile file;
  const auto json_size = in.get<uint64_t>("the JSON size");
  file.json.assign(in.take(json_size, "the JSON document"), json_size);
  const auto count = in.get<uint64_t>("the tensor count");
  for (uint64_t i = 0; i < count; ++i) {
    const auto name_size = in.get<uint32_t>("a tensor name size");
    std::string name(in.take(name_size, "a tensor name"), name_size);
    const auto code = in.get<uint8_t>("a tensor dtype");
    const DtypeCode* dtype = nullptr;
    for (const auto& d : kDtypes) {
      if (d.code == code) dtype = &d;
    }
    if (dtype == nullptr) throw std::runtime_error("tensor '" + name + "' has an unknown dtype");
    const auto ndim = in.get<uint8_t>("a tensor rank");
    if (ndim > kMaxDims) throw std::runtime_error("tensor '" + name + "' has too many dimensions");
    std::vector<int64_t> dims(ndim);
    uint64_t numel = 1;
    for (auto& d : dims) {
      d = in.get<int64_t>("a tensor dimension");
      if (d < 0 || (d > 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / d)) {
        throw std::runtime_error("tensor '" + name + "' has an invalid shape");
      }
      numel *= static_cast<uint64_t>(d);
    }
    const auto data_size = in.get<uint64_t>("a tensor size");
    const uint64_t element = at::elementSize(dtype->type);
    if (data_size != numel * element) {
      throw std::runtime_error("tensor '" + name + "' has " + std::to_string(data_size) +
                               " bytes for " + std::to_string(numel) + " elements");
    }
    const char* data = in.take(data_size, "tensor data");
    auto tensor = at::empty(dims, at::TensorOptions().dtype(dtype->type));
    if (data_size > 0) std::memcpy(tensor.data_ptr(), data, data_size);
    if (!file.tensors.emplace(std::move(name), tensor).second) {
      throw std::runtime_error("a tensor name appears twice");
    }
  }
  if (!in.at_end()) throw std::runtime_error("it has unexpected bytes after its last tensor");
  return file;
}

TensorFile read_tensor_file(const std::string& path) {
  return decode_tensor_file(
      util::read_file(path, {std::string(kMagic, sizeof kMagic), "an swd checkpoint", 0}));
}

}  // namespace run
}  // namespace swd
