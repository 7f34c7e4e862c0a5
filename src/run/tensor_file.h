#pragma once
// The container of checkpoint.pt: a JSON document and named tensors, with a checksum. Its
// reader trusts nothing in the file: every length, count, type and shape is checked against
// the bytes that are there, so a truncated, corrupted or hostile file ends in a clear error.
//
//   "SWDCKPT1"                                  8 bytes
//   u64 json_size, json bytes                   (UTF-8 text)
//   u64 tensor_count, then per tensor:
//     u32 name_size, name bytes
//     u8 dtype (0 float32, 1 float64, 2 int64, 3 uint8), u8 ndim, i64 dims[ndim]
//     u64 data_size, data bytes                 (little-endian, contiguous)
//   u32 CRC-32 (zlib) of every byte before it
// Integers are little-endian.

#include <ATen/Tensor.h>

#include <map>
#include <stdexcept>
#include <string>

namespace swd {
namespace run {

struct TensorFile {
  std::string json;
  std::map<std::string, at::Tensor> tensors;  ///< CPU, contiguous
};

/// The file's bytes. Tensors must be float32, float64, int64 or uint8.
std::string encode_tensor_file(const TensorFile& file);

/// Parses `bytes`; throws std::runtime_error saying what is wrong. `check_crc` = false skips
/// the checksum (only for fuzzing the parser behind it).
TensorFile decode_tensor_file(const std::string& bytes, bool check_crc = true);

/// decode_tensor_file of the file at `path`, read by util::read_file: a regular file (a FIFO
/// or device is refused), its first bytes checked to be "SWDCKPT1" before the rest is read,
/// never more than its size.
TensorFile read_tensor_file(const std::string& path);

}  // namespace run
}  // namespace swd
