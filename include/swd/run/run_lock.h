#pragma once
// One trainer per run folder: an exclusive flock on <folder>/.swd-lock, held for the life of
// the process (docs/TRAINING.md, "One run per folder").

#include <string>
#include <vector>

namespace swd {
namespace run {

class RunFolderLock {
 public:
  /// Creates `folder` if needed and locks it; a second holder fails at once with a
  /// std::runtime_error naming the folder and the holder's pid. Then removes the temporary
  /// files a killed run may have left (checkpoint.pt.tmp, model.pt.tmp, ...).
  explicit RunFolderLock(const std::string& folder);
  /// Unlocks; folders this lock created and nothing else wrote into are removed again.
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  std::string folder_;
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> created_;  ///< folders this lock created, innermost first
};

}  // namespace run
}  // namespace swd
