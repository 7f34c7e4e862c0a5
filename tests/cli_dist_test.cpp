// `swd train` data parallel, run as a user would: --nproc N against one process with the same
// global batch, --accumulate, the uneven-split error, resuming, and ranks that die or hang.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli_support.h"
#include "swd/run/metrics.h"

namespace fs = std::filesystem;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;
using swd_test::wait_for_file;

namespace {

const std::string kSmall =
    " --dataset synthetic --synthetic-train 1000 --synthetic-test 250 --synthetic-size 8"
    " --model mlp --batch-size 64 --threads 1 --workers 1 --progress none";

std::vector<swd::run::EpochMetrics> metrics_of(const std::string& out) {
  return swd::run::parse_metrics_csv(slurp(out + "/metrics.csv"));
}

/// Every number of metrics.csv but the wall time, within a relative tolerance.
void expect_same_metrics(const std::string& a, const std::string& b, double tol) {
  const auto x = metrics_of(a), y = metrics_of(b);
  ASSERT_EQ(x.size(), y.size()) << a << " vs " << b;
  ASSERT_FALSE(x.empty());
  auto near = [tol](double u, double v) { return std::abs(u - v) <= tol * std::max(1.0, std::abs(v)); };
  for (size_t e = 0; e < x.size(); ++e) {
    const auto& m = x[e];
    const auto& n = y[e];
    const std::string at = " epoch " + std::to_string(e + 1);
    EXPECT_EQ(m.epoch, n.epoch);
    EXPECT_DOUBLE_EQ(m.lr, n.lr) << at;
    EXPECT_DOUBLE_EQ(m.weight_decay, n.weight_decay) << at;
    EXPECT_TRUE(near(m.train_loss, n.train_loss)) << at << ": " << m.train_loss << " vs " << n.train_loss;
    EXPECT_DOUBLE_EQ(m.train_error, n.train_error) << at;  // counts of misclassified samples
    EXPECT_TRUE(near(m.test_loss, n.test_loss)) << at << ": " << m.test_loss << " vs " << n.test_loss;
    EXPECT_DOUBLE_EQ(m.test_error, n.test_error) << at;
    EXPECT_TRUE(near(m.grad_norm, n.grad_norm)) << at << ": " << m.grad_norm << " vs " << n.grad_norm;
    EXPECT_TRUE(near(m.weight_norm, n.weight_norm)) << at << ": " << m.weight_norm << " vs " << n.weight_norm;
    ASSERT_EQ(m.sqrt_vbar.has_value(), n.sqrt_vbar.has_value()) << at;
    if (m.sqrt_vbar) EXPECT_TRUE(near(*m.sqrt_vbar, *n.sqrt_vbar)) << at;
  }
}

// float32 training: N ranks add their partial sums in another order than one process, and
// the difference grows a little with every step (measured: up to 5e-8 after 2 epochs here;
// max(1, |value|) as the scale, so relative for values above 1).
constexpr double kFloat32Tol = 1e-6;

/// 1 process vs 2 ranks x 1 or 2 micro-batches, the same global batch of 64 (the last batch of
/// each epoch has 40 samples: partial, split 20 / 20 or in micro-batches of 32 and 8).
void expect_data_parallel_matches(const std::string& optimizer, std::vector<int> accumulate) {
  const auto dir = fresh_dir("dp-" + optimizer);
  const std::string args = "train" + kSmall + " --epochs 2 --optimizer " + optimizer + " --out ";
  const auto one = run_swd(args + dir + "/one");
  ASSERT_EQ(one.status, 0) << one.output;
  for (int k : accumulate) {
    const std::string out = dir + "/two-" + std::to_string(k);
    const auto two = run_swd(args + out + " --nproc 2 --accumulate " + std::to_string(k));
    ASSERT_EQ(two.status, 0) << two.output;
    EXPECT_NE(two.output.find("best test error"), std::string::npos) << two.output;  // rank 0 prints
    EXPECT_EQ(two.output.find("[rank 1]"), std::string::npos) << two.output;         // rank 1 is quiet
    expect_same_metrics(out, dir + "/one", kFloat32Tol);
  }
}

TEST(CliDist, TwoRanksMatchOneProcessAdamS) { expect_data_parallel_matches("adams", {1, 2}); }
TEST(CliDist, TwoRanksMatchOneProcessSgdS) { expect_data_parallel_matches("sgds", {2}); }

TEST(CliDist, AccumulationStepsOnceWithDecayScheduleAndStepCount) {
  // SGDW with a large decay (theta *= 1 - 0.05 * 2 per step) and an lr drop after epoch 1: decay,
  // lr schedule or step count advanced per micro-batch would move the weight norm far off.
  const auto dir = fresh_dir("accumulate");
  const std::string args = "train" + kSmall + " --epochs 2 --optimizer sgdw --lr 0.05 "
                           "--weight-decay 2 --lr-schedule step --milestones 1 --out ";
  const auto one = run_swd(args + dir + "/one");
  ASSERT_EQ(one.status, 0) << one.output;
  const auto four = run_swd(args + dir + "/four --accumulate 4");
  ASSERT_EQ(four.status, 0) << four.output;
  expect_same_metrics(dir + "/four", dir + "/one", kFloat32Tol);
  const auto saved = nlohmann::json::parse(slurp(dir + "/four/config.json"));
  EXPECT_EQ(saved["accumulate"], 4);
  EXPECT_EQ(saved["derived"]["micro_batch"], 16);
  EXPECT_EQ(saved["batch-size"], 64);  // the global batch
}

TEST(CliDist, UnevenSplitIsAnError) {
  const auto dir = fresh_dir("uneven");
  const auto r = run_swd("train" + kSmall + " --nproc 3 --out " + dir + "/run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("swd: error: batch size 64 is not divisible by world size 3 x "
                          "accumulate 1 = 3"), std::string::npos) << r.output;
  const auto k = run_swd("train" + kSmall + " --accumulate 5 --out " + dir + "/run");
  EXPECT_EQ(k.status, 2) << k.output;
  EXPECT_NE(k.output.find("world size 1 x accumulate 5 = 5"), std::string::npos) << k.output;
  EXPECT_FALSE(fs::exists(dir + "/run"));  // refused before anything was written
  const auto both = run_swd("train" + kSmall + " --nproc 2 --world-size 2 --out " + dir + "/run");
  EXPECT_EQ(both.status, 2) << both.output;
  EXPECT_NE(both.output.find("--nproc 2 starts its own ranks"), std::string::npos) << both.output;
}

