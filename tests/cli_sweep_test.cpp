// swd sweep end to end on tiny synthetic runs: folder layout, runs.csv, skipping finished runs,
// resuming broken ones, an interrupted sweep, failing runs, scaling rules, config errors.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_support.h"
#include "swd/report/results.h"
#include "swd/run/checkpoint.h"
#include "swd/run/metrics.h"
#include "swd/schedule/scaling.h"
#include "swd/util/csv.h"
#include "swd/util/process.h"

namespace fs = std::filesystem;
using nlohmann::json;
using swd_test::count;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

/// Tiny runs; the dataset and batch size are added by each test (a key is in [base] or [grid]).
const std::string kTiny =
    "[base]\nsynthetic-train = 256\nsynthetic-test = 128\nsynthetic-size = 8\n"
    "model = \"mlp\"\nworkers = 1\n";
const std::string kTinyBase = kTiny + "dataset = \"synthetic\"\nbatch-size = 64\n";

std::string write_sweep(const std::string& dir, const std::string& text) {
  const std::string path = dir + "/sweep.toml";
  std::ofstream(path) << text;
  return path;
}

swd::util::CsvTable runs_csv(const std::string& out) {
  return swd::util::parse_csv(slurp(out + "/runs.csv"), out + "/runs.csv");
}

std::string cell(const swd::util::CsvTable& t, size_t row, const std::string& column) {
  return t.rows.at(row).at(t.column(column));
}

/// metrics.csv without the seconds column: what must not change between equal runs.
std::string numbers_of(const std::string& metrics_path) {
  std::string out;
  for (auto m : swd::run::parse_metrics_csv(slurp(metrics_path))) {
    m.seconds = 0;
    out += swd::run::metrics_csv_row(m) + "\n";
  }
  return out;
}

}  // namespace

