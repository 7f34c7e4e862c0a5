// The sweep scheduler as a library call (swd/sweep/runner.h): the swd binary built with the
// tests runs the grid; stand-in programs make runs fail or hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_support.h"
#include "swd/sweep/plan.h"
#include "swd/sweep/runner.h"
#include "swd/util/csv.h"
#include "swd/util/process.h"

namespace fs = std::filesystem;
namespace sw = swd::sweep;
using nlohmann::json;
using swd_test::count;
using swd_test::fresh_dir;
using swd_test::slurp;

namespace {

/// Two tiny synthetic runs (seeds 0 and 1).
sw::SweepSpec tiny_spec() {
  const json doc = {
      {"base", {{"dataset", "synthetic"}, {"synthetic-train", 256}, {"synthetic-test", 128},
                {"synthetic-size", 8}, {"model", "mlp"}, {"workers", 1}, {"batch-size", 64},
                {"epochs", 1}}},
      {"grid", {{"seed", {0, 1}}}}};
  return sw::parse_sweep_json(doc.dump(), "tiny.json");
}

sw::RunnerOptions options_for(const std::string& out) {
  sw::RunnerOptions options;
  options.out = out;
  options.jobs = 2;
  options.threads = 1;
  options.program = SWD_BINARY;
  return options;
}

std::vector<std::string> statuses(const std::string& out) {
  const auto table = swd::util::parse_csv(slurp(out + "/runs.csv"), "runs.csv");
  std::vector<std::string> out_statuses;
  for (const auto& row : table.rows) out_statuses.push_back(row.at(table.column("status")));
  return out_statuses;
}

/// An executable shell script standing in for swd.
std::string script(const std::string& dir, const std::string& body) {
  const std::string path = dir + "/fake-swd";
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

}  // namespace

TEST(SweepRunner, ThreadsPerRunShareTheCores) {
  EXPECT_EQ(sw::threads_per_run(2, 1), 2);
  EXPECT_EQ(sw::threads_per_run(2, 4), 1);
  EXPECT_EQ(sw::threads_per_run(16, 3), 5);
  EXPECT_EQ(sw::threads_per_run(1, 0), 1);
}

TEST(SweepRunner, RunsTheGridThenSkipsWhatIsDone) {
  const auto out = fresh_dir("runner-grid") + "/sweep";
  const auto options = options_for(out);
  ASSERT_EQ(sw::run_sweep(tiny_spec(), options), 0);
  EXPECT_EQ(statuses(out), (std::vector<std::string>{"done", "done"}));
  ASSERT_TRUE(fs::exists(out + "/sweep.json"));
  std::vector<std::string> logs;
  for (const auto& entry : fs::directory_iterator(out + "/runs")) {
    logs.push_back(slurp(entry.path().string() + "/train.log"));
    EXPECT_EQ(json::parse(slurp(entry.path().string() + "/exit.json"))["exit_status"], 0);
    // The runner's threads reach the run.
    EXPECT_EQ(json::parse(slurp(entry.path().string() + "/config.json"))["threads"], 1);
  }
  ASSERT_EQ(logs.size(), 2u);
  // Again: nothing to do, nothing started.
  ASSERT_EQ(sw::run_sweep(tiny_spec(), options), 0);
  size_t i = 0;
  for (const auto& entry : fs::directory_iterator(out + "/runs")) {
    EXPECT_EQ(count(slurp(entry.path().string() + "/train.log"), "== swd sweep: start"), 1u);
    EXPECT_EQ(slurp(entry.path().string() + "/train.log"), logs[i++]);
  }
}

TEST(SweepRunner, ADryRunWritesNothing) {
  auto options = options_for(fresh_dir("runner-dry") + "/sweep");
  options.dry_run = true;
  EXPECT_EQ(sw::run_sweep(tiny_spec(), options), 0);
  EXPECT_FALSE(fs::exists(options.out));
}

TEST(SweepRunner, FailedRunsAreRecordedAndReported) {
  const auto dir = fresh_dir("runner-fail");
  auto options = options_for(dir + "/sweep");
  options.program = script(dir, "echo \"it broke: $2\" >&2; exit 7");
  EXPECT_EQ(sw::run_sweep(tiny_spec(), options), 2);
  EXPECT_EQ(statuses(options.out), (std::vector<std::string>{"failed", "failed"}));
  for (const auto& entry : fs::directory_iterator(options.out + "/runs")) {
    EXPECT_EQ(json::parse(slurp(entry.path().string() + "/exit.json"))["exit_status"], 7);
    EXPECT_NE(slurp(entry.path().string() + "/train.log").find("it broke: --config"), std::string::npos);
  }
}

TEST(SweepRunner, BadOptionsAndABusyFolderAreErrors) {
  const auto dir = fresh_dir("runner-bad");
  auto options = options_for(dir + "/sweep");
  options.jobs = 0;
  try {
    sw::run_sweep(tiny_spec(), options);
    ADD_FAILURE() << "jobs 0 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("jobs 0"), std::string::npos) << e.what();
  }
  options.jobs = 1;
  options.out = "";
  EXPECT_THROW(sw::run_sweep(tiny_spec(), options), std::invalid_argument);
  options.out = dir + "/sweep";
  for (const std::string program : {"", "/no/such/swd"}) {
    options.program = program;
    try {
      sw::run_sweep(tiny_spec(), options);
      ADD_FAILURE() << "program \"" << program << "\" was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("program \"" + program + "\""), std::string::npos) << e.what();
    }
  }
  options.program = SWD_BINARY;

  options.out = dir + "/sweep";
  fs::create_directories(options.out);
  const int lock = ::open((options.out + "/.sweep.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);
  try {
    sw::run_sweep(tiny_spec(), options);
    ADD_FAILURE() << "a held folder was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another swd sweep"), std::string::npos) << e.what();
  }
  ::close(lock);
  EXPECT_FALSE(fs::exists(options.out + "/runs"));  // nothing started
}

TEST(SweepRunner, AStopSignalStopsTheRunsAndReturns) {
  const auto dir = fresh_dir("runner-stop");
  auto options = options_for(dir + "/sweep");
  options.program = script(dir, "exec sleep 60");
  auto result = std::async(std::launch::async, [&] { return sw::run_sweep(tiny_spec(), options); });
  // Both runs have started once their train.log exist (written just before each start).
  ASSERT_TRUE(swd_test::wait_until(
      [&] {
        if (!fs::exists(options.out + "/runs")) return false;
        size_t logs = 0;
        for (const auto& e : fs::directory_iterator(options.out + "/runs")) logs += fs::exists(e.path() / "train.log");
        return logs == 2;
      },
      30));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(::getpid(), SIGTERM);  // caught by the runner while it lives
  ASSERT_EQ(result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(result.get(), 128 + SIGTERM);
  for (const auto& s : statuses(options.out)) EXPECT_NE(s, "failed");  // interrupted, not failed
  for (const auto& e : fs::directory_iterator(options.out + "/runs")) EXPECT_FALSE(fs::exists(e.path() / "exit.json"));
}
