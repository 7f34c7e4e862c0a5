#pragma once
// Running the swd binary from tests.

#include <string>

namespace swd_test {

struct CommandResult {
  int status = -1;     ///< exit status
  std::string output;  ///< stdout and stderr together
};

/// Runs `swd <arguments>` (the binary built with the tests) through the shell.
CommandResult run_swd(const std::string& arguments);

/// Starts `swd <arguments>` in the background (output to `log_path`); returns its pid.
int spawn_swd(const std::string& arguments, const std::string& log_path);

/// Waits for a spawned process; returns its exit status, or 128 + signal if killed.
int wait_for(int pid);

/// A fresh empty folder under the system's temp folder, removed at exit.
std::string fresh_dir(const std::string& name);

/// The whole file, or "" if it does not exist.
std::string slurp(const std::string& path);

}  // namespace swd_test
