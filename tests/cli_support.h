#pragma once
// Running the swd binary from tests.

#include <cstddef>
#include <functional>
#include <string>

namespace swd_test {

struct CommandResult {
  int status = -1;     ///< exit status
  std::string output;  ///< stdout and stderr together
};

/// Runs `swd <arguments>` (the binary built with the tests) through the shell.
CommandResult run_swd(const std::string& arguments);

/// A process running `swd <arguments>` with stdout and stderr going to `log_path`.
struct Spawned {
  int pid = -1;
  std::string log_path;
};
Spawned spawn_swd(const std::string& arguments, const std::string& log_path);

/// Waits up to `timeout_s` for `pid` to end; its exit status (128 + signal when killed), or
/// -1 if it is still running then.
int wait_for_exit(int pid, double timeout_s);

/// Waits until done() is true, checking every millisecond; false if `timeout_s` passes first
/// or (pid >= 0) process `pid` ends first.
bool wait_until(const std::function<bool()>& done, double timeout_s, int pid = -1);

/// wait_until `path` exists.
bool wait_for_file(const std::string& path, double timeout_s, int pid = -1);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

/// A fresh empty folder under the system's temp folder, removed at exit.
std::string fresh_dir(const std::string& name);

/// How many times `part` occurs in `text` (overlaps counted).
size_t count(const std::string& text, const std::string& part);

/// The whole file, or "" if it does not exist.
std::string slurp(const std::string& path);

/// The metrics.csv rows of the run in `run_dir` as text, seconds left out (the only column
/// that may differ between equal runs).
std::string rows_without_seconds(const std::string& run_dir);

}  // namespace swd_test
