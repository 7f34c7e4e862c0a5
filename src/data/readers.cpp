#include "readers.h"

#include <ATen/ops/empty.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "file_io.h"

namespace swd {
namespace data {
namespace detail {

namespace {

// IDX format (the MNIST files): a big-endian magic 0x000008DD (0x08: unsigned bytes, DD: the
// number of dimensions), DD big-endian uint32 sizes, then the values in row-major order.
constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8 [N, rows, cols]
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8 [N]

// CIFAR binary format (cs.toronto.edu/~kriz/cifar.html): each record is its label byte(s)
// then a 32x32 colour image, 1024 red, 1024 green, 1024 blue bytes (CHW, rows top to bottom).
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixels = 3 * kCifarSide * kCifarSide;

std::string hex32(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", v);
  return text;
}

std::string bytes_note(const InputFile& file) { return file.gzipped() ? " once decompressed" : ""; }

// For a file named .gz whose content is not gzip (so was read as it is).
std::string not_gzip_note(const InputFile& file) {
  const std::string& p = file.path();
  const bool named_gz = p.size() >= 3 && p.compare(p.size() - 3, 3, ".gz") == 0;
  return named_gz && !file.gzipped() ? "; the file is named .gz but does not start with the gzip "
                                       "magic 1f 8b, so it was read uncompressed"
                                     : "";
}

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;
};

// "60000 images of 28x28" or "60000 labels".
std::string describe_idx(const std::vector<int64_t>& dims) {
  std::ostringstream text;
  text << dims[0] << (dims.size() == 3 ? " image" : " label") << (dims[0] == 1 ? "" : "s");
  if (dims.size() == 3) text << " of " << dims[1] << "x" << dims[2];
  return text.str();
}

// One IDX file whose magic must be `magic` (kIdxImagesMagic or kIdxLabelsMagic); its size must
// be exactly what the header announces.
IdxArray read_idx_array(const std::string& path, uint32_t magic) {
  const bool images = magic == kIdxImagesMagic;
  const char* expected = images ? "IDX uint8 images [N, rows, cols]" : "IDX uint8 labels [N]";
  InputFile file(path);
  const size_t ndims = magic & 0xff;
  const size_t header_bytes = 4 + 4 * ndims;
  std::array<uint8_t, 16> header{};
  const size_t got = file.read(header.data(), header_bytes);
  if (got < 4) {
    fail(path, "truncated: " + std::to_string(got) + " bytes" + bytes_note(file) +
                   ", too short for the magic number of " + expected);
  }
  const uint32_t found = big_endian_u32(header.data());
  if (found != magic) {
    fail(path, "bad magic number " + hex32(found) + " (expected " + hex32(magic) + ", " + expected +
                   ")" + not_gzip_note(file));
  }
  if (got < header_bytes) {
    fail(path, "truncated header: " + std::to_string(got) + " bytes" + bytes_note(file) +
                   ", expected " + std::to_string(header_bytes));
  }
  IdxArray array;
  size_t payload = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const uint32_t size = big_endian_u32(header.data() + 4 + 4 * d);
    array.dims.push_back(size);
    payload *= size;  // < 2^30 * 2^32 at every step: no overflow
    if (payload > kMaxFileBytes) {
      fail(path, "the header announces more than " + std::to_string(kMaxFileBytes) +
                     " bytes of data, more than any dataset read here");
    }
  }
  if (array.dims[0] == 0)
    fail(path, "the header announces 0 " + std::string(images ? "images" : "labels"));
  if (images && payload == 0) {
    fail(path, "the header announces images of " + std::to_string(array.dims[1]) + "x" +
                   std::to_string(array.dims[2]) + " (expected nonzero rows and cols)");
  }
  bool more = false;
  array.values = file.read_rest(payload, &more);
  const std::string announced = "the header announces " + describe_idx(array.dims) + ", " +
                                std::to_string(header_bytes + payload) + " bytes in all";
  if (array.values.size() < payload) {
    fail(path, "truncated: " + announced + ", but the file holds " +
                   std::to_string(header_bytes + array.values.size()) + bytes_note(file));
  }
  if (more) fail(path, announced + ", but the file holds more" + bytes_note(file));
  return array;
}

// The record layout in words: "1 label byte + 3072 pixel bytes".
std::string describe_record(const CifarLayout& layout) {
  const size_t labels = layout.label_limits.size();
  return std::to_string(labels) + (labels == 1 ? " label byte" : " label bytes") + " + " +
         std::to_string(kCifarPixels) + " pixel bytes";
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes) {
  const IdxArray images = read_idx_array(images_path, kIdxImagesMagic);
  const IdxArray labels = read_idx_array(labels_path, kIdxLabelsMagic);
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n) {
    fail(labels_path, "holds " + std::to_string(labels.dims[0]) + " labels but " + images_path +
                          " holds " + std::to_string(n) + " images (expected as many labels)");
  }
  Dataset set;
  set.num_classes = num_classes;
  set.images = at::empty({n, 1, images.dims[1], images.dims[2]}, at::kByte);
  std::memcpy(set.images.data_ptr<uint8_t>(), images.values.data(), images.values.size());
  set.labels = at::empty({n}, at::kLong);
  int64_t* out = set.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels.values[i];
    if (label >= num_classes) {
      fail(labels_path, "label " + std::to_string(label) + " at index " + std::to_string(i) +
                            " is out of range (expected < " + std::to_string(num_classes) + ")");
    }
    out[i] = label;
  }
  return set;
}

