// A run that dies loses nothing and continues exactly: kills at random moments, signals,
// non-finite losses, atomic checkpoint files, corrupted checkpoints, unwritable folders.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "../src/run/tensor_file.h"
#include "cli_support.h"
#include "test_util.h"
#include "swd/models/models.h"
#include "swd/run/checkpoint.h"
#include "swd/train/optimizer_factory.h"
#include "swd/util/io.h"

namespace fs = std::filesystem;
namespace st = swd::train;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

// 4 epochs x 64 steps (2 micro-batches each) of a small MLP: about a second of work.
const std::string kRun =
    "train --dataset synthetic --synthetic-train 2048 --synthetic-test 128 --synthetic-size 10"
    " --model mlp --batch-size 32 --epochs 4 --optimizer adams --lr-schedule step --threads 1"
    " --workers 1 --progress none --seed 11 --accumulate 2";

/// The parameters and buffers of the model saved in a checkpoint, by name.
std::map<std::string, torch::Tensor> saved_model(const std::string& checkpoint) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, tensor] : swd::run::decode_tensor_file(slurp(checkpoint)).tensors) {
    if (name.rfind("model/", 0) == 0) out[name] = tensor;
  }
  return out;
}

void expect_bitwise_equal_runs(const std::string& a, const std::string& b) {
  const auto ma = saved_model(a + "/checkpoint.pt");
  const auto mb = saved_model(b + "/checkpoint.pt");
  ASSERT_EQ(ma.size(), mb.size());
  ASSERT_FALSE(ma.empty());
  for (const auto& [name, t] : ma) {
    EXPECT_TRUE(torch::equal(t, mb.at(name))) << "parameter " << name << " differs";
  }
  EXPECT_EQ(swd_test::rows_without_seconds(a), swd_test::rows_without_seconds(b));
}

TEST(Reliability, KilledAtRandomMomentsAndResumedEqualsUninterrupted) {
  const auto dir = fresh_dir("kill");
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run_swd(kRun + " --out " + dir + "/straight").status, 0);
  const auto whole = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start).count();
  std::mt19937 rng(std::random_device{}());
  const std::string fresh = kRun + " --checkpoint-every 5 --out " + dir + "/killed";
  const std::string resume = "train --resume --progress none --out " + dir + "/killed";
  auto next_command = [&] {  // killed before it wrote its configuration: start again
    return fs::exists(dir + "/killed/config.json") ? resume : fresh;
  };
  // Training time of the straight run (metrics.csv's seconds): kills that must land while
  // training wait for this attempt's first checkpoint and then at most a quarter of it.
  double train_seconds = 0;
  for (const auto& m : swd::run::parse_metrics_csv(slurp(dir + "/straight/metrics.csv"))) {
    train_seconds += m.seconds;
  }
  const long train_ms = std::max<long>(static_cast<long>(train_seconds * 1000), 4);
  const std::string checkpoint = dir + "/killed/checkpoint.pt";
  auto checkpoint_stamp = [&] {
    std::error_code ec;
    const auto t = fs::last_write_time(checkpoint, ec);
    return ec ? fs::file_time_type::min() : t;
  };
  int kills = 0, kills_while_training = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const auto stamp_before = checkpoint_stamp();
    const int pid = swd_test::spawn_swd(next_command(), dir + "/log.txt").pid;
    if (attempt % 2 == 0) {  // even attempts: anywhere in the run, start-up included
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % std::max<long>(whole / 2, 1)));
    } else {  // odd ones: once this process has written a checkpoint, i.e. while it trains
      swd_test::wait_until([&] { return checkpoint_stamp() != stamp_before; }, 30, pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (train_ms / 4)));
    }
    const bool training = checkpoint_stamp() != stamp_before;
    ::kill(pid, SIGKILL);
    const int status = swd_test::wait_for_exit(pid, 600);
    if (status == 0) break;  // it finished before the kill
    ASSERT_EQ(status, 128 + SIGKILL) << slurp(dir + "/log.txt");
    ++kills;
    kills_while_training += training ? 1 : 0;
  }
  const auto last = run_swd(next_command());  // finish what is left (a no-op if done)
  ASSERT_EQ(last.status, 0) << last.output;
  EXPECT_GE(kills_while_training, 1) << kills << " kills, none while training: proved nothing";
  expect_bitwise_equal_runs(dir + "/straight", dir + "/killed");
}