TEST(CliDist, OnlyRankZeroWritesAndResumeContinuesExactly) {
  const auto dir = fresh_dir("resume");
  const std::string args = "train" + kSmall + " --optimizer adams --nproc 2 --out ";
  ASSERT_EQ(run_swd(args + dir + "/whole --epochs 2").status, 0);
  ASSERT_EQ(run_swd(args + dir + "/split --epochs 1").status, 0);
  std::set<std::string> files;
  for (const auto& f : fs::directory_iterator(dir + "/split")) files.insert(f.path().filename());
  // (.swd-lock: rank 0's lock on the folder, docs/TRAINING.md; train.log: rank 0's console)
  EXPECT_EQ(files, (std::set<std::string>{".swd-lock", "best.pt", "checkpoint.pt", "config.json",
                                          "dynamics.csv", "metrics.csv", "model.pt", "train.log"}));
  EXPECT_EQ(slurp(dir + "/split/dynamics.csv").rfind("epoch,tensor,", 0), 0u);
  EXPECT_NE(slurp(dir + "/split/train.log").find("epoch 1/1"), std::string::npos);
  const auto saved = nlohmann::json::parse(slurp(dir + "/split/config.json"));
  EXPECT_FALSE(saved.contains("rank"));  // launch settings are not part of the run
  EXPECT_FALSE(saved.contains("master-port"));
  EXPECT_EQ(saved["derived"]["world_size"], 2);
  const auto resumed = run_swd("train --resume --epochs 2 --nproc 2 --out " + dir + "/split");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_same_metrics(dir + "/split", dir + "/whole", 0.0);  // same ranks, same bits
}

// ---- failures ----------------------------------------------------------------------------

constexpr double kTimeout = 5;  // --dist-timeout of the failure tests, seconds

std::string long_run(const std::string& out) {
  return "train" + kSmall + " --epochs 100000 --dist-timeout " + std::to_string(kTimeout) +
         " --out " + out;
}

