// What a run records about itself: swd --version, the provenance list of config.json and
// sweep.json (one record per start), steps.jsonl (--log-every) and train.log, across a kill
// and a resume.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_support.h"
#include "swd/provenance.h"

namespace fs = std::filesystem;
using nlohmann::json;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

const std::string kSmall =
    "train --dataset synthetic --synthetic-train 512 --synthetic-test 128 --synthetic-size 8"
    " --model mlp --batch-size 32 --threads 1 --progress line";

TEST(CliRecords, VersionNamesTheVersionAndLibTorch) {
  const auto r = run_swd("--version");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("swd " + swd::version() + " (", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("LibTorch "), std::string::npos) << r.output;
}

TEST(CliRecords, ConfigJsonHasOneProvenanceRecordPerStart) {
  const auto out = fresh_dir("provenance") + "/run";
  ASSERT_EQ(run_swd(kSmall + " --epochs 1 --out " + out).status, 0);
  auto first = json::parse(slurp(out + "/config.json"))["provenance"];
  ASSERT_TRUE(first.is_array());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["swd_version"], swd::version());
  EXPECT_EQ(first[0]["threads"], 1);
  EXPECT_FALSE(first[0]["host"].get<std::string>().empty());
  EXPECT_EQ(first[0]["command"][1], "train");
  EXPECT_EQ(first[0]["start_time"].get<std::string>().size(), 20u);  // 2026-01-02T03:04:05Z
  ASSERT_EQ(run_swd("train --resume --out " + out + " --epochs 2 --progress none").status, 0);
  const auto both = json::parse(slurp(out + "/config.json"))["provenance"];
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0], first[0]);  // kept, not overwritten
  EXPECT_EQ(both[1]["command"][2], "--resume");
  // a run's config.json still reruns it
  const auto again = fresh_dir("provenance-rerun") + "/again";
  EXPECT_EQ(run_swd(kSmall + " --epochs 1 --config " + out + "/config.json --out " + again).status, 0);
}

TEST(CliRecords, DataDirReadIsRecorded) {
  const auto out = fresh_dir("provenance-data") + "/run";
  const auto r = run_swd("train --epochs 1 --limit-batches 1 --limit-test-batches 1 --threads 1"
                         " --progress none --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto record = json::parse(slurp(out + "/config.json"))["provenance"][0];
  EXPECT_EQ(record["data_dir"], "/usr/share/datasets/fashion-mnist");
}

TEST(CliRecords, SweepJsonHasOneProvenanceRecordPerStart) {
  const auto dir = fresh_dir("sweep-provenance");
  const std::string config = dir + "/sweep.toml";
  std::ofstream(config) << "[base]\ndataset = \"synthetic\"\nsynthetic-train = 128\n"
                           "synthetic-test = 64\nsynthetic-size = 8\nmodel = \"mlp\"\n"
                           "batch-size = 64\nepochs = 1\n[grid]\nseed = [0]\n";
  const std::string out = dir + "/out";
  ASSERT_EQ(run_swd("sweep " + config + " --out " + out).status, 0);
  ASSERT_EQ(run_swd("sweep " + config + " --out " + out).status, 0);  // all done: a no-op start
  const auto records = json::parse(slurp(out + "/sweep.json"))["provenance"];
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["command"][1], "sweep");
  EXPECT_EQ(records[1]["swd_version"], swd::version());
}

/// The "step" and "loss" of each line of steps.jsonl.
std::vector<std::pair<int64_t, double>> steps_of(const std::string& path) {
  std::vector<std::pair<int64_t, double>> steps;
  std::istringstream in(slurp(path));
  std::string line;
  while (std::getline(in, line)) {
    const auto doc = json::parse(line);
    steps.emplace_back(doc["step"].get<int64_t>(), doc["loss"].get<double>());
    for (const char* key : {"epoch", "lr", "weight_decay", "grad_norm", "sqrt_vbar",
                            "decay_per_step", "images_per_s", "time"}) {
      EXPECT_TRUE(doc.contains(key)) << key << " in " << line;
    }
  }
  return steps;
}

TEST(CliRecords, StepLogAndTrainLogSurviveAKillAndResume) {
  const auto dir = fresh_dir("steps");
  const std::string run = "train --dataset synthetic --synthetic-train 4096 --synthetic-test 64"
                          " --synthetic-size 12 --model mlp --batch-size 16 --threads 1"
                          " --epochs 2 --log-every 2 --checkpoint-every 7 --progress line --out ";
  ASSERT_EQ(run_swd(run + dir + "/straight").status, 0);
  const auto straight = steps_of(dir + "/straight/steps.jsonl");
  ASSERT_EQ(straight.size(), 256u);  // 2 epochs of 256 steps, every second one
  for (size_t i = 0; i < straight.size(); ++i) EXPECT_EQ(straight[i].first, 2 * int64_t(i + 1));

  const std::string killed = dir + "/killed";
  const auto p = swd_test::spawn_swd(run + killed, dir + "/out.txt");
  ASSERT_TRUE(swd_test::wait_for_file(killed + "/checkpoint.pt", 60, p.pid)) << slurp(p.log_path);
  ::kill(p.pid, SIGKILL);
  ASSERT_EQ(swd_test::wait_for_exit(p.pid, 60), 128 + SIGKILL) << "it finished before the kill";
  const auto r = run_swd("train --resume --progress line --out " + killed);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto resumed = steps_of(killed + "/steps.jsonl");
  ASSERT_EQ(resumed.size(), straight.size());  // none missing, none doubled
  for (size_t i = 0; i < straight.size(); ++i) {
    EXPECT_EQ(resumed[i].first, straight[i].first);
    EXPECT_EQ(resumed[i].second, straight[i].second) << "step " << straight[i].first;
  }
  // train.log: both starts, and every epoch line once
  const std::string log = slurp(killed + "/train.log");
  EXPECT_NE(log.find("== swd train: start at "), std::string::npos) << log;
  EXPECT_NE(log.find("== swd train: resume at "), std::string::npos) << log;
  EXPECT_NE(log.find("step 512 (epoch 2)"), std::string::npos) << log;
  EXPECT_NE(log.find("epoch 2/2  train loss"), std::string::npos) << log;
}

}  // namespace