TEST(Reliability, SigtermCheckpointsAndExits143) {
  const auto dir = fresh_dir("sigterm");
  ASSERT_EQ(run_swd(kRun + " --out " + dir + "/straight").status, 0);
  const int pid = swd_test::spawn_swd(kRun + " --checkpoint-every 5 --out " + dir + "/stopped",
                                      dir + "/log.txt").pid;
  // Wait until training is under way (its first checkpoint, after 5 of 256 steps: the signal
  // handlers are in place by then), however slow the machine (a sanitizer build), then stop it.
  swd_test::wait_for_file(dir + "/stopped/checkpoint.pt", 60, pid);
  ::kill(pid, SIGTERM);
  const int status = swd_test::wait_for_exit(pid, 600);
  const auto log = slurp(dir + "/log.txt");
  if (status == 0) GTEST_SKIP() << "the run finished before SIGTERM arrived";
  EXPECT_EQ(status, 143) << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(dir + "/stopped/checkpoint.pt"));
  const auto resumed = run_swd("train --resume --progress none --out " + dir + "/stopped");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_bitwise_equal_runs(dir + "/straight", dir + "/stopped");
}

// Epoch 1 trains at lr 0.1; from epoch 2 the lr is multiplied by 1e30 and the loss blows up.
const std::string kBlowUp =
    "train --dataset synthetic --synthetic-train 256 --synthetic-test 64 --synthetic-size 8"
    " --model mlp --batch-size 32 --epochs 2 --optimizer sgd --lr 0.1 --lr-schedule step"
    " --milestones 1 --gamma 1e30 --threads 1 --progress none";

TEST(Reliability, NonFiniteStopsAndKeepsTheLastGoodCheckpoint) {
  const auto dir = fresh_dir("nonfinite-stop");
  const auto r = run_swd(kBlowUp + " --out " + dir + "/run");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("non-finite"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("of epoch 2"), std::string::npos) << r.output;
  // The checkpoint is the one written at the end of epoch 1, and metrics.csv has its row.
  auto model = swd::models::make_model("mlp", {1, 8, 8, 10});
  auto opt = st::make_optimizer_for("sgd", st::default_hyper("sgd"),
                                    *model, false);
  const auto info = swd::run::load_checkpoint(dir + "/run/checkpoint.pt", *model, *opt);
  EXPECT_EQ(info.position.epoch, 1);
  EXPECT_EQ(info.position.batches_done, 0);
  for (const auto& p : model->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(dir + "/run/metrics.csv")).size(), 1u);
}

TEST(Reliability, NonFiniteSkipCarriesOn) {
  const auto dir = fresh_dir("nonfinite-skip");
  const auto r = run_swd(kBlowUp + " --on-nonfinite skip --progress line --out " + dir + "/run");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("skipped"), std::string::npos) << r.output;
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(dir + "/run/metrics.csv")).size(), 2u);
}

TEST(Reliability, CrashBetweenWriteAndRenameLeavesTheOldCheckpointValid) {
  const auto dir = fresh_dir("atomic");
  auto model = swd::models::make_model("mlp", {1, 8, 8, 10});
  auto opt = st::make_optimizer_for("adams", st::default_hyper("adams"),
                                    *model, false);
  swd::run::CheckpointInfo info;
  info.position = {0, 3, 3};
  info.partial.steps = 3;
  info.partial.seen = 96;
  info.config_json = "{}";
  const auto path = dir + "/checkpoint.pt";
  swd::run::save_checkpoint(path, *model, *opt, info);
  // A crash after writing half of the next checkpoint, before the rename:
  const auto good = slurp(path);
  std::ofstream(path + ".tmp", std::ios::binary) << good.substr(0, good.size() / 2);
  EXPECT_EQ(swd::run::load_checkpoint(path, *model, *opt).position.batches_done, 3);
  info.position = {0, 4, 4};
  info.partial.steps = 4;
  info.partial.seen = 128;
  swd::run::save_checkpoint(path, *model, *opt, info);  // the leftover is simply replaced
  EXPECT_EQ(swd::run::load_checkpoint(path, *model, *opt).position.batches_done, 4);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  // The same protocol for plain files.
  swd::util::write_file_atomically(dir + "/a.txt", "one");
  std::ofstream(dir + "/a.txt.tmp") << "half";
  swd::util::write_file_atomically(dir + "/a.txt", "two");
  EXPECT_EQ(slurp(dir + "/a.txt"), "two");
}