/// Starts ranks 0 and 1 by hand, waits until they train, sends `sig` to rank 1 and returns
/// rank 0's (status, seconds until it exited, log).
std::tuple<int, double, std::string> survivor_after(int sig, const std::string& name) {
  const auto dir = fresh_dir(name);
  const std::string join = " --world-size 2 --master-port " + std::to_string(swd_test::free_port());
  auto r0 = swd_test::spawn_swd(long_run(dir + "/run") + join + " --rank 0", dir + "/rank0.log");
  auto r1 = swd_test::spawn_swd(long_run(dir + "/other") + join + " --rank 1", dir + "/rank1.log");
  EXPECT_TRUE(wait_for_file(dir + "/run/config.json", 60)) << slurp(r0.log_path) << slurp(r1.log_path);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the training steps
  ::kill(r1.pid, sig);
  const auto start = std::chrono::steady_clock::now();
  int status = swd_test::wait_for_exit(r0.pid, 3 * kTimeout);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status < 0) ::kill(r0.pid, SIGKILL), swd_test::wait_for_exit(r0.pid, 10);
  ::kill(r1.pid, SIGKILL);
  ::kill(r1.pid, SIGCONT);
  swd_test::wait_for_exit(r1.pid, 10);
  EXPECT_FALSE(fs::exists(dir + "/other"));  // rank 1 never writes into its --out
  return {status, waited, slurp(r0.log_path)};
}

TEST(CliDist, AKilledRankMakesTheSurvivorFail) {
  const auto [status, waited, log] = survivor_after(SIGKILL, "killed");
  EXPECT_EQ(status, 2) << log;
  EXPECT_LT(waited, kTimeout + 2) << log;
  EXPECT_NE(log.find("swd: error: rank 0 of 2: "), std::string::npos) << log;
  EXPECT_NE(log.find("failed"), std::string::npos) << log;
}

TEST(CliDist, AHungRankMakesTheSurvivorFailWithinTheTimeout) {
  const auto [status, waited, log] = survivor_after(SIGSTOP, "hung");
  EXPECT_EQ(status, 2) << log;
  EXPECT_GT(waited, kTimeout - 1) << log;  // it waited for the timeout...
  EXPECT_LT(waited, kTimeout + 5) << log;  // ...and not much longer (exit included)
  EXPECT_NE(log.find("swd: error: rank 0 of 2: "), std::string::npos) << log;
  EXPECT_NE(log.find("timeout of 5 s"), std::string::npos) << log;
}

/// The pid of the child of `launcher` started with --rank `rank`, or -1.
int worker_pid(int launcher, int rank) {
  std::ifstream children("/proc/" + std::to_string(launcher) + "/task/" + std::to_string(launcher) + "/children");
  int pid;
  while (children >> pid) {
    std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    for (auto& ch : cmdline) ch = ch == '\0' ? ' ' : ch;
    if (cmdline.find(" --rank " + std::to_string(rank) + " ") != std::string::npos) return pid;
  }
  return -1;
}

TEST(CliDist, TheLauncherStopsEveryRankWhenOneDies) {
  const auto dir = fresh_dir("launcher");
  auto launcher = swd_test::spawn_swd(long_run(dir + "/run") + " --nproc 2", dir + "/launcher.log");
  ASSERT_TRUE(wait_for_file(dir + "/run/config.json", 60)) << slurp(launcher.log_path);
  const int rank0 = worker_pid(launcher.pid, 0), rank1 = worker_pid(launcher.pid, 1);
  ASSERT_GT(rank1, 0);
  ASSERT_GT(rank0, 0);
  ::kill(rank1, SIGKILL);
  const int status = swd_test::wait_for_exit(launcher.pid, 3 * kTimeout);
  if (status < 0) ::kill(launcher.pid, SIGKILL);
  const auto log = slurp(launcher.log_path);
  EXPECT_EQ(status, 2) << log;
  EXPECT_NE(log.find("swd: error: rank 1 (pid " + std::to_string(rank1) + ") was killed by signal 9"),
            std::string::npos) << log;
  EXPECT_NE(::kill(rank0, 0), 0);  // rank 0 is gone too
}

}  // namespace

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

/// `fn` run with `env` added to this process's environment (a child started in it inherits
/// them), removed again afterwards.
template <typename F>
auto with_env(const Env& env, F&& fn) {
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  auto result = fn();
  for (const auto& [name, value] : env) ::unsetenv(name.c_str());
  return result;
}

