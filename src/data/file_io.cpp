#include "file_io.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "swd/data/dataset.h"

namespace swd {
namespace data {
namespace detail {

namespace fs = std::filesystem;

void fail(const std::string& path, const std::string& what) { throw DataError(path + ": " + what); }

namespace {

// The likely size of the content, to allocate once: the file size, or for gzip (RFC 1952) the
// ISIZE trailer, the size mod 2^32 of the last member's data, at most the 1032:1 that deflate
// can reach. Only a guess: reading never trusts it.
size_t guess_content_size(const std::string& path) {
  std::error_code error;
  const uintmax_t file_size = fs::file_size(path, error);
  if (error) return 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return 0;
  unsigned char magic[2] = {0, 0};
  unsigned char trailer[4] = {0, 0, 0, 0};
  const bool gzip = std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  const bool has_trailer = gzip && file_size >= 18 && std::fseek(f, -4, SEEK_END) == 0 &&
                           std::fread(trailer, 1, 4, f) == 4;
  std::fclose(f);
  if (!gzip) return file_size;
  if (!has_trailer) return 0;
  const uintmax_t isize =
      trailer[0] | (trailer[1] << 8) | (trailer[2] << 16) | (uintmax_t{trailer[3]} << 24);
  return static_cast<size_t>(std::min<uintmax_t>(isize, file_size * 1032));
}

}  // namespace

InputFile::InputFile(std::string path) : path_(std::move(path)) {
  size_hint_ = guess_content_size(path_);
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
      std::string reason = message;  // zlib writes "<path>: <reason>"
      if (reason.rfind(path_ + ": ", 0) == 0) reason.erase(0, path_.size() + 2);
      fail(path_, "corrupt gzip data: " + reason);
    }
    total += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < chunk) break;  // end of file
  }
  return total;
}

std::vector<uint8_t> InputFile::read_rest(size_t limit, bool* more) {
  std::vector<uint8_t> bytes;
  size_t size = 0;
  // One allocation when the size guess is right (one more byte to see the end), else growth
  // by doubling; never past `limit`.
  size_t capacity = std::min(limit, std::max<size_t>(size_hint_ + 1, 1 << 20));
  while (size < limit) {
    bytes.resize(capacity);
    const size_t want = capacity - size;
    const size_t got = read(bytes.data() + size, want);
    size += got;
    if (got < want) {
      bytes.resize(size);
      *more = false;
      return bytes;
    }
    capacity = std::min(limit, 2 * capacity);
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
