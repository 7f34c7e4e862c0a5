#include "swd/util/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "swd/util/io.h"

extern char** environ;

namespace swd {
namespace util {

namespace {
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// This process's environment with `extra` added, equal names replaced.
std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('=') + 1);  // "NAME="
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || x.compare(0, name.size(), name) == 0;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> pointers_to(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}
}  // namespace

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? std::optional<std::string>(name) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

Child spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv (expected a program and its arguments)");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  const std::vector<std::string> env_strings = environment_with(options.extra_env);
  std::vector<char*> args = pointers_to(argv), env = pointers_to(env_strings);
  const std::string& program = options.program.empty() ? argv[0] : options.program;
  const std::string exec_failure = "cannot execute " + program + "\n";
  const std::string chdir_failure = "cannot enter the folder " + options.working_dir + "\n";
  const char* working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();

  // The descriptors the child's 0, 1 and 2 become (-1: keep this process's).
  int fds[3] = {-1, -1, -1};
  int pipe_fds[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {fds[0], fds[1], pipe_fds[0], pipe_fds[1]}) {  // fds[2] is one of these
      if (fd >= 0) ::close(fd);
    }
  };
  fds[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fds[0] < 0) fail("cannot open /dev/null");
  if (!options.log_path.empty()) {
    try {
      fds[1] = open_for_writing(options.log_path, WriteMode::Append);  // never through a link
    } catch (...) {
      close_all();
      throw;
    }
    fds[2] = fds[1];
  } else {
    if (options.discard_stdout) {
      fds[1] = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (fds[1] < 0) {
        close_all();
        fail("cannot open /dev/null");
      }
    }
    if (options.pipe_stderr) {
      if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        const int saved = errno;
        close_all();
        errno = saved;
        fail("cannot create a pipe");
      }
      fds[2] = pipe_fds[1];
    }
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int saved = errno;
    close_all();
    errno = saved;
    fail("cannot start " + program);
  }
  if (pid == 0) {
    if (options.own_process_group) ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent is already gone
    for (int target = 0; target < 3; ++target) {
      if (fds[target] == target) ::fcntl(target, F_SETFD, 0);  // keep it across exec
      else if (fds[target] >= 0) ::dup2(fds[target], target);  // dup2 clears close-on-exec
    }
    if (working_dir != nullptr && ::chdir(working_dir) != 0) {
      (void)!::write(2, chdir_failure.data(), chdir_failure.size());
      ::_exit(127);
    }
    ::execve(program.c_str(), args.data(), env.data());
    (void)!::write(2, exec_failure.data(), exec_failure.size());
    ::_exit(127);
  }
  // The parent too, so that the group exists when spawn returns (a signal sent to it at once
  // reaches the child); whichever of the two calls comes second fails harmlessly.
  if (options.own_process_group) ::setpgid(pid, pid);
  Child child;
  child.pid = pid;
  if (pipe_fds[0] >= 0) {
    child.stderr_fd = pipe_fds[0];
    pipe_fds[0] = -1;  // the caller's now
    ::fcntl(child.stderr_fd, F_SETFL, O_NONBLOCK);
  }
  close_all();
  return child;
}

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid " + std::to_string(pid));
  }
  return exit_status_of(status);
}

std::optional<int> wait_for(pid_t pid, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (auto pause = std::chrono::milliseconds(1);; pause = std::min(2 * pause, std::chrono::milliseconds(50))) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return exit_status_of(status);
    if (done < 0 && errno != EINTR) fail("waitpid " + std::to_string(pid));
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
  }
}

int run_process(const std::vector<std::string>& argv, const std::string& log_path,
                const std::string& working_dir, double timeout_seconds) {
  SpawnOptions options;
  options.log_path = log_path;
  options.working_dir = working_dir;
  options.own_process_group = timeout_seconds > 0;  // what it starts is stopped with it
  const pid_t pid = spawn(argv, options).pid;
  if (timeout_seconds <= 0) return wait_for(pid);
  if (const auto status = wait_for(pid, timeout_seconds)) return *status;
  ::kill(-pid, SIGKILL);
  wait_for(pid);
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", timeout_seconds);
  throw std::runtime_error(argv[0] + " did not finish within " + limit + " s and was stopped");
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace util
}  // namespace swd