CifarLayout cifar10_layout() { return {{"label"}, {10}, 0}; }
CifarLayout cifar100_layout() { return {{"coarse label", "fine label"}, {20, 100}, 1}; }

Dataset read_cifar(const std::vector<std::string>& paths, const CifarLayout& layout) {
  const size_t label_bytes = layout.label_limits.size();
  const size_t record = label_bytes + kCifarPixels;
  std::vector<std::vector<uint8_t>> contents;
  int64_t total = 0;
  for (const std::string& path : paths) {
    InputFile file(path);
    bool more = false;
    std::vector<uint8_t> bytes = file.read_rest(kMaxFileBytes, &more);
    if (more)
      fail(path, "holds more than " + std::to_string(kMaxFileBytes) + " bytes: not a CIFAR file");
    if (bytes.empty()) fail(path, "is empty (expected records of " + describe_record(layout) + ")");
    if (bytes.size() % record != 0) {
      fail(path, "size " + std::to_string(bytes.size()) + bytes_note(file) +
                     " is not a multiple of the " + std::to_string(record) + "-byte record (" +
                     describe_record(layout) + "): the last record is truncated");
    }
    const size_t records = bytes.size() / record;
    for (size_t r = 0; r < records; ++r) {
      for (size_t b = 0; b < label_bytes; ++b) {
        const int64_t label = bytes[r * record + b];
        if (label >= layout.label_limits[b]) {
          fail(path, "record " + std::to_string(r) + ": " + layout.label_names[b] + " " +
                         std::to_string(label) + " is out of range (expected < " +
                         std::to_string(layout.label_limits[b]) + ")");
        }
      }
    }
    total += static_cast<int64_t>(records);
    contents.push_back(std::move(bytes));
  }
  Dataset set;
  set.num_classes = layout.label_limits[layout.used_label];
  set.images = at::empty({total, 3, kCifarSide, kCifarSide}, at::kByte);
  set.labels = at::empty({total}, at::kLong);
  uint8_t* pixels = set.images.data_ptr<uint8_t>();
  int64_t* labels = set.labels.data_ptr<int64_t>();
  for (const auto& bytes : contents) {
    for (size_t offset = 0; offset < bytes.size(); offset += record) {
      *labels++ = bytes[offset + layout.used_label];
      std::memcpy(pixels, bytes.data() + offset + label_bytes, kCifarPixels);
      pixels += kCifarPixels;
    }
  }
  return set;
}

void channel_stats(const at::Tensor& images, std::vector<double>* mean, std::vector<double>* std) {
  const at::Tensor x = images.contiguous();
  const int64_t n = x.size(0), channels = x.size(1), plane = x.size(2) * x.size(3);
  std::vector<std::array<uint64_t, 256>> histogram(channels);
  for (auto& h : histogram) h.fill(0);
  const uint8_t* p = x.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      auto& h = histogram[c];
      for (int64_t k = 0; k < plane; ++k) ++h[*p++];
    }
  }
  mean->assign(channels, 0.0);
  std->assign(channels, 0.0);
  const long double count = static_cast<long double>(n) * plane;
  for (int64_t c = 0; c < channels; ++c) {
    long double s1 = 0, s2 = 0;  // sums of v and v^2, v = byte / 255
    for (int v = 0; v < 256; ++v) {
      const long double x01 = v / 255.0L;
      s1 += histogram[c][v] * x01;
      s2 += histogram[c][v] * x01 * x01;
    }
    const long double m = count > 0 ? s1 / count : 0;
    const long double var = count > 0 ? s2 / count - m * m : 0;
    (*mean)[c] = static_cast<double>(m);
    const double deviation = static_cast<double>(std::sqrt(var > 0 ? var : 0.0L));
    (*std)[c] = deviation > 0 ? deviation : 1.0;  // a constant channel: no scaling
  }
}

}  // namespace detail
}  // namespace data
}  // namespace swd
