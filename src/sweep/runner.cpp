// The sweep scheduler (runner.h): a queue of runs, up to `jobs` child processes, reaping,
// one line per finished run with an ETA, runs.csv after each.
#include "swd/sweep/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "swd/sweep/runs.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"
#include "swd/util/process.h"
#include "swd/util/signals.h"

namespace swd {
namespace sweep {

namespace fs = std::filesystem;

namespace {

std::string duration(double seconds) {
  char text[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  }
  return text;
}

/// The grid values that tell this run from the others ("optimizer=adamw seed=1").
std::string describe(const RunPlan& run, const SweepSpec& spec) {
  std::string text;
  for (size_t a = 0; a < spec.grid.size(); ++a) {
    if (spec.grid[a].values.size() < 2) continue;
    text += (text.empty() ? "" : " ") + run.point[a].key + "=" + display_value(run.point[a].json);
  }
  return text.empty() ? run.folder : text;
}

std::string last_line_of(const std::string& path) {
  std::string text;
  try {
    text = util::read_file(path);
  } catch (const std::exception&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

const char* action_name(RunAction action) {
  switch (action) {
    case RunAction::Skip: return "done";
    case RunAction::Start: return "start";
    case RunAction::Resume: return "resume";
    case RunAction::Blocked: return "blocked";
  }
  return "";
}

/// The child `swd train` of one run: its arguments, and how spawn() starts it.
struct TrainCommand {
  std::vector<std::string> argv;
  util::SpawnOptions options;
};

TrainCommand train_command(const RunPlan& run, RunAction action, const std::string& dir,
                           int64_t threads, const std::string& program) {
  std::vector<std::string> argv = {"swd", "train"};
  if (action == RunAction::Resume) {
    // The saved config.json gives the settings; the epochs are the sweep's in any case.
    argv.insert(argv.end(), {"--resume", "--out", dir, "--epochs", std::to_string(run.epochs)});
  } else {
    argv.insert(argv.end(), {"--config", dir + "/run.json", "--out", dir});
  }
  util::SpawnOptions options;
  options.program = program;
  options.log_path = dir + "/train.log";
  // A terminal's Ctrl-C reaches the sweep alone, which forwards one stop request: a run that
  // got it twice (from the terminal and from the sweep) would stop without its checkpoint.
  options.own_process_group = true;
  if (!run.sets_threads) {
    argv.insert(argv.end(), {"--threads", std::to_string(threads)});
    for (const char* name : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
      options.extra_env.push_back(std::string(name) + "=" + std::to_string(threads));
    }
  }
  // glibc hands the large buffers of each step back to the kernel and faults them in again
  // on the next: keeping them makes a small CNN's CPU epoch about 3x faster, numbers alike.
  for (const char* tunable : {"MALLOC_MMAP_THRESHOLD_=33554432", "MALLOC_TRIM_THRESHOLD_=1073741824"}) {
    const std::string name(tunable, std::strchr(tunable, '=') - tunable);
    if (std::getenv(name.c_str()) == nullptr) options.extra_env.emplace_back(tunable);  // the user's wins
  }
  argv.insert(argv.end(), {"--progress", "line"});
  return {argv, options};
}

/// Runs `write` holding the sweep folder's files lock: shards (--shard) write sweep.json and
/// runs.csv in turn (an atomic write's temporary file is one per path).
template <typename F>
void under_files_lock(const std::string& out, F&& write) {
  const std::string path = out + "/.sweep-files.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  try {
    write();
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void write_shared_runs_csv(const std::string& out, const SweepSpec& spec, const std::vector<RunPlan>& runs) {
  under_files_lock(out, [&] { write_runs_csv(out, spec, runs); });
}

struct Active {
  size_t run;
  std::chrono::steady_clock::time_point start;
};

class Sweeper {
 public:
  Sweeper(const SweepSpec& spec, std::vector<RunPlan> runs, const RunnerOptions& options,
          int64_t threads, const std::vector<RunPlan>& all_runs)
      : spec_(spec), runs_(std::move(runs)), options_(options), out_(options_.out), threads_(threads),
        all_runs_(all_runs) {}

  int run(const std::vector<RunFolderState>& states) {
    std::vector<size_t> queue;
    for (size_t i = 0; i < runs_.size(); ++i) {
      if (states[i].action == RunAction::Skip) ++finished_;
      if (states[i].action == RunAction::Start || states[i].action == RunAction::Resume) {
        queue.push_back(i);
      }
    }
    std::map<pid_t, Active> active;
    size_t next = 0;
    while (true) {
      reap(active);
      if ((stop_signal_ = signals_.take()) != 0) break;
      while (static_cast<int64_t>(active.size()) < options_.jobs && next < queue.size()) {
        const size_t i = queue[next++];
        try {
          active[launch(runs_[i], states[i].action)] = {i, std::chrono::steady_clock::now()};
        } catch (const std::exception& e) {  // its folder cannot be prepared: the others go on
          report_line(runs_[i], inspect_run(out_, runs_[i]), 0, 0, e.what());
          write_runs_csv(out_, spec_, runs_);
        }
      }
      if (active.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stop_signal_ != 0) return stop(active);
    write_runs_csv(out_, spec_, runs_);
    return finish();
  }

 private:
  /// runs.csv lists every run of the sweep, also other shards' (--shard), written under the
  /// folder's files lock: this shadows sweep::write_runs_csv for the Sweeper's calls.
  void write_runs_csv(const std::string& out, const SweepSpec& spec, const std::vector<RunPlan>&) const {
    write_shared_runs_csv(out, spec, all_runs_);
  }

  pid_t launch(const RunPlan& run, RunAction action) {
    prepare_attempt(out_, run, action);
    const std::string dir = (fs::path(out_) / run.folder).string();
    const TrainCommand child = train_command(run, action, dir, threads_, options_.program);
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    const char* what = action == RunAction::Resume ? "resume" : "start";
    util::append_line_durably(child.options.log_path, std::string("== swd sweep: ") + what + " at " + stamp);
    if (options_.jobs == 1) shown_[run.folder] = fs::file_size(child.options.log_path);  // from here
    return util::spawn(child.argv, child.options).pid;
  }

  /// With one job, the running run's new lines (its opening line, epoch and --log-every
  /// lines, from its train.log) are shown as they come, indented under the sweep's lines.
  void show_progress(const std::map<pid_t, Active>& active) {
    if (options_.jobs != 1) return;
    for (const auto& [pid, a] : active) {
      const std::string log = (fs::path(out_) / runs_[a.run].folder / "train.log").string();
      auto& offset = shown_[runs_[a.run].folder];
      std::FILE* file = std::fopen(log.c_str(), "rb");
      if (file == nullptr) continue;
      std::string text;
      if (std::fseek(file, static_cast<long>(offset), SEEK_SET) == 0) {
        char buffer[4096];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
      }
      std::fclose(file);
      const size_t end = text.rfind('\n');
      if (end == std::string::npos) continue;  // no complete line yet
      offset += end + 1;
      size_t start = 0;
      for (size_t nl; (nl = text.find('\n', start)) <= end; start = nl + 1) {
        const std::string line = text.substr(start, nl - start);
        if (!line.empty() && line.rfind("== ", 0) != 0) std::printf("    %s\n", line.c_str());
      }
      std::fflush(stdout);
    }
  }

  void reap(std::map<pid_t, Active>& active) {
    show_progress(active);  // a run that just ended: its last lines before its result
    for (auto it = active.begin(); it != active.end();) {
      int status = 0;
      const pid_t pid = ::waitpid(it->first, &status, WNOHANG);  // only our own children
      if (pid == 0 || (pid < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      const Active a = it->second;
      it = active.erase(it);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - a.start).count();
      const int code = pid < 0 ? 255 : util::exit_status_of(status);
      const RunPlan& run = runs_[a.run];
      const std::string dir = (fs::path(out_) / run.folder).string();
      if (stop_signal_ != 0 && code != 0) continue;  // interrupted: not a failure of the run
      write_exit_record(dir, code, wall);
      report_line(run, inspect_run(out_, run), code, wall);
      write_runs_csv(out_, spec_, runs_);
    }
  }

  /// The line of a finished run; `not_started`: why it could not be started.
  void report_line(const RunPlan& run, const RunFolderState& state, int code, double wall,
                   const std::string& not_started = "") {
    const bool ok = not_started.empty() && state.action == RunAction::Skip;
    ++finished_;
    if (ok) {
      ++succeeded_;
      seconds_ += wall;
    } else {
      failed_.push_back(run.folder);
    }
    std::string result;
    if (ok) {
      const size_t best_index = run::best_epoch(state.epochs);  // on validation with --val-split
      const double best = state.epochs.at(best_index < state.epochs.size() ? best_index : 0).test_error;
      char text[96];
      std::snprintf(text, sizeof text, "final %.2f%%  best %.2f%%", 100 * state.epochs.back().test_error, 100 * best);
      result = text;
    } else if (!not_started.empty()) {
      result = "FAILED (not started): " + not_started;
    } else {
      result = "FAILED (exit " + std::to_string(code) + "): " +
               last_line_of((fs::path(out_) / run.folder / "train.log").string());
    }
    const size_t left = runs_.size() - finished_;
    std::string eta;
    if (succeeded_ > 0 && left > 0) {
      const size_t parallel = std::min<size_t>(left, static_cast<size_t>(options_.jobs));
      eta = "  ETA ~" + duration(seconds_ / succeeded_ * left / parallel);
    }
    std::printf("[%zu/%zu] %s  %s  %s%s\n", finished_, runs_.size(), describe(run, spec_).c_str(),
                result.c_str(), duration(wall).c_str(), eta.c_str());
    std::fflush(stdout);
  }

  /// One stop request to every running run: SIGTERM to its process group (then SIGCONT, so
  /// that a stopped one acts on it), once; it finishes its step and writes its checkpoint.
  static void forward_stop(const std::map<pid_t, Active>& active) {
    for (const auto& [pid, a] : active) {
      for (const int sig : {SIGTERM, SIGCONT}) {
        if (::kill(-pid, sig) != 0) ::kill(pid, sig);
      }
    }
  }

  int stop(std::map<pid_t, Active>& active) {
    forward_stop(active);
    while (!active.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      reap(active);
      // Another request, after the grace period of the first (signals.h): forwarded too (a
      // second request stops a run at once, as `swd train` documents).
      if (signals_.take() != 0) forward_stop(active);
    }
    write_runs_csv(out_, spec_, runs_);
    const int signal_number = stop_signal_;
    std::fprintf(stderr,
                 "swd: sweep stopped by signal %d; %zu of %zu runs done. Rerun the same command "
                 "to continue: finished runs are kept, unfinished ones resume from their last "
                 "epoch.\n",
                 signal_number, finished_, runs_.size());
    return 128 + signal_number;
  }

  int finish() {
    const size_t blocked = runs_.size() - finished_;
    std::printf("sweep: %zu of %zu runs done -> %s/runs.csv\n", finished_ - failed_.size(),
                runs_.size(), out_.c_str());
    if (failed_.empty() && blocked == 0) return 0;
    std::string message;
    if (!failed_.empty()) {
      std::string list;
      for (const auto& f : failed_) list += (list.empty() ? "" : ", ") + f;
      message = std::to_string(failed_.size()) + " of " + std::to_string(runs_.size()) +
                " runs failed (" + list + "; see train.log in their folders)";
    }
    if (blocked > 0) {
      message += (message.empty() ? "" : "; ") + std::to_string(blocked) + " of " +
                 std::to_string(runs_.size()) + " runs blocked (listed above)";
    }
    std::fprintf(stderr, "swd: error: %s\n", message.c_str());
    return 2;
  }

  const SweepSpec& spec_;
  std::vector<RunPlan> runs_;  ///< this shard's
  const RunnerOptions& options_;
  const std::string& out_;  ///< options_.out
  int64_t threads_;
  util::SignalCatcher signals_{SIGINT, SIGTERM, SIGHUP};
  int stop_signal_ = 0;  ///< the signal of the stop request, 0 while none came
  size_t finished_ = 0, succeeded_ = 0;
  double seconds_ = 0;
  std::vector<std::string> failed_;
  const std::vector<RunPlan>& all_runs_;  ///< every run of the sweep (runs.csv)
  std::map<std::string, std::uintmax_t> shown_;  ///< one job: bytes of train.log shown, per run
};

/// Holds the sweep folder's lock for as long as it lives: one sweep at a time in a folder.
class FolderLock {
 public:
  explicit FolderLock(const std::string& out) : path_(out + "/.sweep.lock") {
    fd_ = util::open_for_writing(path_, util::WriteMode::ReadWrite);  // never through a link
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw std::runtime_error("another swd sweep is running in " + out + " (it holds " + path_ + ")");
    }
  }
  ~FolderLock() { ::close(fd_); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

/// The lock of one shard (--shard K/N): .sweep.lock shared (an unsharded sweep, which holds it
/// exclusively, cannot run beside shards) and .sweep-shard-K-of-N.lock exclusive (one process
/// per shard); a shard of another N running in the folder (its runs would overlap) is refused.
class ShardLock {
 public:
  ShardLock(const std::string& out, int64_t shard, int64_t shards) {
    const std::string name = "another swd sweep is running in " + out;
    folder_ = lock_file(out + "/.sweep.lock", LOCK_SH, name + " (unsharded: it holds .sweep.lock)");
    const std::string mine = ".sweep-shard-" + std::to_string(shard) + "-of-" + std::to_string(shards) + ".lock";
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(out, error)) {
      const std::string file = entry.path().filename().string();
      if (file.rfind(".sweep-shard-", 0) != 0 || file == mine ||
          file.size() < 5 || file.substr(file.size() - 5) != ".lock") {
        continue;
      }
      const std::string of = "-of-" + std::to_string(shards) + ".lock";
      const bool same_split = file.size() > of.size() && file.substr(file.size() - of.size()) == of;
      if (!same_split) ::close(lock_file(entry.path().string(), LOCK_SH, name + " with another "
                                         "--shard split (" + file + "); use the same N"));
    }
    shard_ = lock_file(out + "/" + mine, LOCK_EX, name + " for shard " + std::to_string(shard) +
                                                      "/" + std::to_string(shards));
  }
  ~ShardLock() {
    ::close(shard_);
    ::close(folder_);
  }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;

  /// An open descriptor of `path` locked with `how` (without waiting; never through a link).
  static int lock_file(const std::string& path, int how, const std::string& busy) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, how | LOCK_NB) != 0) {
      ::close(fd);
      throw std::runtime_error(busy);
    }
    return fd;
  }

 private:
  int folder_ = -1, shard_ = -1;
};

}  // namespace

std::vector<RunPlan> shard_runs(const std::vector<RunPlan>& runs, int64_t shard, int64_t shards) {
  if (shards < 1 || shard < 1 || shard > shards) {
    throw std::invalid_argument("invalid shard " + std::to_string(shard) + "/" + std::to_string(shards) +
                                " (expected K/N with 1 <= K <= N)");
  }
  std::vector<RunPlan> mine;
  for (const auto& run : runs) {
    if (static_cast<int64_t>(run.index % static_cast<size_t>(shards)) == shard - 1) mine.push_back(run);
  }
  return mine;
}

int64_t threads_per_run(int64_t cores, int64_t jobs) {
  return std::max<int64_t>(1, cores / std::max<int64_t>(1, jobs));
}

int run_sweep(const SweepSpec& spec, const RunnerOptions& options) {
  if (options.out.empty()) throw std::invalid_argument("run_sweep: empty out (expected the sweep's folder)");
  if (options.jobs < 1) {
    throw std::invalid_argument("run_sweep: invalid jobs " + std::to_string(options.jobs) + " (expected >= 1)");
  }
  if (options.program.empty() || ::access(options.program.c_str(), X_OK) != 0) {
    throw std::invalid_argument("run_sweep: invalid program \"" + options.program +
                                "\" (expected the path of an executable swd)");
  }
  if (options.threads < 0) {
    throw std::invalid_argument("run_sweep: invalid threads " + std::to_string(options.threads) +
                                " (expected 0 for cores / jobs, or a count >= 1)");
  }
  const std::string& out = options.out;
  const auto all_runs = expand(spec);
  // --shard K/N: this process runs these, runs.csv lists all (shard_runs checks K and N).
  std::vector<RunPlan> runs = options.shards != 1 || options.shard != 1
                                  ? shard_runs(all_runs, options.shard, options.shards)
                                  : all_runs;
  if (options.primary_first) {  // the runs that decide the tests first, each part in grid order
    std::stable_partition(runs.begin(), runs.end(), [](const RunPlan& r) { return r.decides_primary; });
  }
  if (options.shards > 1) {
    std::printf("sweep: shard %lld/%lld: %zu of the grid's %zu runs (every %lld-th from the %lld-th)\n",
                static_cast<long long>(options.shard), static_cast<long long>(options.shards),
                runs.size(), all_runs.size(), static_cast<long long>(options.shards),
                static_cast<long long>(options.shard));
  }
  std::vector<RunFolderState> states;
  std::map<RunAction, size_t> count;
  for (const auto& run : runs) {
    states.push_back(inspect_run(out, run));
    ++count[states.back().action];
  }
  const int64_t threads = options.threads > 0 ? options.threads
                                              : threads_per_run(util::available_cores(), options.jobs);
  // A run that sets threads itself (the sweep file's threads = N) keeps them (train_command).
  const bool all_set_threads =
      std::all_of(runs.begin(), runs.end(), [](const RunPlan& r) { return r.sets_threads; });
  const std::string per_run = all_set_threads
                                  ? "the threads each run sets"
                                  : std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  std::printf("sweep: %zu runs: %zu done, %zu to resume, %zu to start, %zu blocked; %lld %s x %s -> %s\n",
              runs.size(), count[RunAction::Skip], count[RunAction::Resume], count[RunAction::Start],
              count[RunAction::Blocked], static_cast<long long>(options.jobs),
              options.jobs == 1 ? "job" : "jobs", per_run.c_str(), out.c_str());
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& s = states[i];
    if (options.dry_run || s.action == RunAction::Blocked) {
      // With the lr and weight decay swd train will resolve (expand: train::resolve_hyper).
      const std::string hyper = "  lr " + util::shortest_number(runs[i].lr) + ", weight decay " +
                                util::shortest_number(runs[i].weight_decay) + " (" +
                                runs[i].weight_decay_from + ")";
      std::printf("  %-7s %s%s%s\n", action_name(s.action), runs[i].folder.c_str(),
                  options.dry_run ? hyper.c_str() : "",
                  s.reason.empty() ? "" : ("  (" + s.reason + ")").c_str());
    }
  }
  for (const auto& folder : foreign_run_folders(out, all_runs)) {
    std::printf("  note: %s is not a run of this sweep (left alone, not in runs.csv)\n", folder.c_str());
  }
  std::fflush(stdout);
  if (options.dry_run) return 0;

  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw std::runtime_error("cannot create " + out + ": " + error.message());
  std::optional<FolderLock> lock;
  std::optional<ShardLock> shard_lock;
  if (options.shards > 1) {
    shard_lock.emplace(out, options.shard, options.shards);
  } else {
    lock.emplace(out);
  }
  under_files_lock(out, [&] {
    const std::string sweep_file = out + "/sweep.json";
    const std::string earlier = fs::exists(sweep_file) ? util::read_file(sweep_file) : "";
    util::write_file_atomically(sweep_file, sweep_json_with_provenance(spec, earlier));
  });
  write_shared_runs_csv(out, spec, all_runs);
  Sweeper sweeper(spec, runs, options, threads, all_runs);
  return sweeper.run(states);
}

}  // namespace sweep
}  // namespace swd
