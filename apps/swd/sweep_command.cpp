// swd sweep CONFIG: runs the grid of a sweep file, each run a child `swd train` process, up to
// --jobs at a time; skips finished runs, resumes broken ones, keeps runs.csv current.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "swd/sweep/plan.h"
#include "swd/sweep/process.h"
#include "swd/sweep/runs.h"
#include "swd/train/config.h"
#include "swd/train/files.h"

namespace swd {
namespace cli {

namespace fs = std::filesystem;
using sweep::RunAction;
using sweep::RunPlan;

namespace {

struct SweepFlags {
  std::string config_file;
  std::string out;
  int64_t jobs = 1;
  std::vector<std::string> set;
  bool dry_run = false;
};
SweepFlags& sweep_flags() {
  static SweepFlags flags;
  return flags;
}

volatile sig_atomic_t stop_signal = 0;
void on_stop_signal(int signal) { stop_signal = signal; }

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
std::string describe(const RunPlan& run, const sweep::SweepSpec& spec) {
  std::string text;
  for (size_t a = 0; a < spec.grid.size(); ++a) {
    if (spec.grid[a].values.size() < 2) continue;
    text += (text.empty() ? "" : " ") + run.point[a].key + "=" + sweep::display_value(run.point[a].json);
  }
  return text.empty() ? run.folder : text;
}

std::string last_line_of(const std::string& path) {
  std::string text;
  try {
    text = train::read_file(path);
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

struct Active {
  size_t run;
  std::chrono::steady_clock::time_point start;
};

class Sweeper {
 public:
  Sweeper(const sweep::SweepSpec& spec, std::vector<RunPlan> runs, std::string out, int64_t jobs,
          int64_t threads)
      : spec_(spec), runs_(std::move(runs)), out_(std::move(out)), jobs_(jobs), threads_(threads) {}

  int run(const std::vector<sweep::RunFolderState>& states) {
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
      if (stop_signal) break;
      while (static_cast<int64_t>(active.size()) < jobs_ && next < queue.size()) {
        const size_t i = queue[next++];
        active[launch(runs_[i], states[i].action)] = {i, std::chrono::steady_clock::now()};
      }
      if (active.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stop_signal) return stop(active);
    sweep::write_runs_csv(out_, spec_, runs_);
    return finish();
  }

 private:
  pid_t launch(const RunPlan& run, RunAction action) {
    sweep::prepare_attempt(out_, run, action);
    const std::string dir = (fs::path(out_) / run.folder).string();
    std::vector<std::string> argv = {"/proc/self/exe", "train"};
    if (action == RunAction::Resume) {
      // The saved config.json gives the settings; the epochs are the sweep's in any case.
      argv.insert(argv.end(), {"--resume", "--out", dir, "--epochs", std::to_string(run.epochs)});
    } else {
      argv.insert(argv.end(), {"--config", dir + "/run.json", "--out", dir});
    }
    std::vector<std::string> env;
    if (!run.sets_threads) {
      argv.insert(argv.end(), {"--threads", std::to_string(threads_)});
      for (const char* name : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
        env.push_back(std::string(name) + "=" + std::to_string(threads_));
      }
    }
    // glibc hands the large buffers of each step back to the kernel and faults them in again
    // on the next: keeping them makes a small CNN's CPU epoch about 3x faster, numbers alike.
    for (const char* tunable : {"MALLOC_MMAP_THRESHOLD_=33554432", "MALLOC_TRIM_THRESHOLD_=1073741824"}) {
      const std::string name(tunable, std::strchr(tunable, '=') - tunable);
      if (std::getenv(name.c_str()) == nullptr) env.emplace_back(tunable);  // the user's wins
    }
    argv.insert(argv.end(), {"--progress", "line"});
    const std::string log = dir + "/train.log";
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    train::append_line_durably(log, std::string("== swd sweep: ") +
                                        (action == RunAction::Resume ? "resume" : "start") +
                                        " at " + stamp);
    return sweep::start_process(argv, env, log);
  }

  void reap(std::map<pid_t, Active>& active) {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      const auto it = active.find(pid);
      if (it == active.end()) continue;
      const Active a = it->second;
      active.erase(it);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - a.start).count();
      const int code = sweep::exit_status_of(status);
      const RunPlan& run = runs_[a.run];
      const std::string dir = (fs::path(out_) / run.folder).string();
      if (stop_signal && code != 0) continue;  // interrupted: not a failure of the run
      sweep::write_exit_record(dir, code, wall);
      report_line(run, sweep::inspect_run(out_, run), code, wall);
      sweep::write_runs_csv(out_, spec_, runs_);
    }
  }

  void report_line(const RunPlan& run, const sweep::RunFolderState& state, int code, double wall) {
    const bool ok = state.action == RunAction::Skip;
    ++finished_;
    if (ok) {
      ++succeeded_;
      seconds_ += wall;
    } else {
      failed_.push_back(run.folder);
    }
    std::string result;
    if (ok) {
      double best = state.epochs.back().test_error;
      for (const auto& m : state.epochs) best = std::min(best, m.test_error);
      char text[96];
      std::snprintf(text, sizeof text, "final %.2f%%  best %.2f%%", 100 * state.epochs.back().test_error, 100 * best);
      result = text;
    } else {
      result = "FAILED (exit " + std::to_string(code) + "): " +
               last_line_of((fs::path(out_) / run.folder / "train.log").string());
    }
    const size_t left = runs_.size() - finished_;
    std::string eta;
    if (succeeded_ > 0 && left > 0) {
      eta = "  ETA ~" + duration(seconds_ / succeeded_ * left / std::min<size_t>(left, jobs_));
    }
    std::printf("[%zu/%zu] %s  %s  %s%s\n", finished_, runs_.size(), describe(run, spec_).c_str(),
                result.c_str(), duration(wall).c_str(), eta.c_str());
    std::fflush(stdout);
  }

  int stop(std::map<pid_t, Active>& active) {
    for (const auto& [pid, a] : active) ::kill(pid, SIGTERM);
    for (const auto& [pid, a] : active) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    sweep::write_runs_csv(out_, spec_, runs_);
    std::fprintf(stderr,
                 "swd: sweep stopped by signal %d; %zu of %zu runs done. Rerun the same command "
                 "to continue: finished runs are kept, unfinished ones resume from their last "
                 "epoch.\n",
                 static_cast<int>(stop_signal), finished_, runs_.size());
    return 128 + stop_signal;
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

  const sweep::SweepSpec& spec_;
  std::vector<RunPlan> runs_;
  std::string out_;
  int64_t jobs_;
  int64_t threads_;
  size_t finished_ = 0, succeeded_ = 0;
  double seconds_ = 0;
  std::vector<std::string> failed_;
};

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sweep_app = app.add_subcommand("sweep", "run a grid of swd train runs described in a TOML or JSON file");
  auto& f = sweep_flags();
  sweep_app->add_option("config", f.config_file, "the sweep file (.toml or .json)")
      ->required()
      ->check(CLI::ExistingFile);
  sweep_app->add_option("--jobs", f.jobs, "runs at a time; each gets max(1, cores / jobs) threads")
      ->check(CLI::PositiveNumber);
  sweep_app->add_option("--out", f.out, "the sweep's folder (default runs/<config file name>)");
  sweep_app->add_option("--set", f.set, "KEY=VALUE: this value in every run (repeatable)")
      ->allow_extra_args(false)  // one KEY=VALUE per --set: a later argument stays positional
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sweep_app->add_flag("--dry-run", f.dry_run, "list the runs and what a sweep would do; start nothing");
}

int run_sweep() {
  auto& f = sweep_flags();
  auto spec = sweep::read_sweep_file(f.config_file);
  for (const auto& assignment : f.set) sweep::force_setting(spec, assignment);
  const auto runs = sweep::expand(spec);
  const std::string out = f.out.empty() ? "runs/" + fs::path(f.config_file).stem().string() : f.out;
  std::vector<sweep::RunFolderState> states;
  std::map<RunAction, size_t> count;
  for (const auto& run : runs) {
    states.push_back(sweep::inspect_run(out, run));
    ++count[states.back().action];
  }
  const int64_t threads = std::max<int64_t>(1, sweep::available_cores() / f.jobs);
  std::printf("sweep: %zu runs: %zu done, %zu to resume, %zu to start, %zu blocked; %lld jobs x "
              "%lld threads -> %s\n",
              runs.size(), count[RunAction::Skip], count[RunAction::Resume],
              count[RunAction::Start], count[RunAction::Blocked], static_cast<long long>(f.jobs),
              static_cast<long long>(threads), out.c_str());
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& s = states[i];
    if (f.dry_run || s.action == RunAction::Blocked) {
      std::printf("  %-7s %s%s\n", action_name(s.action), runs[i].folder.c_str(),
                  s.reason.empty() ? "" : ("  (" + s.reason + ")").c_str());
    }
  }
  for (const auto& folder : sweep::foreign_run_folders(out, runs)) {
    std::printf("  note: %s is not a run of this sweep (left alone, not in runs.csv)\n", folder.c_str());
  }
  std::fflush(stdout);
  if (f.dry_run) return 0;

  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw std::runtime_error("cannot create " + out + ": " + error.message());
  // One sweep at a time in a folder; the lock goes with this process.
  const std::string lock_path = out + "/.sweep.lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("another swd sweep is running in " + out + " (it holds " +
                             lock_path + ")");
  }
  const std::string sweep_file = out + "/sweep.json";
  const std::string earlier = fs::exists(sweep_file) ? train::read_file(sweep_file) : "";
  train::write_file_atomically(sweep_file, sweep::sweep_json_with_provenance(spec, earlier));
  sweep::write_runs_csv(out, spec, runs);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
  Sweeper sweeper(spec, runs, out, f.jobs, threads);
  return sweeper.run(states);
}

}  // namespace cli
}  // namespace swd
