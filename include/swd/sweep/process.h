#pragma once
// Child processes: the runs of a sweep and the plotting tool.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace swd {
namespace sweep {

/// The full path of `name` on $PATH (or `name` itself when it holds a '/' and is executable).
std::optional<std::string> find_program(const std::string& name);

/// Starts `argv` (argv[0] a path) with `extra_env` ("NAME=value") added to this process's
/// environment, stdin from /dev/null, stdout and stderr appended to `log_path`, in
/// `working_dir` (empty: this process's). The child gets SIGTERM when this process dies.
/// Throws std::runtime_error naming what failed.
pid_t start_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                    const std::string& log_path, const std::string& working_dir = "");

/// An exit status from waitpid's: the code, or 128 + the signal that ended it.
int exit_status_of(int wait_status);

/// Starts `argv` and waits for it; returns its exit status.
int run_process(const std::vector<std::string>& argv, const std::string& log_path,
                const std::string& working_dir = "");

/// The number of cores this process may run on.
int available_cores();

}  // namespace sweep
}  // namespace swd
