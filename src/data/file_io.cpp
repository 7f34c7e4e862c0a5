#include "file_io.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "swd/data/dataset.h"

namespace swd {
namespace data {
namespace detail {

namespace fs = std::filesystem;

void fail(const std::string& path, const std::string& what) { throw DataError(path + ": " + what); }

InputFile::InputFile(std::string path) : path_(std::move(path)) {
  // zlib reads gzip members (magic 1f 8b) and passes any other content through unchanged.
  errno = 0;
  gzFile gz = gzopen(path_.c_str(), "rb");
  if (gz == nullptr) {
    fail(path_, std::string("cannot open: ") + (errno ? std::strerror(errno) : "out of memory"));
  }
  gz_ = gz;
  gzbuffer(gz, 1 << 17);
  // gzdirect looks at the first bytes: 0 for gzip content, 1 for anything else.
  gzipped_ = gzdirect(gz) == 0;
}

InputFile::~InputFile() { gzclose_r(static_cast<gzFile>(gz_)); }

size_t InputFile::read(void* dst, size_t n) {
  auto gz = static_cast<gzFile>(gz_);
  auto* out = static_cast<unsigned char*>(dst);
  size_t total = 0;
  while (total < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    const int got = gzread(gz, out + total, chunk);
    int code = Z_OK;
    const char* message = gzerror(gz, &code);
    if (got < 0 || code != Z_OK) {
      if (code == Z_ERRNO) fail(path_, std::string("read error: ") + std::strerror(errno));
      if (code == Z_BUF_ERROR) fail(path_, "truncated gzip data (unexpected end of file)");
      fail(path_, std::string("corrupt gzip data: ") + message);
    }
    total += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < chunk) break;  // end of file
  }
  return total;
}

std::vector<uint8_t> InputFile::read_rest(size_t limit, bool* more) {
  std::vector<uint8_t> bytes;
  size_t size = 0;
  while (size < limit) {
    // Grow geometrically from 1 MiB, never past `limit`.
    const size_t want = std::min(limit - size, std::max<size_t>(size, 1 << 20));
    bytes.resize(size + want);
    const size_t got = read(bytes.data() + size, want);
    size += got;
    if (got < want) {
      bytes.resize(size);
      *more = false;
      return bytes;
    }
  }
  uint8_t probe = 0;
  *more = read(&probe, 1) == 1;
  return bytes;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return (fs::path(dir) / name).string();
}

std::string find_file(const std::string& dir, const std::string& name) {
  for (const std::string& candidate : {name + ".gz", name}) {
    const std::string path = join_path(dir, candidate);
    std::error_code error;
    if (fs::is_regular_file(path, error)) return path;
  }
  return "";
}

bool is_directory(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error);
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace detail
}  // namespace data
}  // namespace swd
