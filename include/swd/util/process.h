#pragma once
// Child processes (the runs of a sweep, the ranks of `swd train --nproc`, the plotting tool)
// and the cores this process may use. Every fork/exec of swd goes through spawn().

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace swd {
namespace util {

/// The full path of `name` on $PATH (or `name` itself when it holds a '/' and is executable).
std::optional<std::string> find_program(const std::string& name);

/// How spawn() sets up a child. Its standard input is always /dev/null.
struct SpawnOptions {
  /// The executable to run; empty: argv[0] (which then must be a path).
  std::string program;
  /// "NAME=value" entries added to this process's environment (replacing equal names).
  std::vector<std::string> extra_env;
  /// The child's working folder; empty: this process's.
  std::string working_dir;
  /// Standard output and error appended to this file (opened by util::open_for_writing: never
  /// through a link); empty: see the two flags below.
  std::string log_path;
  /// Without a log file: standard output goes to /dev/null instead of this process's.
  bool discard_stdout = false;
  /// Without a log file: standard error goes to a pipe whose read end Child::stderr_fd holds
  /// (non-blocking, close-on-exec) instead of this process's.
  bool pipe_stderr = false;
  /// The child leads a process group of its own, so that a terminal's Ctrl-C reaches only
  /// this process (which then decides what to forward).
  bool own_process_group = false;
};

/// A started child.
struct Child {
  pid_t pid = -1;
  int stderr_fd = -1;  ///< read end of its standard error when SpawnOptions::pipe_stderr
};

/// Starts `argv` (the program SpawnOptions::program, else argv[0]). The child gets SIGTERM when
/// this process dies; if it cannot run the program it writes why to its standard error and
/// exits with 127.
/// Throws std::runtime_error naming what failed (an unopenable log file, fork, pipe).
Child spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

/// An exit status from waitpid's: the code, or 128 + the signal that ended it.
int exit_status_of(int wait_status);

/// Waits for `pid` (retrying on EINTR) and returns its exit status as exit_status_of does.
int wait_for(pid_t pid);

/// Waits up to `timeout_seconds` for `pid`: its exit status as exit_status_of gives it, or
/// nullopt when it is still running then.
std::optional<int> wait_for(pid_t pid, double timeout_seconds);

/// Starts `argv` with its output appended to `log_path`, waits, and returns its exit status.
/// With `timeout_seconds` > 0 it runs in a process group of its own, which is killed
/// (SIGKILL) when it has not ended by then; std::runtime_error "<argv[0]> did not finish
/// within N s and was stopped" follows.
int run_process(const std::vector<std::string>& argv, const std::string& log_path,
                const std::string& working_dir = "", double timeout_seconds = 0);

/// The number of cores this process may run on: its CPU affinity (taskset, cgroup cpusets),
/// else the machine's count, at least 1. The one core count of swd: threads, sweep jobs and
/// launched ranks are all sized from it.
int available_cores();

}  // namespace util
}  // namespace swd