TEST(CliSweep, RunsTheGridThenSkipsResumesAndRestarts) {
  const auto dir = fresh_dir("sweep-resume");
  const auto config = write_sweep(dir, kTinyBase + "epochs = 2\n[grid]\noptimizer = [\"sgd\", \"adams\"]\nseed = [0, 1]\n");
  const auto out = dir + "/out";
  const auto first = run_swd("sweep " + config + " --jobs 2 --out " + out);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("4 runs: 0 done, 0 to resume, 4 to start"), std::string::npos) << first.output;
  EXPECT_EQ(count(first.output, "/4] optimizer="), 4u) << first.output;  // one line per run

  auto table = runs_csv(out);
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.header[2], "optimizer");
  EXPECT_EQ(table.header[3], "seed");
  const std::string expected_threads = std::to_string(std::max(1, swd::util::available_cores() / 2));
  std::vector<std::string> folders, numbers;
  for (size_t i = 0; i < 4; ++i) {
    const std::string folder = cell(table, i, "run");
    const std::string run = out + "/" + folder;
    folders.push_back(folder);
    EXPECT_EQ(cell(table, i, "status"), "done");
    EXPECT_EQ(cell(table, i, "optimizer"), i < 2 ? "sgd" : "adams");
    EXPECT_EQ(cell(table, i, "seed"), std::to_string(i % 2));
    EXPECT_EQ(folder.rfind("runs/optimizer=" + cell(table, i, "optimizer") + "_seed=" +
                               cell(table, i, "seed") + "-", 0), 0u) << folder;
    const auto config_json = json::parse(slurp(run + "/config.json"));
    EXPECT_EQ(config_json["optimizer"], cell(table, i, "optimizer"));
    EXPECT_EQ(config_json["seed"].get<int>(), static_cast<int>(i % 2));
    EXPECT_EQ(config_json["threads"].get<int>(), std::stoi(expected_threads));
    EXPECT_EQ(json::parse(slurp(run + "/exit.json"))["exit_status"], 0);
    EXPECT_TRUE(fs::exists(run + "/train.log"));
    const auto rows = swd::run::parse_metrics_csv(slurp(run + "/metrics.csv"));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(std::stod(cell(table, i, "final_test_error")), rows[1].test_error);
    EXPECT_EQ(std::stod(cell(table, i, "best_test_error")), std::min(rows[0].test_error, rows[1].test_error));
    EXPECT_EQ(cell(table, i, "epochs_done"), "2");
    numbers.push_back(numbers_of(run + "/metrics.csv"));
  }
  EXPECT_TRUE(fs::exists(out + "/sweep.json"));

  // Rerun: everything finished is skipped.
  const auto again = run_swd("sweep " + config + " --jobs 2 --out " + out);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("4 runs: 4 done, 0 to resume, 0 to start"), std::string::npos) << again.output;
  EXPECT_EQ(count(again.output, "/4] optimizer="), 0u) << again.output;

  // Break two runs: run 1 stopped after its first epoch (a checkpoint of epoch 1, made by
  // training the same settings for one epoch), run 2 lost entirely.
  const std::string broken = out + "/" + folders[1];
  const auto scratch = dir + "/scratch";
  const auto one = run_swd("train --config " + broken + "/run.json --epochs 1 --threads " +
                           expected_threads + " --out " + scratch);
  ASSERT_EQ(one.status, 0) << one.output;
  for (const char* file : {"config.json", "metrics.csv", "checkpoint.pt"}) {
    fs::copy_file(scratch + "/" + file, broken + "/" + file, fs::copy_options::overwrite_existing);
  }
  fs::remove(broken + "/exit.json");
  fs::remove_all(out + "/" + folders[2]);
  EXPECT_EQ(cell(runs_csv(out), 1, "status"), "done");  // runs.csv is rewritten by the sweep

  const auto third = run_swd("sweep " + config + " --jobs 2 --out " + out);
  ASSERT_EQ(third.status, 0) << third.output;
  EXPECT_NE(third.output.find("4 runs: 2 done, 1 to resume, 1 to start"), std::string::npos) << third.output;
  EXPECT_EQ(count(third.output, "/4] optimizer="), 2u) << third.output;
  table = runs_csv(out);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(cell(table, i, "status"), "done");
    // Resumed or restarted, a run ends with the numbers of an uninterrupted one.
    EXPECT_EQ(numbers_of(out + "/" + folders[i] + "/metrics.csv"), numbers[i]) << folders[i];
  }
  EXPECT_NE(slurp(broken + "/train.log").find("== swd sweep: resume"), std::string::npos);

  // Finished epochs that cannot be continued (no checkpoint, no exit record) are never redone
  // over: the run is reported blocked and left as it is.
  const std::string stuck = out + "/" + folders[3];
  fs::remove(stuck + "/checkpoint.pt");
  fs::remove(stuck + "/exit.json");
  const auto fourth = run_swd("sweep " + config + " --jobs 2 --out " + out);
  EXPECT_EQ(fourth.status, 2) << fourth.output;
  EXPECT_NE(fourth.output.find("blocked " + folders[3]), std::string::npos) << fourth.output;
  EXPECT_NE(fourth.output.find("swd: error: 1 of 4 runs blocked"), std::string::npos) << fourth.output;
  EXPECT_EQ(numbers_of(stuck + "/metrics.csv"), numbers[3]);
  EXPECT_EQ(cell(runs_csv(out), 3, "status"), "blocked");
}