TEST(Reliability, TruncatedOrCorruptedCheckpointsAreRejectedByName) {
  const auto dir = fresh_dir("corrupt");
  const std::string small =
      "train --dataset synthetic --synthetic-train 128 --synthetic-test 32 --synthetic-size 8"
      " --model mlp --epochs 1 --threads 1 --progress none --out " + dir + "/run";
  ASSERT_EQ(run_swd(small).status, 0);
  const auto path = dir + "/run/checkpoint.pt";
  const auto good = slurp(path);
  for (const std::string& bad : {good.substr(0, good.size() / 2), std::string(4096, '\x5a')}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
    const auto r = run_swd("train --resume --epochs 2 --out " + dir + "/run");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("checkpoint.pt"), std::string::npos) << r.output;
    EXPECT_EQ(slurp(path), bad) << "a rejected checkpoint must not be touched";
  }
}

TEST(Reliability, UnwritableOutputFolderIsAClearError) {
  const auto r = run_swd("train --dataset synthetic --epochs 1 --out /dev/null/run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("/dev/null/run"), std::string::npos) << r.output;
}

}  // namespace

namespace {

TEST(Reliability, ACheckpointOfAnotherModelOrOptimizerIsRejectedAndChangesNothing) {
  const auto dir = fresh_dir("mismatch");
  const auto hyper = st::default_hyper("adams");
  auto model = swd::models::make_model("mlp", {1, 8, 8, 10});
  auto opt = st::make_optimizer_for("adams", hyper, *model, false);
  for (auto& p : model->parameters()) p.mutable_grad() = torch::ones_like(p);
  opt->step();  // some optimizer state to save
  swd::run::CheckpointInfo info;
  info.config_json = "{}";
  swd::run::save_checkpoint(dir + "/c.pt", *model, *opt, info);

  auto other_model = swd::models::make_model("mlp", {1, 10, 10, 10});  // other input size
  auto other_opt = st::make_optimizer_for("adams", hyper, *other_model, false);
  const auto before = other_model->parameters()[0].clone();
  EXPECT_CONTAINS(swd_test::error_of([&] { swd::run::load_checkpoint(dir + "/c.pt", *other_model, *other_opt); }),
                  "does not fit this model");
  EXPECT_TRUE(torch::equal(before, other_model->parameters()[0]));

  auto same_model = swd::models::make_model("mlp", {1, 8, 8, 10});
  auto sgd = st::make_optimizer_for("sgds", st::default_hyper("sgds"),
                                    *same_model, false);
  const auto same_before = same_model->parameters()[0].clone();
  EXPECT_CONTAINS(swd_test::error_of([&] { swd::run::load_checkpoint(dir + "/c.pt", *same_model, *sgd); }),
                  "c.pt");
  EXPECT_TRUE(torch::equal(same_before, same_model->parameters()[0])) << "nothing may change";

  auto again_model = swd::models::make_model("mlp", {1, 8, 8, 10});
  auto again_opt = st::make_optimizer_for("adams", hyper, *again_model, false);
  swd::run::load_checkpoint(dir + "/c.pt", *again_model, *again_opt);
  for (size_t i = 0; i < model->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(model->parameters()[i], again_model->parameters()[i]));
  }
  EXPECT_EQ(opt->export_state().params.size(), again_opt->export_state().params.size());
}

}  // namespace

TEST(Reliability, ATensorTheCheckpointCannotHoldIsNamedWhenWriting) {
  swd::run::TensorFile file;
  file.json = "{}";
  file.tensors["half_weight"] = at::zeros({2}, at::kHalf);
  try {
    swd::run::encode_tensor_file(file);
    ADD_FAILURE() << "a float16 tensor was written";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("half_weight"), std::string::npos) << what;
    EXPECT_NE(what.find("Half"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;  // one line, no backtrace
  }
  file.tensors.clear();
  file.tensors["deep"] = at::zeros(std::vector<int64_t>(12, 1));
  try {
    swd::run::encode_tensor_file(file);
    ADD_FAILURE() << "a 12-dimensional tensor was written";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("deep has 12 dimensions"), std::string::npos) << e.what();
  }
}

namespace {

/// `swd <arguments>` given `seconds` to end; its exit status, or -1 when it had to be killed.
swd_test::CommandResult run_swd_within(const std::string& arguments, double seconds,
                                       const std::string& log) {
  const int pid = swd_test::spawn_swd(arguments, log).pid;
  int status = swd_test::wait_for_exit(pid, seconds);
  if (status == -1) {
    ::kill(pid, SIGKILL);
    swd_test::wait_for_exit(pid, 10);
  }
  return {status, slurp(log)};
}

// 1 epoch of 2 steps of a small MLP.
const std::string kSmall =
    "train --dataset synthetic --synthetic-train 128 --synthetic-test 32 --synthetic-size 8"
    " --model mlp --batch-size 32 --epochs 1 --limit-batches 2 --threads 1 --progress none";

}  // namespace

