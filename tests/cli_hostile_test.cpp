// Hostile input and hostile timing, one test per defect found by trying to break swd (issue
// "Reliability, round two"): nested and duplicated config keys, two trainers in one folder,
// resume against an edited configuration, stopped and silent ranks, skipped steps, ranges.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "swd/run/metrics.h"

namespace fs = std::filesystem;
using nlohmann::json;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::rows_without_seconds;
using swd_test::slurp;

namespace {

// 2 epochs x 16 steps of a small MLP: well under a second.
const std::string kTiny =
    "train --dataset synthetic --synthetic-train 512 --synthetic-test 64 --synthetic-size 8"
    " --model mlp --batch-size 32 --epochs 2 --threads 1 --workers 1 --progress none";

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

/// Exit 2 with one line "swd: error: ..." holding every one of `parts`.
void expect_refused(const swd_test::CommandResult& r, const std::vector<std::string>& parts) {
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output.rfind("swd: error: ", 0), 0u) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  for (const auto& part : parts) EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Seconds `swd train` takes to start and exit at once (a bad flag): what a timed failure
/// adds to its wait on a loaded machine.
double start_and_exit_seconds() {
  const auto start = std::chrono::steady_clock::now();
  run_swd(kTiny + " --threads -1");
  return seconds_since(start);
}

// ---- 2: nested JSON --------------------------------------------------------------------------
TEST(CliHostile, DeeplyNestedJsonConfigIsRefusedNotACrash) {
  const auto dir = fresh_dir("hostile-nested");
  const std::string deep = "{\"foo\": " + std::string(20000, '[') + std::string(20000, ']') + "}";
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/deep.json", deep)),
                 {"deeper than 8 levels"});
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/list.json", "{\"lr\": [[1]]}")),
                 {"for lr", "not a list"});
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/flat.json", "{\"lr\": [1]}")),
                 {"for lr", "not a list"});
  // Lists stay lists where a key takes one.
  const auto ok = run_swd(kTiny + " --epochs 2 --limit-batches 1 --lr-schedule step --config " +
                          write(dir + "/ok.json", "{\"milestones\": [1], \"betas\": [0.8, 0.9]}") +
                          " --out " + dir + "/run");
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(json::parse(slurp(dir + "/run/config.json"))["betas"], json({0.8, 0.9}));
}

// ---- 3: one trainer per folder -----------------------------------------------------------------
TEST(CliHostile, ASecondRunIntoTheSameFolderIsRefusedAtOnce) {
  const auto dir = fresh_dir("hostile-lock");
  const auto out = dir + "/run";
  auto first = swd_test::spawn_swd(kTiny + " --epochs 1000 --seed 7 --out " + out, dir + "/first.log");
  ASSERT_TRUE(swd_test::wait_for_file(out + "/config.json", 60, first.pid)) << slurp(first.log_path);
  const auto start = std::chrono::steady_clock::now();
  const auto second = run_swd(kTiny + " --seed 8 --out " + out);
  EXPECT_LT(seconds_since(start), 10);
  expect_refused(second, {"in use by another swd train", "pid " + std::to_string(first.pid)});
  ::kill(first.pid, SIGKILL);
  swd_test::wait_for_exit(first.pid, 10);
  EXPECT_EQ(json::parse(slurp(out + "/config.json"))["seed"], 7);
  // The lock goes with the process: after the kill the run resumes.
  const auto resumed = run_swd("train --resume --epochs 1 --progress none --out " + out);
  EXPECT_EQ(resumed.output.find("in use"), std::string::npos) << resumed.output;
}