TEST(CliSweep, AnInterruptedSweepContinuesWhereItStopped) {
  const auto dir = fresh_dir("sweep-interrupt");
  const auto config = write_sweep(dir, kTinyBase + "epochs = 2\n[grid]\nseed = [0, 1, 2, 3]\n");
  const auto out = dir + "/out";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::execl(SWD_BINARY, SWD_BINARY, "sweep", config.c_str(), "--jobs", "1", "--out", out.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto wait_for = [](const std::function<bool()>& ready) {
    for (int waited = 0; waited < 60000; waited += 10) {
      if (ready()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  // Once it has started, a second sweep in the same folder is refused.
  ASSERT_TRUE(wait_for([&] { return fs::exists(out + "/runs.csv"); }));
  const auto second = run_swd("sweep " + config + " --jobs 1 --out " + out);
  EXPECT_EQ(second.status, 2) << second.output;
  EXPECT_NE(second.output.find("another swd sweep is running in " + out), std::string::npos)
      << second.output;
  // Stop it as soon as its first run has finished.
  const bool first_done = wait_for([&] {
    bool any = false;
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(out + "/runs", ignored)) {
      any = any || fs::exists(entry.path() / "exit.json");
    }
    return any;
  });
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(first_done);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  auto table = runs_csv(out);
  size_t done = 0;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto s = cell(table, i, "status");
    done += s == "done";
    EXPECT_TRUE(s == "done" || s == "pending" || s == "unfinished") << s;  // never "failed"
  }
  EXPECT_GE(done, 1u);
  EXPECT_LT(done, 4u);

  const auto rerun = run_swd("sweep " + config + " --jobs 1 --out " + out);
  ASSERT_EQ(rerun.status, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("4 runs: " + std::to_string(done) + " done"), std::string::npos) << rerun.output;
  table = runs_csv(out);
  for (size_t i = 0; i < table.rows.size(); ++i) EXPECT_EQ(cell(table, i, "status"), "done");
}

TEST(CliSweep, AFailingRunDoesNotStopTheOthers) {
  const auto dir = fresh_dir("sweep-fail");
  const auto config = write_sweep(dir, kTiny + "batch-size = 64\nepochs = 1\ndata-dir = \"" + dir +
                                           "/no-such-data\"\n[grid]\ndataset = [\"mnist\", \"synthetic\"]\n");
  const auto r = run_swd("sweep " + config + " --jobs 2 --out " + dir + "/out");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("FAILED (exit 2)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("swd: error: 1 of 2 runs failed"), std::string::npos) << r.output;
  const auto table = runs_csv(dir + "/out");
  EXPECT_EQ(cell(table, 0, "status"), "failed");
  EXPECT_EQ(cell(table, 1, "status"), "done");
}

TEST(CliSweep, ScaleRulesGiveTheScaledHyperparameters) {
  const auto dir = fresh_dir("sweep-scale");
  const auto config = write_sweep(
      dir, kTiny + "dataset = \"synthetic\"\nepochs = 1\nlimit-batches = 1\noptimizer = \"sgds\"\nlr = 0.01\n"
                       "weight-decay = 0.001\nbase-batch-size = 32\n[grid]\n"
                       "batch-size = [32, 128]\nscale-rule = [\"none\", \"lr\", \"wd\"]\n");
  const auto r = run_swd("sweep " + config + " --jobs 2 --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto table = runs_csv(dir + "/out");
  ASSERT_EQ(table.rows.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const auto rule = swd::schedule::scale_rule_from_string(cell(table, i, "scale-rule"));
    const auto expected = swd::schedule::scale_hyperparameters(
        rule, 0.01, 0.001, 32, std::stoll(cell(table, i, "batch-size")));
    const auto run = dir + "/out/" + cell(table, i, "run");
    const auto derived = json::parse(slurp(run + "/config.json"))["derived"];
    EXPECT_DOUBLE_EQ(derived["lr"].get<double>(), expected.lr);
    EXPECT_DOUBLE_EQ(derived["weight_decay"].get<double>(), expected.weight_decay);
    const auto rows = swd::run::parse_metrics_csv(slurp(run + "/metrics.csv"));
    EXPECT_DOUBLE_EQ(rows.at(0).lr, expected.lr);
    EXPECT_DOUBLE_EQ(rows.at(0).weight_decay, expected.weight_decay);
  }
}

TEST(CliSweep, BadInputIsExitTwoAndWritesNothing) {
  const auto dir = fresh_dir("sweep-errors");
  const auto out = dir + "/out";
  auto expect_error = [&](const std::string& text, const std::string& args, const std::string& says) {
    const auto config = write_sweep(dir, text);
    const auto r = run_swd("sweep " + config + " --out " + out + args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_EQ(r.output.rfind("swd: error: ", 0), 0u) << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
  };
  expect_error(kTinyBase + "optimiser = \"sgd\"\n", "", "unknown configuration key 'optimiser'");
  expect_error(kTinyBase + "[grid]\nlr = [0.1, -1]\n", "", "invalid value '-1' for lr");
  expect_error("[gird]\nlr = [0.1]\n", "", "unknown sweep key 'gird'");
  expect_error(kTinyBase, " --jobs 0", "--jobs");
  expect_error(kTinyBase, " --set nope=1", "unknown configuration key 'nope'");

  // --dry-run lists the runs and starts nothing.
  const auto config = write_sweep(dir, kTinyBase + "[grid]\nseed = [0, 1, 2]\n");
  const auto dry = run_swd("sweep " + config + " --dry-run --out " + out);
  EXPECT_EQ(dry.status, 0) << dry.output;
  EXPECT_EQ(count(dry.output, "  start   runs/seed="), 3u) << dry.output;
  // ... with each run's lr and weight decay as swd train resolves them (adams' defaults here).
  EXPECT_EQ(count(dry.output, "  lr 0.001, weight decay 0.0005 (default)\n"), 3u) << dry.output;
  // --set takes one KEY=VALUE: the sweep file after it is still the positional argument.
  const auto one = run_swd("sweep --set seed=5 " + config + " --dry-run --out " + out);
  EXPECT_EQ(one.status, 0) << one.output;
  EXPECT_EQ(count(one.output, "  start   runs/"), 1u) << one.output;
  // The header names the threads a run gets: the share of the cores, or those the sweep file sets.
  const auto share = run_swd("sweep " + config + " --jobs 1 --dry-run --out " + out);
  EXPECT_NE(share.output.find("; 1 job x "), std::string::npos) << share.output;
  EXPECT_EQ(share.output.find("the threads each run sets"), std::string::npos) << share.output;
  const auto fixed = run_swd("sweep " + write_sweep(dir, kTinyBase + "threads = 1\n[grid]\nseed = [0, 1]\n") +
                             " --jobs 2 --dry-run --out " + out);
  EXPECT_NE(fixed.output.find("; 2 jobs x the threads each run sets -> "), std::string::npos) << fixed.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliSweep, PrimaryFirstStartsTheRunsThatDecideTheTestsFirst) {
  const auto dir = fresh_dir("sweep-primary-first");
  const auto config = write_sweep(dir, kTinyBase + "[grid]\noptimizer = [\"sgd\", \"adams\", \"adamw\"]\n"
                                                   "seed = [0, 1]\n[analysis]\nprimary = [\"adams - adamw < 0\"]\n");
  const auto out = dir + "/out";
  auto order = [&](const std::string& flags) {
    const auto dry = run_swd("sweep " + config + flags + " --dry-run --out " + out);
    EXPECT_EQ(dry.status, 0) << dry.output;
    std::vector<std::string> optimizers;  // of each listed run, in the order it would start
    for (size_t at = dry.output.find("start   runs/optimizer="); at != std::string::npos;
         at = dry.output.find("start   runs/optimizer=", at + 1)) {
      const size_t from = at + std::string("start   runs/optimizer=").size();
      optimizers.push_back(dry.output.substr(from, dry.output.find('_', from) - from));
    }
    return optimizers;
  };
  using Order = std::vector<std::string>;
  EXPECT_EQ(order(""), (Order{"sgd", "sgd", "adams", "adams", "adamw", "adamw"}));  // grid order
  EXPECT_EQ(order(" --primary-first"), (Order{"adams", "adams", "adamw", "adamw", "sgd", "sgd"}));
  // Within a shard too (runs 2, 4, 6 of the grid: sgd s1, adams s1, adamw s1).
  EXPECT_EQ(order(" --primary-first --shard 2/2"), (Order{"adams", "adamw", "sgd"}));
  EXPECT_FALSE(fs::exists(out));
}

namespace {
/// A link at `folder/name` to a fresh file of victims/, which it returns.
std::string plant_link(const std::string& folder, const std::string& name, const std::string& victims) {
  fs::create_directories(folder);
  fs::create_directories(victims);
  const std::string victim = victims + "/" + name + ".victim";
  std::ofstream(victim) << "precious\n";
  fs::remove(folder + "/" + name);
  fs::create_symlink(victim, folder + "/" + name);
  return victim;
}
}  // namespace

// Issue "Reliability, round three", 1-2: no file of a sweep or report folder is written
// through a link planted there.
TEST(CliSweep, PlantedLinksInSweepAndReportFoldersAreNeverWrittenThrough) {
  const auto dir = fresh_dir("sweep-links");
  const auto config = write_sweep(dir, kTinyBase + "epochs = 1\nlimit-batches = 1\n[grid]\nseed = [0]\n");
  const auto out = dir + "/out";
  const auto dry = run_swd("sweep " + config + " --dry-run --out " + out);
  const auto at = dry.output.find("start   ");
  ASSERT_NE(at, std::string::npos) << dry.output;
  const auto run = out + "/" + dry.output.substr(at + 8, dry.output.find_first_of(" \n", at + 8) - at - 8);
  std::vector<std::string> victims;
  for (const std::string name : {"runs.csv", "sweep.json", "runs.csv.tmp", "sweep.json.tmp"}) {
    victims.push_back(plant_link(out, name, dir + "/v"));
  }
  for (const std::string name : {"exit.json", "run.json.tmp", "exit.json.tmp"}) {
    victims.push_back(plant_link(run, name, dir + "/v-run"));
  }
  const auto r = run_swd("sweep " + config + " --out " + out);
  EXPECT_EQ(r.status, 0) << r.output;
  for (const auto& name : {"summary.csv", "paired.csv", "report.md", "report.md.tmp"}) {
    victims.push_back(plant_link(out, name, dir + "/v-report"));
  }
  const auto report = run_swd("report " + out + " --no-figures");
  EXPECT_EQ(report.status, 0) << report.output;
  EXPECT_NE(slurp(out + "/report.md").find("seed"), std::string::npos);
  // In place: the sweep's lock, and the run's train.log the sweep appends to.
  const auto lock = plant_link(out, ".sweep.lock", dir + "/v-lock");
  const auto refused = run_swd("sweep " + config + " --out " + out);
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find(out + "/.sweep.lock: it is a symbolic link"), std::string::npos) << refused.output;
  fs::remove(out + "/.sweep.lock");
  victims.push_back(lock);
  fs::remove_all(run);  // run it again, with a link for its train.log
  victims.push_back(plant_link(run, "train.log", dir + "/v-log"));
  const auto log = run_swd("sweep " + config + " --out " + out);
  EXPECT_EQ(log.status, 2) << log.output;
  EXPECT_NE(log.output.find(run + "/train.log: it is a symbolic link"), std::string::npos) << log.output;
  // The run's folder itself, or runs/, as a link: refused too.
  fs::remove_all(run);
  fs::create_directories(dir + "/elsewhere");
  fs::create_directory_symlink(dir + "/elsewhere", run);
  const auto folder = run_swd("sweep " + config + " --out " + out);
  EXPECT_EQ(folder.status, 2) << folder.output;
  EXPECT_NE(folder.output.find(run + ": it is a symbolic link"), std::string::npos) << folder.output;
  EXPECT_TRUE(fs::is_empty(dir + "/elsewhere"));
  for (const auto& v : victims) EXPECT_EQ(slurp(v), "precious\n") << "written through " << v;
}

// Issue "Reliability, round three", 8: Ctrl-C in a terminal reaches the sweep's process group;
// its running run gets one stop request (from the sweep) and checkpoints its partial epoch.
TEST(CliSweep, CtrlCToTheSweepsProcessGroupKeepsTheRunsPartialEpoch) {
  const auto dir = fresh_dir("sweep-ctrl-c");
  const auto config = write_sweep(
      // Steps of about 0.2 s (a cnn on 3 x 32 x 32, batch 128): the sweep's own stop request
      // reaches the run while its step is under way, as with any real model.
      dir, "[base]\ndataset = \"synthetic\"\nsynthetic-train = 2560\nsynthetic-test = 64\n"
           "synthetic-size = 32\nsynthetic-channels = 3\nmodel = \"cnn\"\nworkers = 1\n"
           "batch-size = 128\nepochs = 2\nthreads = 1\nlog-every = 1\n[grid]\nseed = [0, 1]\n");
  for (const std::vector<int>& presses : {std::vector<int>{SIGINT}, {SIGINT, SIGINT}}) {
    const auto out = dir + "/out" + std::to_string(presses.size());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setsid();  // a job of its own, as a shell makes it: kill(-pid) is the terminal's Ctrl-C
      const int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::execl(SWD_BINARY, SWD_BINARY, "sweep", config.c_str(), "--jobs", "1", "--out", out.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::string run;  // the folder of the run under way, once it has taken 3 steps
    ASSERT_TRUE(swd_test::wait_until([&] {
      std::error_code ignored;
      for (const auto& entry : fs::directory_iterator(out + "/runs", ignored)) {
        if (count(slurp((entry.path() / "steps.jsonl").string()), "\n") >= 3) run = entry.path().string();
      }
      return !run.empty();
    }, 120, pid));
    for (size_t i = 0; i < presses.size(); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ::kill(-pid, presses[i]);
    }
    const int status = swd_test::wait_for_exit(pid, 120);
    EXPECT_EQ(status, 128 + SIGINT);
    const auto log = slurp(run + "/train.log");
    EXPECT_NE(log.find("checkpoint written; continue with: swd train --resume"), std::string::npos) << log;
    EXPECT_EQ(count(log, "stopped by signal"), 1u) << log;
    const auto checkpoint = run + "/checkpoint.pt";
    ASSERT_TRUE(fs::exists(checkpoint)) << log;
    EXPECT_GE(swd::run::read_checkpoint_info(checkpoint).position.batches_done, 3)
        << "the partial epoch was lost";
    // The rerun resumes it from there.
    const auto info = run_swd("sweep " + config + " --jobs 1 --dry-run --out " + out);
    EXPECT_NE(info.output.find("resume  " + fs::relative(run, out).string()), std::string::npos) << info.output;
  }
}

namespace {

TEST(CliSweep, ShardsRunDisjointSlicesIntoOneFolder) {
  const auto dir = fresh_dir("sweep-shards");
  const auto config = write_sweep(dir, kTinyBase + "epochs = 1\n[grid]\noptimizer = [\"sgd\", \"adams\"]\n"
                                                   "seed = [0, 1, 2]\n");
  const auto out = dir + "/out";
  // Three shards at once, as a job array would start them.
  std::vector<swd_test::Spawned> shards;
  for (int k = 1; k <= 3; ++k) {
    shards.push_back(swd_test::spawn_swd("sweep " + config + " --shard " + std::to_string(k) + "/3 --out " + out,
                                         dir + "/shard" + std::to_string(k) + ".log"));
  }
  std::string logs;
  for (const auto& s : shards) {
    EXPECT_EQ(swd_test::wait_for_exit(s.pid, 300), 0) << slurp(s.log_path);
    logs += slurp(s.log_path);
  }
  // Each shard ran its two runs (i mod 3 = k - 1), no run twice, and runs.csv lists all six.
  EXPECT_EQ(count(logs, "sweep: shard "), 3u) << logs;
  EXPECT_EQ(count(logs, "/2] optimizer="), 6u) << logs;
  // With one job each, a shard shows its running run's lines (from its train.log), indented.
  EXPECT_EQ(count(logs, "\n    swd train: mlp ("), 6u) << logs;
  EXPECT_EQ(count(logs, "\n    epoch 1/1  train loss "), 6u) << logs;
  const auto table = runs_csv(out);
  ASSERT_EQ(table.rows.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(cell(table, i, "status"), "done") << i;
    const auto log = slurp(out + "/" + cell(table, i, "run") + "/train.log");
    EXPECT_EQ(count(log, "== swd sweep: start"), 1u) << cell(table, i, "run");
  }
  EXPECT_EQ(count(slurp(out + "/sweep.json"), "\"start_time\""), 3u);  // each start recorded
  // swd report on the shared folder sees every shard's runs.
  EXPECT_EQ(swd::report::load_results(out).runs.size(), 6u);
  // Every shard is now done; a shard's dry run lists its own runs only.
  const auto dry = run_swd("sweep " + config + " --shard 2/3 --dry-run --out " + out);
  EXPECT_EQ(count(dry.output, "  done    runs/"), 2u) << dry.output;
  for (const char* bad : {"0/3", "4/3", "1/0", "x/2", "2"}) {
    const auto r = run_swd("sweep " + config + " --shard " + bad + " --dry-run --out " + out);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.output.find("for --shard (expected K/N with 1 <= K <= N"), std::string::npos) << r.output;
  }
}

TEST(CliSweep, AShardAndAnUnshardedSweepNeverShareAFolder) {
  const auto dir = fresh_dir("sweep-shard-locks");
  const auto config = write_sweep(dir, kTinyBase + "epochs = 1\n[grid]\nseed = [0, 1]\n");
  const auto out = dir + "/out";
  fs::create_directories(out);
  // A running shard 1/2 (its lock held by a process of ours) ...
  auto hold = [&](const std::string& file, int how) {
    const int fd = ::open((out + "/" + file).c_str(), O_RDWR | O_CREAT, 0644);
    EXPECT_EQ(::flock(fd, how | LOCK_NB), 0);
    return fd;
  };
  const int folder = hold(".sweep.lock", LOCK_SH), shard = hold(".sweep-shard-1-of-2.lock", LOCK_EX);
  auto refused = [&](const std::string& args, const std::string& says) {
    const auto r = run_swd("sweep " + config + args + " --out " + out);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << args << "\n" << r.output;
  };
  refused("", "another swd sweep is running in " + out);                     // unsharded
  refused(" --shard 1/2", "for shard 1/2");                                   // the same shard
  refused(" --shard 1/3", "with another --shard split (.sweep-shard-1-of-2.lock)");  // another N
  EXPECT_FALSE(fs::exists(out + "/runs.csv"));
  ::close(shard);
  ::close(folder);
  const auto other = run_swd("sweep " + config + " --shard 2/2 --out " + out);
  EXPECT_EQ(other.status, 0) << other.output;
}

}  // namespace