// Issue "Reliability, round three", 3-4: a FIFO blocks a reader forever, /dev/zero never ends.
TEST(Reliability, AFifoOrDeviceAsCheckpointOrMetricsIsRefusedAtOnce) {
  const auto dir = fresh_dir("special-files");
  const auto run = dir + "/run";
  ASSERT_EQ(run_swd(kSmall + " --out " + run).status, 0);
  const auto checkpoint = slurp(run + "/checkpoint.pt");
  const auto metrics = slurp(run + "/metrics.csv");
  auto make_special = [](const std::string& path, bool fifo) {
    fs::remove(path);
    if (fifo) {
      ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    } else {
      fs::create_symlink("/dev/zero", path);
    }
  };
  for (const bool fifo : {true, false}) {
    const std::string kind = fifo ? "a FIFO" : "a device";
    make_special(run + "/checkpoint.pt", fifo);
    for (const std::string& command :
         {std::string("train --resume --epochs 2 --progress none --out " + run),
          "export " + run + " --out " + dir + "/model.pt"}) {
      const auto r = run_swd_within(command, 20, dir + "/log.txt");
      EXPECT_EQ(r.status, 2) << command << "\n" << r.output;
      EXPECT_NE(r.output.find(run + "/checkpoint.pt: it is " + kind + ", not a regular file"),
                std::string::npos) << r.output;
    }
    fs::remove(run + "/checkpoint.pt");
    std::ofstream(run + "/checkpoint.pt", std::ios::binary) << checkpoint;
    make_special(run + "/metrics.csv", fifo);
    const auto report = run_swd_within("report " + run + " --no-figures --out " + dir + "/report", 20,
                                       dir + "/log.txt");
    EXPECT_EQ(report.status, 2) << report.output;
    EXPECT_NE(report.output.find(run + "/metrics.csv: it is " + kind), std::string::npos) << report.output;
    fs::remove(run + "/metrics.csv");
    std::ofstream(run + "/metrics.csv", std::ios::binary) << metrics;
  }
  // A regular file is checked for its magic before the rest is read.
  std::ofstream(run + "/checkpoint.pt", std::ios::binary) << "PK\x03\x04" << std::string(64, 'x');
  const auto zip = run_swd("export " + run + " --out " + dir + "/model.pt");
  EXPECT_EQ(zip.status, 2) << zip.output;
  EXPECT_NE(zip.output.find("is not an swd checkpoint (it does not start with SWDCKPT1)"),
            std::string::npos) << zip.output;
  EXPECT_FALSE(fs::exists(dir + "/model.pt"));
  EXPECT_EQ(slurp(run + "/metrics.csv"), metrics) << "nothing written";
}

// Issue "Reliability, round three", 9: finished epochs without their checkpoint are kept.
TEST(Reliability, ResumeWithEpochsButNoCheckpointIsBlocked) {
  const auto run = fresh_dir("blocked") + "/run";
  ASSERT_EQ(run_swd(kSmall + " --out " + run).status, 0);
  fs::remove(run + "/checkpoint.pt");
  const auto metrics = slurp(run + "/metrics.csv");
  const auto r = run_swd("train --resume --epochs 2 --progress none --out " + run);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("blocked: metrics.csv holds 1 finished epochs but checkpoint.pt"),
            std::string::npos) << r.output;
  EXPECT_EQ(slurp(run + "/metrics.csv"), metrics);
  EXPECT_FALSE(fs::exists(run + "/checkpoint.pt"));
}