// ---- 4: resume between the last batch's checkpoint and the epoch's ---------------------------
void expect_resume_after_last_batch_checkpoint_is_bitwise(const std::string& optimizer) {
  const auto dir = fresh_dir("hostile-lastbatch-" + optimizer);
  const std::string run = kTiny + " --optimizer " + optimizer + " --checkpoint-every 4 --seed 3";
  ASSERT_EQ(run_swd(run + " --out " + dir + "/straight").status, 0);
  ::setenv("SWD_TEST_KILL_AFTER_CHECKPOINT", "16", 1);  // the last of epoch 1's 16 steps
  const auto killed = run_swd(run + " --out " + dir + "/killed");
  ::unsetenv("SWD_TEST_KILL_AFTER_CHECKPOINT");
  ASSERT_EQ(killed.status, 128 + SIGKILL) << killed.output;
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(dir + "/killed/metrics.csv")).size(), 0u);
  const auto resumed = run_swd("train --resume --progress none --out " + dir + "/killed");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const auto rows = swd::run::parse_metrics_csv(slurp(dir + "/killed/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].sqrt_vbar.has_value());
  if (optimizer == "adams") EXPECT_TRUE(rows[0].decay_per_step.has_value());  // Adai: L2, none
  EXPECT_EQ(rows_without_seconds(dir + "/killed"), rows_without_seconds(dir + "/straight"));
}
TEST(CliHostile, ResumeAfterTheLastBatchCheckpointIsBitwiseAdamS) {
  expect_resume_after_last_batch_checkpoint_is_bitwise("adams");
}
TEST(CliHostile, ResumeAfterTheLastBatchCheckpointIsBitwiseAdai) {
  expect_resume_after_last_batch_checkpoint_is_bitwise("adai");
}

// ---- 5 and "--resume --epochs": the checkpoint is the source of truth ------------------------
TEST(CliHostile, ResumeRefusesSettingsThatDifferFromTheCheckpoint) {
  const auto dir = fresh_dir("hostile-edited");
  const auto out = dir + "/run";
  ASSERT_EQ(run_swd(kTiny + " --optimizer adams --seed 5 --out " + out).status, 0);
  const std::string original = slurp(out + "/config.json");
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{{"optimizer", "adam"}, {"seed", 6}}) {
    auto edited = json::parse(original);
    edited[key] = value;
    write(out + "/config.json", edited.dump(2));
    const auto r = run_swd("train --resume --epochs 3 --progress none --out " + out);
    expect_refused(r, {"cannot resume: " + key + " is " + value.dump(), "checkpoint"});
  }
  write(out + "/config.json", original);
  // Fewer epochs than finished: refused, and config.json keeps its value.
  expect_refused(run_swd("train --resume --epochs 1 --progress none --out " + out),
                 {"--epochs 1", "already finished 2 epochs"});
  EXPECT_EQ(json::parse(slurp(out + "/config.json"))["epochs"], 2);
  const auto more = run_swd("train --resume --epochs 3 --progress none --out " + out);
  EXPECT_EQ(more.status, 0) << more.output;
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(out + "/metrics.csv")).size(), 3u);
}

// ---- 6 and 7: every distributed wait ends within the timeout plus 1 s ---------------------
TEST(CliHostile, ARendezvousPortThatNeverAnswersFailsWithinTheTimeout) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);  // accepts (backlog), never answers
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const double overhead = start_and_exit_seconds();
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_swd(kTiny + " --world-size 2 --rank 1 --dist-timeout 3 --master-port " +
                         std::to_string(ntohs(addr.sin_port)) + " --out " + fresh_dir("hostile-mute"));
  const double waited = seconds_since(start) - overhead;
  ::close(listener);
  expect_refused(r, {"rank 1 of 2: rendezvous", "timeout of 3 s"});
  EXPECT_LT(waited, 3 + 1 + 1) << r.output;  // the timeout, the stated 1 s, and slack
}

TEST(CliHostile, ALoneRankZeroFailsWithinTheTimeoutWithOneLine) {
  const double overhead = start_and_exit_seconds();
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_swd(kTiny + " --world-size 2 --rank 0 --dist-timeout 3 --master-port " +
                         std::to_string(swd_test::free_port()) + " --out " + fresh_dir("hostile-alone") + "/run");
  const double waited = seconds_since(start) - overhead;
  expect_refused(r, {"rank 0 of 2: rendezvous", "timeout of 3 s"});  // no LibTorch log lines
  EXPECT_GT(waited, 2.5) << r.output;
  EXPECT_LT(waited, 3 + 1 + 1) << r.output;  // was about twice the timeout
}

