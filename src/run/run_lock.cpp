#include "swd/run/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "swd/util/io.h"

namespace swd {
namespace run {

namespace fs = std::filesystem;

RunFolderLock::RunFolderLock(const std::string& folder)
    : folder_(folder), path_((fs::path(folder) / ".swd-lock").string()) {
  std::error_code error;
  for (fs::path p = fs::absolute(folder, error); !p.empty() && !fs::exists(p, error);
       p = p.parent_path()) {
    created_.push_back(p.string());
  }
  fs::create_directories(folder, error);
  if (error) throw std::runtime_error("cannot create " + folder + ": " + error.message());
  fd_ = util::open_for_writing(path_, util::WriteMode::ReadWrite);  // never through a link
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    created_.clear();
    const std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
    throw std::runtime_error(folder + " is in use by another swd train (pid " +
                             pid.substr(0, pid.find('\n')) + " holds " + path_ +
                             "); wait for it to end or choose another --out");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // the lock holds without the pid; only the message of a second run is less helpful
  }
  // Leftovers of a run killed while writing a file atomically (swd/util/io.h); never read.
  for (const char* name : {"checkpoint.pt.tmp", "config.json.tmp", "metrics.csv.tmp",
                           "model.pt.tmp", "best.pt.tmp"}) {
    fs::remove(fs::path(folder) / name, error);
  }
}

RunFolderLock::~RunFolderLock() {
  if (fd_ < 0) return;
  if (!created_.empty()) {  // a run that failed before writing anything leaves no folder
    std::error_code error;
    bool only_lock = true;
    for (const auto& entry : fs::directory_iterator(folder_, error)) {
      if (entry.path().filename() != ".swd-lock") only_lock = false;
    }
    if (!error && only_lock) {
      fs::remove(path_, error);
      for (const auto& dir : created_) fs::remove(dir, error);  // fails once one is not empty
    }
  }
  ::close(fd_);
}

}  // namespace run
}  // namespace swd