/// Two ranks started by hand with a launcher's environment (no rank flags), into one --out.
void expect_two_ranks_from(const std::function<Env(int rank, int port)>& env_of, const std::string& name) {
  const auto dir = fresh_dir(name);
  const std::string args = "train" + kSmall + " --epochs 1 --optimizer adams --out ";
  ASSERT_EQ(run_swd(args + dir + "/nproc --nproc 2").status, 0);
  const int port = swd_test::free_port();
  std::vector<swd_test::Spawned> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(with_env(env_of(r, port), [&] {
      return swd_test::spawn_swd(args + dir + "/env", dir + "/rank" + std::to_string(r) + ".log");
    }));
  }
  for (const auto& r : ranks) {
    EXPECT_EQ(swd_test::wait_for_exit(r.pid, 120), 0) << slurp(r.log_path);
  }
  expect_same_metrics(dir + "/env", dir + "/nproc", 0.0);  // the same ranks, the same numbers
  EXPECT_NE(slurp(dir + "/rank0.log").find("best test error"), std::string::npos);
}

TEST(CliDist, RanksComeFromTorchrunsEnvironment) {
  expect_two_ranks_from([](int rank, int port) {
    return Env{{"RANK", std::to_string(rank)}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", std::to_string(rank)},
               {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}};
  }, "env-torchrun");
}

TEST(CliDist, RanksComeFromSlurmsEnvironmentWithTheAddressGivenOnce) {
  expect_two_ranks_from([](int rank, int port) {
    return Env{{"SLURM_PROCID", std::to_string(rank)}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"},
               {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}};
  }, "env-slurm");
}

TEST(CliDist, FlagsWinOverTheEnvironmentAndAHalfSetOneIsOneLine) {
  const auto dir = fresh_dir("env-errors");
  const std::string args = "train" + kSmall + " --epochs 1 --limit-batches 2 --out ";
  // Flags win: one process although the environment says rank 1 of 4.
  const auto flags = with_env({{"RANK", "1"}, {"WORLD_SIZE", "4"}}, [&] {
    return run_swd(args + dir + "/flags --rank 0 --world-size 1");
  });
  EXPECT_EQ(flags.status, 0) << flags.output;
  struct Case {
    Env env;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"RANK", "1"}}, "torchrun's environment is half set: RANK=1 but no WORLD_SIZE"},
      {{{"SLURM_NTASKS", "2"}}, "Slurm's environment is half set: SLURM_NTASKS=2 but no SLURM_PROCID"},
      {{{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"MASTER_PORT", "29500"}},
       "rank 1 of 2 (SLURM_PROCID, SLURM_NTASKS) but no MASTER_ADDR"},
      {{{"RANK", "x"}, {"WORLD_SIZE", "2"}}, "RANK=x from the environment"},
  };
  for (const auto& c : cases) {
    const auto r = with_env(c.env, [&] { return run_swd(args + dir + "/bad"); });
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.says << "\n" << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir + "/bad"));
  }
}

TEST(CliDist, TorchrunLaunchesSwdAsItLaunchesPyTorch) {
  const char* torchrun = "/usr/bin/torchrun";
  if (!fs::exists(torchrun)) GTEST_SKIP() << "no " << torchrun << " (Debian's python3-torch)";
  const auto dir = fresh_dir("torchrun");
  const std::string args = " train" + kSmall + " --epochs 1 --optimizer sgds --out ";
  ASSERT_EQ(run_swd(args + dir + "/nproc --nproc 2").status, 0);
  // The static rendezvous (its agent serves the store at MASTER_PORT) and the c10d one
  // (--standalone: rank 0 serves it).
  for (const std::string mode : {"--master_port " + std::to_string(swd_test::free_port()), std::string("--standalone")}) {
    const std::string out = dir + (mode == "--standalone" ? "/standalone" : "/static");
    // --redirects 2 --tee 2: Debian's torchrun (PyTorch 1.13 on Python 3.11) cannot read its own
    // default "0" (Python 3.11 no longer lists a Flag's zero member); 2 sends the workers'
    // standard error to a log and to the console, as without the flags.
    const std::string command = std::string(torchrun) + " --nproc_per_node 2 " + mode +
                                " --redirects 2 --tee 2 --no_python " + SWD_BINARY + args + out + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << mode << "\n" << output;
    expect_same_metrics(out, dir + "/nproc", 0.0);
  }
}

}  // namespace