// 10: a forged checkpoint with a valid checksum but totals no run reaches.
TEST(Reliability, ImpossibleRestoredTotalsAreRefusedByName) {
  const auto run = fresh_dir("forged") + "/run";
  ASSERT_EQ(run_swd(kSmall + " --limit-batches 4 --out " + run).status, 0);  // 1 epoch of 4 steps
  const auto path = run + "/checkpoint.pt";
  const auto good = swd::run::decode_tensor_file(slurp(path));
  const std::vector<std::pair<std::string, nlohmann::json>> forged = {
      {"partial/seen", -10},      {"partial/seen", 1000},  {"partial/wrong", 70},
      {"partial/wrong", -1},      {"partial/steps", 3},    {"partial/skipped", -2},
      {"partial/loss_sum", -1.5}, {"partial/seconds", -1}, {"position/steps_done", 2}};
  for (const auto& [where, value] : forged) {
    auto doc = nlohmann::json::parse(good.json);
    doc["position"]["batches_done"] = 2;  // epoch 2 interrupted after 2 steps of 32 samples
    doc["position"]["steps_done"] = 6;
    doc["partial"]["steps"] = 2;
    doc["partial"]["seen"] = 64;
    doc["partial"]["wrong"] = 20;
    const auto slash = where.find('/');
    doc[where.substr(0, slash)][where.substr(slash + 1)] = value;
    auto file = good;
    file.json = doc.dump();
    const auto bytes = swd::run::encode_tensor_file(file);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    const auto r = run_swd("train --resume --epochs 2 --progress none --out " + run);
    EXPECT_EQ(r.status, 2) << where << " = " << value << ": " << r.output;
    const auto name = where.substr(0, slash) + "." + where.substr(slash + 1);
    EXPECT_NE(r.output.find("its " + name + " is " + value.dump()), std::string::npos) << r.output;
    EXPECT_EQ(slurp(path), bytes) << "a refused checkpoint is left as it was";
  }
  // The same record with consistent totals resumes.
  auto doc = nlohmann::json::parse(good.json);
  doc["position"]["batches_done"] = 2;
  doc["position"]["steps_done"] = 6;
  doc["partial"]["steps"] = 2;
  doc["partial"]["seen"] = 64;
  doc["partial"]["wrong"] = 20;
  auto file = good;
  file.json = doc.dump();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << swd::run::encode_tensor_file(file);
  const auto ok = run_swd("train --resume --epochs 2 --progress none --out " + run);
  EXPECT_EQ(ok.status, 0) << ok.output;
}

namespace {

/// Starts `argv` as a terminal starts a job: in a process group (and session) of its own, so
/// that ::kill(-pid, sig) reaches every process in it, as Ctrl-C does. Output goes to `log`.
int start_job(const std::vector<std::string>& argv, const std::string& log) {
  const int pid = ::fork();
  if (pid == 0) {
    ::setsid();
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

/// The lines of steps.jsonl in `run` (one per step with --log-every 1).
size_t steps_logged(const std::string& run) { return swd_test::count(slurp(run + "/steps.jsonl"), "\n"); }

}  // namespace

// Issue "Reliability, round three", 8: one stop request that arrives as several signals
// (Ctrl-C to `timeout 300 swd train`: SIGINT from the terminal, again from timeout; or a
// SIGTERM close behind) writes the checkpoint of the partial epoch.
TEST(Reliability, SignalsOfOneStopRequestWriteTheCheckpoint) {
  const auto dir = fresh_dir("signal-group");
  // 2 epochs of 20 steps of about 0.2 s (a cnn on 3 x 32 x 32, batch 128): the signals land
  // inside epoch 1, the later ones while the step the first one ends is under way.
  const std::vector<std::string> train = {
      SWD_BINARY, "train", "--dataset", "synthetic", "--synthetic-train", "2560", "--synthetic-test",
      "64", "--synthetic-size", "32", "--synthetic-channels", "3", "--model", "cnn", "--batch-size",
      "128", "--epochs", "2", "--threads", "1", "--workers", "1", "--progress", "none", "--log-every", "1"};
  struct Case {
    std::string name;
    bool through_timeout;
    std::vector<int> signals;  // sent to the job's process group, 50 ms apart
  };
  for (const Case& c : {Case{"int-int", false, {SIGINT, SIGINT}}, Case{"int-term", false, {SIGINT, SIGTERM}},
                        Case{"timeout", true, {SIGINT}}, Case{"timeout-twice", true, {SIGINT, SIGINT}}}) {
    const auto run = dir + "/" + c.name;
    std::vector<std::string> argv = train;
    argv.insert(argv.end(), {"--out", run});
    if (c.through_timeout) argv.insert(argv.begin(), {"timeout", "300"});
    const int pid = start_job(argv, dir + "/" + c.name + ".log");
    ASSERT_TRUE(swd_test::wait_until([&] { return steps_logged(run) >= 3; }, 120, pid)) << slurp(dir + "/" + c.name + ".log");
    for (size_t i = 0; i < c.signals.size(); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ::kill(-pid, c.signals[i]);
    }
    const int status = swd_test::wait_for_exit(pid, 120);
    const auto log = slurp(dir + "/" + c.name + ".log");
    if (status == 0) GTEST_SKIP() << "the run finished before the signals arrived";
    EXPECT_EQ(status, 128 + c.signals.front()) << c.name << ": " << log;
    EXPECT_NE(log.find("checkpoint written; continue with: swd train --resume"), std::string::npos)
        << c.name << ": " << log;
    ASSERT_TRUE(fs::exists(run + "/checkpoint.pt")) << c.name;
    const auto info = swd::run::read_checkpoint_info(run + "/checkpoint.pt");
    EXPECT_EQ(info.position.epoch, 0) << c.name;
    EXPECT_GE(info.position.batches_done, 3) << c.name << ": the partial epoch was lost";
  }
}