// ---- 8: every step skipped ---------------------------------------------------------------------
TEST(CliHostile, SkippedStepsAreCountedAndTheirMeansLeftEmpty) {
  const auto dir = fresh_dir("hostile-skipped");
  const auto r = run_swd(kTiny + " --optimizer sgd --lr 1e6 --on-nonfinite skip --out " + dir + "/run");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = swd::run::parse_metrics_csv(slurp(dir + "/run/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].skipped_steps, 16) << slurp(dir + "/run/metrics.csv");  // every step
  EXPECT_TRUE(std::isnan(rows[1].train_loss));  // read back from an empty cell
  const std::string last_line = slurp(dir + "/run/metrics.csv").substr(
      slurp(dir + "/run/metrics.csv").rfind("\n2,"));
  EXPECT_NE(last_line.find(",,"), std::string::npos) << last_line;
  EXPECT_EQ(last_line.find("nan"), std::string::npos) << last_line;
  const int64_t skipped = rows[0].skipped_steps + rows[1].skipped_steps;
  EXPECT_NE(r.output.find("; " + std::to_string(skipped) + " steps skipped"), std::string::npos) << r.output;
}

// ---- 9: no checkpoint yet ----------------------------------------------------------------------
TEST(CliHostile, ANonFiniteLossInTheFirstEpochNamesNoCheckpoint) {
  const auto dir = fresh_dir("hostile-first-epoch");
  const auto r = run_swd(kTiny + " --optimizer sgd --lr 1e6 --out " + dir + "/run");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("no checkpoint was written yet"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("checkpoint.pt"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/run/checkpoint.pt"));
}

// ---- 10-13: ranges checked before converting, values named as given -----------------------
TEST(CliHostile, OutOfRangeNumbersNameTheFlagAndTheValue) {
  const auto dir = fresh_dir("hostile-ranges");
  expect_refused(run_swd(kTiny + " --dist-timeout 1e16"), {"'1e16' for dist-timeout", "86400"});
  expect_refused(run_swd(kTiny + " --synthetic-classes 100000000"),
                 {"'100000000' for synthetic-classes"});
  expect_refused(run_swd(kTiny + " --synthetic-train 10000000 --synthetic-size 4096"),
                 {"--synthetic-train 10000000", "too large"});
  expect_refused(run_swd(kTiny + " --threads 100000"), {"'100000' for threads", "cores"});
  expect_refused(run_swd(kTiny + " --workers 100000"), {"'100000' for workers"});
  expect_refused(run_swd(kTiny + " --nproc 100000"), {"'100000' for nproc"});
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/neg.json", "{\"seed\": -1}")),
                 {"'-1' for seed"});
  // The whole uint64 range is a seed, kept as given.
  const auto ok = run_swd(kTiny + " --epochs 1 --limit-batches 1 --out " + dir + "/run --config " +
                          write(dir + "/max.json", "{\"seed\": 18446744073709551615}"));
  ASSERT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(json::parse(slurp(dir + "/run/config.json"))["seed"].get<uint64_t>(),
            18446744073709551615ull);
}

// Round three, 13: a subnormal number is a number; milestones act within the run, once.
TEST(CliHostile, TinyNumbersAreNumbersAndMilestonesMustFallInTheRun) {
  const auto dir = fresh_dir("hostile-numbers");
  const auto tiny = run_swd(kTiny + " --epochs 1 --limit-batches 1 --lr 1e-320 --out " + dir + "/run");
  ASSERT_EQ(tiny.status, 0) << tiny.output;
  EXPECT_EQ(json::parse(slurp(dir + "/run/config.json"))["lr"].get<double>(), 1e-320);
  expect_refused(run_swd(kTiny + " --lr 1e-400"), {"'1e-400' for lr", "4.9e-324"});
  expect_refused(run_swd(kTiny + " --lr 1e400"), {"'1e400' for lr", "1.8e308"});
  for (const std::string& bad : {"--epochs 1 --milestones 5,10", "--epochs 4 --milestones 1,1",
                                 "--epochs 4 --milestones 3,2", "--epochs 4 --milestones 0,2",
                                 "--epochs 4 --milestones 4.5", "--epochs 4 --milestones 4"}) {
    for (const std::string schedule : {"constant", "step"}) {
      const auto r = run_swd(kTiny + " --lr-schedule " + schedule + " " + bad + " --out " + dir + "/m");
      expect_refused(r, {"invalid milestones", "within the run"});
      EXPECT_FALSE(fs::exists(dir + "/m")) << bad;
    }
  }
}

// ---- 14 and "also seen": duplicate keys, huge values, huge files, FIFOs ---------------------
TEST(CliHostile, ConfigFilesWithDuplicateKeysAreRefusedNamingBoth) {
  const auto dir = fresh_dir("hostile-duplicates");
  for (const std::string order : {"ab", "ba"}) {
    const std::string a = "\"weight_decay\": 0.1", b = "\"weight-decay\": 0.2";
    const std::string text = "{" + (order == "ab" ? a + ", " + b : b + ", " + a) + "}";
    expect_refused(run_swd(kTiny + " --config " + write(dir + "/" + order + ".json", text)),
                   {"weight-decay twice", "'weight_decay'", "'weight-decay'"});
  }
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/t.toml", "weight_decay = 0.1\nweight-decay = 0.2\n")),
                 {"weight-decay twice"});
  expect_refused(run_swd(kTiny + " --config " + write(dir + "/same.json", "{\"lr\": 0.1, \"lr\": 0.2}")),
                 {"the key 'lr' twice"});
}

TEST(CliHostile, HugeValuesAndFilesAndFifosAreShortClearErrors) {
  const auto dir = fresh_dir("hostile-huge");
  const auto big = run_swd(kTiny + " --config " +
                           write(dir + "/big.json", "{\"optimizer\": \"" + std::string(900000, 'x') + "\"}"));
  expect_refused(big, {"for optimizer", "(900000 bytes)"});
  EXPECT_LT(big.output.size(), 600u);
  expect_refused(run_swd(kTiny + " --config " +
                         write(dir + "/huge.json", "{\"x\": \"" + std::string(2 << 20, 'x') + "\"}")),
                 {"more than the limit"});
  ASSERT_EQ(::mkfifo((dir + "/fifo.json").c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(run_swd(kTiny + " --config " + dir + "/fifo.json"), {"not a regular file"});
  EXPECT_LT(seconds_since(start), 10);
}

// ---- "also seen": leftovers of a killed run, a garbage run.json in a sweep ------------------
TEST(CliHostile, StaleTemporaryFilesAreRemovedOnResume) {
  const auto dir = fresh_dir("hostile-tmp");
  const auto out = dir + "/run";
  ASSERT_EQ(run_swd(kTiny + " --epochs 1 --out " + out).status, 0);
  write(out + "/checkpoint.pt.tmp", "half a checkpoint");
  write(out + "/metrics.csv.tmp", "half");
  ASSERT_EQ(run_swd("train --resume --epochs 2 --progress none --out " + out).status, 0);
  EXPECT_FALSE(fs::exists(out + "/checkpoint.pt.tmp"));
  EXPECT_FALSE(fs::exists(out + "/metrics.csv.tmp"));
}

TEST(CliHostile, AFinishedSweepRunWithAGarbageRunJsonIsBlocked) {
  const auto dir = fresh_dir("hostile-runjson");
  const auto sweep = write(dir + "/sweep.toml",
                           "[base]\ndataset = \"synthetic\"\nsynthetic-train = 256\nsynthetic-test = 64\n"
                           "synthetic-size = 8\nmodel = \"mlp\"\nworkers = 1\nbatch-size = 64\nepochs = 1\n"
                           "[grid]\nseed = [0]\n");
  const auto out = dir + "/out";
  ASSERT_EQ(run_swd("sweep " + sweep + " --out " + out).status, 0);
  std::string run_json;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (entry.path().filename() == "run.json") run_json = entry.path().string();
  }
  ASSERT_FALSE(run_json.empty());
  write(run_json, "garbage{");
  const auto again = run_swd("sweep " + sweep + " --out " + out);
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_NE(again.output.find("run.json cannot be read"), std::string::npos) << again.output;
}

// ---- Round three, 1-2: a run folder never writes through a link it did not make -----------
/// Plants a link to a fresh victim file at each of `names` in `folder` (replacing what is
/// there); returns the victims' paths.
std::vector<std::string> plant_links(const std::string& folder, const std::vector<std::string>& names,
                                     const std::string& victims) {
  std::vector<std::string> planted;
  fs::create_directories(folder);
  fs::create_directories(victims);
  for (const auto& name : names) {
    const auto victim = write(victims + "/" + name + ".victim", "precious " + name + "\n");
    fs::remove(folder + "/" + name);
    fs::create_symlink(victim, folder + "/" + name);
    planted.push_back(victim);
  }
  return planted;
}

void expect_untouched(const std::vector<std::string>& victims) {
  for (const auto& v : victims) {
    const auto name = fs::path(v).stem().string();
    EXPECT_EQ(slurp(v), "precious " + name + "\n") << "written through the link " << name;
  }
}

TEST(CliHostile, PlantedLinksInARunFolderAreNeverWrittenThrough) {
  const auto dir = fresh_dir("hostile-links");
  const auto out = dir + "/run";
  const std::string run = kTiny + " --epochs 1 --limit-batches 2 --log-every 1 --out " + out;
  // Files replaced by rename (and their temporary names): the link is replaced, the run goes
  // on. (A fresh run reads a metrics.csv it finds, a resumed one its config.json: those are
  // planted where they are only written.)
  std::vector<std::string> replaced = {
      "steps.jsonl", "model.pt", "best.pt", "checkpoint.pt.tmp", "config.json.tmp",
      "metrics.csv.tmp", "steps.jsonl.tmp", "model.pt.tmp", "best.pt.tmp"};
  replaced.push_back("config.json");
  auto victims = plant_links(out, replaced, dir + "/v1");
  const auto fresh = run_swd(run);
  EXPECT_EQ(fresh.status, 0) << fresh.output;
  expect_untouched(victims);
  replaced.back() = "metrics.csv";
  victims = plant_links(out, replaced, dir + "/v2");
  const auto resumed = run_swd("train --resume --epochs 2 --limit-batches 2 --progress none --out " + out);
  EXPECT_EQ(resumed.status, 0) << resumed.output;
  expect_untouched(victims);
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(out + "/metrics.csv")).size(), 2u);
  // Files written in place: the run is refused before it writes anything, naming the file.
  for (const std::string name : {".swd-lock", "train.log"}) {
    const auto fresh_out = dir + "/fresh-" + name;
    const auto planted = plant_links(fresh_out, {name}, dir + "/v-fresh");
    expect_refused(run_swd(kTiny + " --epochs 1 --limit-batches 2 --out " + fresh_out),
                   {fresh_out + "/" + name, "symbolic link"});
    expect_untouched(planted);
    EXPECT_FALSE(fs::exists(fresh_out + "/config.json")) << name;
    const auto before = slurp(out + "/config.json");
    const auto planted_resume = plant_links(out, {name}, dir + "/v-resume");
    expect_refused(run_swd("train --resume --epochs 3 --limit-batches 2 --progress none --out " + out),
                   {out + "/" + name, "symbolic link"});
    expect_untouched(planted_resume);
    EXPECT_EQ(slurp(out + "/config.json"), before) << "nothing written before the refusal";
    fs::remove(out + "/" + name);
  }
}

}  // namespace
