#pragma once
// File access shared by the dataset readers: plain or gzip files (told apart by the gzip magic
// 1f 8b), a size limit against gzip bombs, and DataError messages that name the file.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace swd {
namespace data {
namespace detail {

/// The most bytes one dataset file may hold once decompressed. The largest file read here,
/// CIFAR-100's train.bin, holds 154 MB.
constexpr size_t kMaxFileBytes = size_t{1} << 30;

/// Throws DataError "<path>: <what>".
[[noreturn]] void fail(const std::string& path, const std::string& what);

/// One dataset file read front to back; gzip content (magic 1f 8b) is decompressed on the fly,
/// anything else is read as it is.
class InputFile {
 public:
  /// Throws DataError if the file cannot be opened.
  explicit InputFile(std::string path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Reads up to `n` bytes into `dst` and returns how many; fewer only at the end of the file.
  /// Corrupt or truncated gzip data throws DataError.
  size_t read(void* dst, size_t n);
  /// Reads what is left, at most `limit` bytes; memory grows with what the file really holds.
  /// `*more` says whether bytes remain beyond `limit`.
  std::vector<uint8_t> read_rest(size_t limit, bool* more);

  const std::string& path() const { return path_; }
  /// Whether the content is gzip-compressed (sizes in messages are then decompressed ones).
  bool gzipped() const { return gzipped_; }

 private:
  std::string path_;
  void* gz_ = nullptr;  // gzFile
  bool gzipped_ = false;
  size_t size_hint_ = 0;  // likely content size: the file size, or gzip's ISIZE field
};

/// dir/name (dir may be empty).
std::string join_path(const std::string& dir, const std::string& name);
/// dir/name.gz if it is a file, else dir/name if it is a file, else "".
std::string find_file(const std::string& dir, const std::string& name);
/// Whether `path` is a folder.
bool is_directory(const std::string& path);

/// The big-endian 32-bit integer at `p` (IDX headers).
uint32_t big_endian_u32(const uint8_t* p);

/// "a, b and c".
std::string join_words(const std::vector<std::string>& words);

}  // namespace detail
}  // namespace data
}  // namespace swd
