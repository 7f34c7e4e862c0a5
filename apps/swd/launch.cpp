// The local launcher of `swd train --nproc N`: fork + exec of /proc/self/exe, one process per
// rank, with their standard error relayed and their exit watched.
#include "launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "swd/parallel/data_parallel.h"

namespace swd {
namespace cli {

namespace {

constexpr auto kGrace = std::chrono::seconds(5);  // SIGTERM -> SIGKILL for surviving workers

volatile sig_atomic_t g_signal = 0;
extern "C" void remember_signal(int sig) { g_signal = sig; }

/// This process's own arguments, argv[0] included.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == '\0') {
      args.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  }
  if (args.empty()) throw std::runtime_error("cannot read this program's arguments from /proc/self/cmdline");
  return args;
}

struct Worker {
  int rank = 0;
  pid_t pid = -1;
  int err_fd = -1;      ///< read end of its standard error (ranks > 0), -1 when closed
  std::string partial;  ///< an unfinished line of it
  bool running = true;
  int status = 0;
};

/// Prints the complete lines read from a worker's standard error, prefixed with its rank.
void relay(Worker& w, bool flush_all) {
  char buffer[4096];
  while (w.err_fd >= 0) {
    const ssize_t n = ::read(w.err_fd, buffer, sizeof buffer);
    if (n > 0) {
      w.partial.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    ::close(w.err_fd);  // end of file or error
    w.err_fd = -1;
    flush_all = true;
  }
  size_t newline;
  while ((newline = w.partial.find('\n')) != std::string::npos) {
    std::fprintf(stderr, "[rank %d] %s\n", w.rank, w.partial.substr(0, newline).c_str());
    w.partial.erase(0, newline + 1);
  }
  if (flush_all && !w.partial.empty()) {
    std::fprintf(stderr, "[rank %d] %s\n", w.rank, w.partial.c_str());
    w.partial.clear();
  }
}

std::string describe(const Worker& w) {
  const std::string who = "rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.pid) + ")";
  if (WIFSIGNALED(w.status)) {
    return who + " was killed by signal " + std::to_string(WTERMSIG(w.status)) + " (" +
           strsignal(WTERMSIG(w.status)) + ")";
  }
  return who + " exited with status " + std::to_string(WEXITSTATUS(w.status));
}

bool failed(const Worker& w) { return !(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0); }

/// Starts one worker: its own process group (terminal signals reach the launcher only, which
/// forwards them), killed with SIGTERM if the launcher dies.
void start(Worker& w, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int err_pipe[2] = {-1, -1};
  if (w.rank > 0 && ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  const int devnull = w.rank > 0 ? ::open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
  const pid_t parent = ::getpid();
  w.pid = ::fork();
  if (w.pid < 0) throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(errno));
  if (w.pid == 0) {  // child: async-signal-safe calls only
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    if (w.rank > 0) {
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(err_pipe[1], STDERR_FILENO);
    }
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  if (w.rank > 0) {
    ::close(err_pipe[1]);
    ::close(devnull);
    w.err_fd = err_pipe[0];
    ::fcntl(w.err_fd, F_SETFL, O_NONBLOCK);
  }
}

/// Sends `sig` to every running worker, then SIGCONT: a stopped worker (kill -STOP) would
/// otherwise hold the signal pending until the SIGKILL of the grace period.
void signal_all(std::vector<Worker>& workers, int sig) {
  for (const auto& w : workers) {
    if (!w.running) continue;
    ::kill(w.pid, sig);
    ::kill(w.pid, SIGCONT);
  }
}

}  // namespace

int launch_local_workers(const train::TrainConfig& config) {
  const int64_t n = config.nproc;
  if (config.world_size != 1 || config.rank != 0) {
    throw train::ConfigError("--nproc " + std::to_string(n) + " starts its own ranks; give it "
                             "without --rank/--world-size (those join a multi-machine run)");
  }
  parallel::check_batch_split(config.batch_size, n, config.accumulate);

  std::vector<std::string> base = own_arguments();
  if (config.threads == 0) {  // share the cores instead of each worker taking them all
    const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
    base.insert(base.end(), {"--threads", std::to_string(std::max<int64_t>(1, cores / n))});
  }
  // --master-port when given, else a port that is free now
  const int port = config.master_port > 0 ? static_cast<int>(config.master_port)
                                           : parallel::free_port("127.0.0.1");
  base.insert(base.end(), {"--nproc", "1", "--world-size", std::to_string(n), "--master-addr",
                           "127.0.0.1", "--master-port", std::to_string(port)});

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
  std::fflush(nullptr);  // nothing buffered may be written twice

  std::vector<Worker> workers(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    auto args = base;
    args.insert(args.end(), {"--rank", std::to_string(r)});
    workers[r].rank = static_cast<int>(r);
    start(workers[r], args);
  }

  int forwarded = 0;
  const Worker* first_failure = nullptr;
  auto kill_deadline = std::chrono::steady_clock::time_point::max();
  size_t running = workers.size();
  while (running > 0 || std::any_of(workers.begin(), workers.end(),
                                    [](const Worker& w) { return w.err_fd >= 0; })) {
    std::vector<pollfd> fds;
    for (const auto& w : workers) {
      if (w.err_fd >= 0) fds.push_back({w.err_fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 100);  // EINTR on a signal is fine: the loop goes on
    for (auto& w : workers) relay(w, false);
    if (const int sig = g_signal) {
      g_signal = 0;
      forwarded = sig;
      signal_all(workers, sig);
    }
    int status = 0;
    pid_t pid;
    const Worker* failure = nullptr;  // of this pass; a killed worker is the likely cause
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& w : workers) {
        if (w.pid != pid) continue;
        w.running = false;
        w.status = status;
        --running;
        if (failed(w) && (failure == nullptr || (WIFSIGNALED(w.status) && !WIFSIGNALED(failure->status)))) {
          failure = &w;
        }
      }
    }
    if (failure != nullptr && first_failure == nullptr && forwarded == 0) {
      first_failure = failure;
      signal_all(workers, SIGTERM);
      kill_deadline = std::chrono::steady_clock::now() + kGrace;
    }
    if (std::chrono::steady_clock::now() > kill_deadline) signal_all(workers, SIGKILL);
  }
  for (auto& w : workers) relay(w, true);

  if (forwarded != 0) return 128 + forwarded;
  if (first_failure != nullptr) {
    std::fprintf(stderr, "swd: error: %s; the other ranks were stopped\n",
                 describe(*first_failure).c_str());
    return 2;
  }
  return 0;
}

}  // namespace cli
}  // namespace swd
