// The local launcher of `swd train --nproc N`: fork + exec of /proc/self/exe, one process per
// rank, with their standard error relayed and their exit watched.
#include "launch.h"

#include <poll.h>
#include <signal.h>
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
#include <vector>

#include "swd/parallel/data_parallel.h"
#include "swd/util/process.h"
#include "swd/util/signals.h"

namespace swd {
namespace cli {

namespace {

constexpr auto kGrace = std::chrono::seconds(5);  // SIGTERM -> SIGKILL for surviving workers

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
/// forwards them), killed with SIGTERM if the launcher dies. Rank 0 writes to the terminal;
/// the others' standard output is dropped and their standard error relayed with their rank.
void start(Worker& w, const std::vector<std::string>& args) {
  util::SpawnOptions options;
  options.program = "/proc/self/exe";  // this very binary, whatever argv[0] says
  options.own_process_group = true;
  options.discard_stdout = w.rank > 0;
  options.pipe_stderr = w.rank > 0;
  const util::Child child = util::spawn(args, options);
  w.pid = child.pid;
  w.err_fd = child.stderr_fd;
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
    const int64_t cores = util::available_cores();
    base.insert(base.end(), {"--threads", std::to_string(std::max<int64_t>(1, cores / n))});
  }
  // --master-port when given, else a port that is free now
  const int port = config.master_port > 0 ? static_cast<int>(config.master_port)
                                           : parallel::free_port("127.0.0.1");
  base.insert(base.end(), {"--nproc", "1", "--world-size", std::to_string(n), "--master-addr",
                           "127.0.0.1", "--master-port", std::to_string(port)});

  util::SignalCatcher signals({SIGINT, SIGTERM, SIGHUP});  // forwarded to the workers
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
    if (const int sig = signals.take()) {
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

void take_launch_environment(train::TrainConfig& config, const std::set<std::string>& given,
                             const std::function<const char*(const char*)>& get) {
  auto value = [&](const char* name) -> std::string {
    const char* v = get(name);
    return v == nullptr ? "" : v;
  };
  // Sets `key` from variable `name` unless a flag gave it; the message names the variable.
  auto take = [&](const std::string& key, const char* name) {
    const std::string v = value(name);
    if (v.empty() || given.count(key) > 0) return;
    try {
      train::set_config_value(config, key, v);
    } catch (const train::ConfigError& e) {
      throw train::ConfigError(std::string(name) + "=" + v + " from the environment: " + e.what());
    }
  };
  const bool torchrun = !value("RANK").empty() || !value("WORLD_SIZE").empty();
  const bool slurm = !value("SLURM_PROCID").empty() || !value("SLURM_NTASKS").empty();
  const char* rank_var = torchrun ? "RANK" : "SLURM_PROCID";
  const char* size_var = torchrun ? "WORLD_SIZE" : "SLURM_NTASKS";
  // --nproc (any value, also the "--nproc 1" of the workers it starts): swd launches itself.
  if ((!torchrun && !slurm) || given.count("nproc") > 0) return;
  const std::string launcher = torchrun ? "torchrun's" : "Slurm's";
  if (value(rank_var).empty() || value(size_var).empty()) {
    const bool has_rank = !value(rank_var).empty();
    throw train::ConfigError(launcher + " environment is half set: " + (has_rank ? rank_var : size_var) +
                             "=" + value(has_rank ? rank_var : size_var) + " but no " +
                             (has_rank ? size_var : rank_var) + " (expected both, or the flags "
                             "--rank and --world-size)");
  }
  take("rank", rank_var);
  take("world-size", size_var);
  take("local-rank", torchrun ? "LOCAL_RANK" : "SLURM_LOCALID");
  take("master-addr", "MASTER_ADDR");
  take("master-port", "MASTER_PORT");
  if (config.world_size > 1) {  // a rendezvous needs the address and port, given once
    std::string missing;
    if (given.count("master-addr") == 0 && value("MASTER_ADDR").empty()) missing = "MASTER_ADDR";
    if (given.count("master-port") == 0 && value("MASTER_PORT").empty()) {
      missing += std::string(missing.empty() ? "" : " and ") + "MASTER_PORT";
    }
    if (!missing.empty()) {
      throw train::ConfigError(
          launcher + " environment gives rank " + std::to_string(config.rank) + " of " +
          std::to_string(config.world_size) + " (" + rank_var + ", " + size_var + ") but no " +
          missing + ": give the rendezvous once, the same for every rank (MASTER_ADDR=<rank 0's "
          "host> MASTER_PORT=<a free port>, or --master-addr and --master-port)");
    }
  }
  if (torchrun && value("TORCHELASTIC_USE_AGENT_STORE") == "True" && given.count("master-port") == 0) {
    // torchrun's agent serves the store at MASTER_ADDR:MASTER_PORT; the workers' keys go
    // under the restart's prefix, as PyTorch's own rendezvous does (torch.distributed).
    config.store_served_elsewhere = true;
    config.store_prefix = "/worker/attempt_" + (value("TORCHELASTIC_RESTART_COUNT").empty()
                                                    ? std::string("0")
                                                    : value("TORCHELASTIC_RESTART_COUNT"));
  }
}

}  // namespace cli
}  // namespace swd
