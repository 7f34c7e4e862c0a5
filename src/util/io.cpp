#include "swd/util/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace swd {
namespace util {

namespace {
[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

/// Closes `fd` keeping errno (for the message that follows).
void close_keeping_errno(int fd) {
  const int saved = errno;
  ::close(fd);
  errno = saved;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", path);
    }
    done += static_cast<size_t>(n);
  }
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  if (::fsync(fd) != 0) {
    close_keeping_errno(fd);
    fail("fsync", path);
  }
  ::close(fd);
}

std::string folder_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

std::string kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// Why a file with status `st` (lstat's) is not written in place, or "" when it may be.
std::string refusal(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link (swd never writes through a link; remove it)";
  if (!S_ISREG(st.st_mode)) return "it is " + kind_of(st.st_mode) + ", not a regular file (remove it)";
  if (st.st_nlink > 1) {
    return "it has " + std::to_string(st.st_nlink) + " hard links (swd never writes through a "
           "link; remove it)";
  }
  return "";
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw std::runtime_error("refusing to write into " + path + ": " + why);
}
}  // namespace

void check_writable_in_place(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;  // absent (or unreachable: opening will say)
  const std::string why = refusal(st);
  if (!why.empty()) refuse(path, why);
}

int open_for_writing(const std::string& path, WriteMode mode) {
  // O_NONBLOCK: a FIFO without a reader fails at once instead of waiting for one.
  const int access = mode == WriteMode::Append ? (O_WRONLY | O_APPEND) : O_RDWR;
  const int fd = ::open(path.c_str(), access | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int saved = errno;
    check_writable_in_place(path);  // a link (ELOOP), a FIFO without a reader (ENXIO)...
    errno = saved;
    fail("open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    close_keeping_errno(fd);
    fail("open", path);
  }
  if (const std::string why = refusal(st); !why.empty()) {
    ::close(fd);
    refuse(path, why);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::FILE* open_for_append(const std::string& path) {
  const int fd = open_for_writing(path, WriteMode::Append);
  std::FILE* file = ::fdopen(fd, "a");
  if (file == nullptr) {
    close_keeping_errno(fd);
    fail("open", path);
  }
  return file;
}

void commit_file(const std::string& tmp_path, const std::string& path) {
  fsync_path(tmp_path, O_RDONLY | O_NOFOLLOW);
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp_path.c_str());
    errno = saved;
    fail("rename into", path);
  }
  fsync_path(folder_of(path), O_RDONLY | O_DIRECTORY);
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  // A leftover of a killed writer, or a link planted under that name: removed (unlink never
  // follows a link), then the file is made new, refusing anything that took its place since.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT && errno != EISDIR && errno != EPERM) {
    fail("remove", tmp);
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", tmp);
  try {
    write_all(fd, contents, tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  commit_file(tmp, path);
}

void append_line_durably(const std::string& path, const std::string& line) {
  const int fd = open_for_writing(path, WriteMode::Append);
  try {
    write_all(fd, line + "\n", path);
    if (::fsync(fd) != 0) fail("fsync", path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string read_file(const std::string& path, const ReadLimits& limits) {
  // O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused just below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail("read", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    close_keeping_errno(fd);
    fail("read", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("cannot read " + path + ": it is " + kind_of(st.st_mode) +
                             ", not a regular file (not read)");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (limits.max_bytes > 0 && size > limits.max_bytes) {
    ::close(fd);
    throw std::runtime_error("cannot read " + path + ": it holds " + std::to_string(size) +
                             " bytes, more than the limit of " + std::to_string(limits.max_bytes));
  }
  std::string text;
  auto read_up_to = [&](uint64_t end) {  // into text, until `end` bytes or the end of the file
    const size_t start = text.size();
    text.resize(static_cast<size_t>(end));
    size_t done = start;
    while (done < text.size()) {
      const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        close_keeping_errno(fd);
        fail("read", path);
      }
      if (n == 0) break;  // it shrank meanwhile
      done += static_cast<size_t>(n);
    }
    text.resize(done);
  };
  if (!limits.magic.empty()) {
    read_up_to(std::min<uint64_t>(size, limits.magic.size()));
    if (text != limits.magic) {
      ::close(fd);
      throw std::runtime_error(path + " is not " + (limits.what.empty() ? "the file expected" : limits.what) +
                               " (it does not start with " + limits.magic + ")");
    }
  }
  read_up_to(size);  // never more than its size: a file that grows is not followed
  ::close(fd);
  return text;
}

}  // namespace util
}  // namespace swd
