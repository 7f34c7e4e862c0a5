// `swd train` end to end on the synthetic dataset: output files, falling loss, determinism,
// resume, and the command-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "swd/run/metrics.h"
#include "swd/util/suggest.h"

namespace fs = std::filesystem;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

const std::string kSmall =
    " --dataset synthetic --synthetic-train 1024 --synthetic-test 256 --synthetic-size 12"
    " --model mlp --batch-size 64 --threads 1 --progress line";

std::string metrics_without_seconds(const std::string& csv) {
  std::string out;
  for (const auto& m : swd::run::parse_metrics_csv(csv)) {
    auto copy = m;
    copy.seconds = 0;
    out += swd::run::metrics_csv_row(copy) + "\n";
  }
  return out;
}

TEST(CliTrain, WritesItsFilesAndTheLossFalls) {
  const auto out = fresh_dir("train") + "/run";
  const auto r = run_swd("train" + kSmall + " --epochs 3 --optimizer adams --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("best test error"), std::string::npos) << r.output;
  const auto rows = swd::run::parse_metrics_csv(slurp(out + "/metrics.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_LT(rows.back().train_loss, rows.front().train_loss);
  EXPECT_LT(rows.back().test_error, 0.5);
  EXPECT_TRUE(rows.back().sqrt_vbar.has_value());   // adams has a vbar
  EXPECT_GT(rows.back().grad_norm, 0);
  EXPECT_GT(rows.back().weight_norm, 0);
  const auto config = nlohmann::json::parse(slurp(out + "/config.json"));
  EXPECT_EQ(config["optimizer"], "adams");
  EXPECT_DOUBLE_EQ(config["lr"].get<double>(), 1e-3);           // resolved default recorded
  EXPECT_DOUBLE_EQ(config["weight-decay"].get<double>(), 5e-4);
  EXPECT_TRUE(fs::exists(out + "/checkpoint.pt"));
}

TEST(CliTrain, ScaleRuleIsAppliedAndRecorded) {
  const auto dir = fresh_dir("scale");
  const std::string args = "train" + kSmall + " --epochs 1 --limit-batches 2 --batch-size 256"
                           " --base-batch-size 128 --optimizer adams --out ";
  ASSERT_EQ(run_swd(args + dir + "/wd --scale-rule wd").status, 0);
  ASSERT_EQ(run_swd(args + dir + "/lr --scale-rule lr").status, 0);
  const auto wd = nlohmann::json::parse(slurp(dir + "/wd/config.json"));
  EXPECT_DOUBLE_EQ(wd["weight-decay"].get<double>(), 5e-4);  // the base value, for reruns
  EXPECT_DOUBLE_EQ(wd["derived"]["scale_k"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(wd["derived"]["weight_decay"].get<double>(), 1e-3);
  EXPECT_DOUBLE_EQ(wd["derived"]["lr"].get<double>(), 1e-3);
  const auto wd_rows = swd::run::parse_metrics_csv(slurp(dir + "/wd/metrics.csv"));
  EXPECT_DOUBLE_EQ(wd_rows.at(0).weight_decay, 1e-3);
  const auto lr_rows = swd::run::parse_metrics_csv(slurp(dir + "/lr/metrics.csv"));
  EXPECT_DOUBLE_EQ(lr_rows.at(0).lr, 2e-3);
  EXPECT_DOUBLE_EQ(lr_rows.at(0).weight_decay, 5e-4);
  // config.json reruns the run: the scaling is applied once, not twice.
  const auto rerun = run_swd("train --config " + dir + "/wd/config.json --out " + dir + "/again");
  ASSERT_EQ(rerun.status, 0) << rerun.output;
  EXPECT_DOUBLE_EQ(swd::run::parse_metrics_csv(slurp(dir + "/again/metrics.csv")).at(0).weight_decay, 1e-3);
}

TEST(CliTrain, SameSeedSameNumbers) {
  const auto dir = fresh_dir("determinism");
  const std::string args = "train" + kSmall + " --epochs 2 --optimizer sgds --seed 5 --out ";
  ASSERT_EQ(run_swd(args + dir + "/a").status, 0);
  ASSERT_EQ(run_swd(args + dir + "/b").status, 0);
  const auto a = metrics_without_seconds(slurp(dir + "/a/metrics.csv"));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, metrics_without_seconds(slurp(dir + "/b/metrics.csv")));
  ASSERT_EQ(run_swd("train" + kSmall + " --epochs 2 --optimizer sgds --seed 6 --out " + dir + "/c").status, 0);
  EXPECT_NE(a, metrics_without_seconds(slurp(dir + "/c/metrics.csv")));
}

TEST(CliTrain, ResumeContinuesToTheSameNumbers) {
  const auto dir = fresh_dir("resume");
  const std::string args = "train" + kSmall + " --optimizer adams --seed 3 --out ";
  ASSERT_EQ(run_swd(args + dir + "/straight --epochs 3").status, 0);
  ASSERT_EQ(run_swd(args + dir + "/split --epochs 1").status, 0);
  const auto r = run_swd("train --resume --out " + dir + "/split --epochs 3 --progress line");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(metrics_without_seconds(slurp(dir + "/straight/metrics.csv")),
            metrics_without_seconds(slurp(dir + "/split/metrics.csv")));
}

TEST(CliTrain, ErrorsAreOneLineWithStatusTwo) {
  const auto dir = fresh_dir("errors");
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases = {
      {"train --model resnet50 --out " + dir + "/x", "resnet50"},
      {"train --optimizer lion --out " + dir + "/x", "lion"},
      {"train --lr -1 --out " + dir + "/x", "lr"},
      {"train --epochs zero --out " + dir + "/x", "zero"},
      {"train --bogus-flag 1", "bogus-flag"},
      {"train --dataset mnist --data-dir " + dir + "/nowhere --out " + dir + "/x", "nowhere"},
      {"train --resume --out " + dir + "/never-ran", "never-ran"},
      {"train --dataset mnist --out " + dir + "/x", "needs --data-dir"},
      {"train --augment --no-augment --out " + dir + "/x", "--no-augment"},
      {"train --limit-test-batches -1 --out " + dir + "/x", "limit-test-batches"},
  };
  for (const auto& c : cases) {
    const auto r = run_swd(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("swd: error:"), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

TEST(CliTrain, AnExistingRunIsNeverOverwritten) {
  const auto out = fresh_dir("keep") + "/run";
  ASSERT_EQ(run_swd("train" + kSmall + " --epochs 1 --out " + out).status, 0);
  const auto before = slurp(out + "/metrics.csv");
  const auto r = run_swd("train" + kSmall + " --epochs 1 --lr 0.5 --out " + out);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(out + "/metrics.csv"), before);
  const auto changed = run_swd("train --resume --out " + out + " --lr 0.5");
  EXPECT_EQ(changed.status, 2);
  EXPECT_NE(changed.output.find("lr"), std::string::npos) << changed.output;
  EXPECT_EQ(slurp(out + "/metrics.csv"), before);
}

}  // namespace

namespace {

TEST(CliTrain, TrainSubsetIsRecordedAndValidated) {
  const auto dir = fresh_dir("subset");
  const std::string args = "train" + kSmall + " --epochs 1 --train-subset 100 --subset-seed 4";
  ASSERT_EQ(run_swd(args + " --seed 1 --out " + dir + "/a").status, 0);
  const auto config = nlohmann::json::parse(slurp(dir + "/a/config.json"));
  EXPECT_EQ(config["train-subset"], 100);
  EXPECT_EQ(config["subset-seed"], 4);
  // 100 samples at batch 64: two steps per epoch (the last one short).
  const auto rows = swd::run::parse_metrics_csv(slurp(dir + "/a/metrics.csv"));
  ASSERT_EQ(rows.size(), 1u);

  for (const char* bad : {"5", "1025", "-1"}) {  // 10 classes, 1024 training samples
    const auto r = run_swd("train" + kSmall + " --epochs 1 --train-subset " + bad + " --out " +
                           dir + "/bad");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir + "/bad/config.json")) << bad;
  }
}

}  // namespace

namespace {

TEST(CliTrain, HelpShowsTypesAndDefaultsAndFlagsHaveANegation) {
  const auto r = run_swd("train --help");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* shown : {"--epochs INT=3", "--batch-size INT=128", "--gamma NUMBER=0.1",
                            "--optimizer TEXT=adams", "--betas B1,B2", "--augment",
                            "--no-augment", "--nesterov", "--no-nesterov", "--log-every INT=0"}) {
    EXPECT_NE(r.output.find(shown), std::string::npos) << shown << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("--no-no-"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--no-resume"), std::string::npos) << r.output;
  // --augment and --no-augment are recorded as true and false
  const auto dir = fresh_dir("flags");
  ASSERT_EQ(run_swd("train" + kSmall + " --epochs 1 --limit-batches 1 --augment --out " + dir + "/on").status, 0);
  ASSERT_EQ(run_swd("train" + kSmall + " --epochs 1 --limit-batches 1 --no-augment --out " + dir + "/off").status, 0);
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/on/config.json"))["augment"], true);
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/off/config.json"))["augment"], false);
}

}  // namespace

TEST(CliTypos, TheNearestValidNameIsSuggested) {
  EXPECT_EQ(swd::util::edit_distance("trian", "train"), 1u);  // a swap counts once
  EXPECT_EQ(swd::util::edit_distance("optimiser", "optimizer"), 1u);
  EXPECT_EQ(swd::util::nearest_name("weight_decay", {"lr", "weight-decay", "wd-schedule"}), "weight-decay");
  EXPECT_EQ(swd::util::nearest_name("zebra", {"train", "sweep", "report", "export"}), "");
  auto expect_error = [](const std::string& args, const std::string& message) {
    const auto r = run_swd(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(swd_test::count(r.output, "\n"), 1u) << r.output;  // one line
  };
  expect_error("trian --epochs 1", "unknown command 'trian' (did you mean 'train'?)");
  expect_error("reprot x", "unknown command 'reprot' (did you mean 'report'?)");
  expect_error("train --optimiser sgd", "unknown option '--optimiser' for swd train (did you mean '--optimizer'?)");
  expect_error("train --weight_decay 0.1", "unknown option '--weight_decay' for swd train (did you mean '--weight-decay'?)");
  expect_error("sweep x.toml --dry_run", "(did you mean '--dry-run'?)");
  const auto dir = swd_test::fresh_dir("cli-typos");
  std::ofstream(dir + "/c.toml") << "epochs = 1\n\n  optimiser = \"sgd\"\n";
  expect_error("train --config " + dir + "/c.toml --out " + dir + "/run",
               "config file " + dir + "/c.toml line 3: unknown configuration key 'optimiser' (did you mean 'optimizer'?)");
  std::ofstream(dir + "/c.json") << "{\n  \"epochs\": 1,\n  \"weight_decai\": 0.1\n}\n";
  expect_error("train --config " + dir + "/c.json --out " + dir + "/run",
               "line 3: unknown configuration key 'weight_decai' (did you mean 'weight-decay'?)");
  EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
}
namespace {

TEST(CliTrain, ResolvedHyperParametersAreRecordedAndAnnounced) {
  const auto dir = fresh_dir("resolved");
  // adamw at lr 0.01 without a weight decay: 5e-4 / 0.01 = 0.05, not torch's 1e-2.
  const auto r = run_swd("train" + kSmall + " --epochs 1 --limit-batches 2 --optimizer adamw --lr 0.01"
                         " --no-decay-bias-norm --out " + dir + "/a");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto config = nlohmann::json::parse(slurp(dir + "/a/config.json"));
  EXPECT_DOUBLE_EQ(config["weight-decay"].get<double>(), 5e-4 / 0.01);
  const auto& derived = config["derived"];
  EXPECT_TRUE(derived["given"]["weight_decay"].is_null());
  EXPECT_DOUBLE_EQ(derived["given"]["lr"].get<double>(), 0.01);
  ASSERT_EQ(derived["groups"].size(), 2u);
  EXPECT_EQ(derived["groups"][0]["role"], "decay");
  EXPECT_DOUBLE_EQ(derived["groups"][0]["weight_decay"].get<double>(), 0.05);
  EXPECT_NE(derived["groups"][0]["weight_decay_from"].get<std::string>().find("default 0.0005 / lr"), std::string::npos);
  EXPECT_EQ(derived["groups"][1]["weight_decay"].get<double>(), 0.0);
  // The banner: before the first epoch, on stdout and in train.log.
  const auto banner = r.output.find("swd train: mlp (");
  ASSERT_NE(banner, std::string::npos) << r.output;
  EXPECT_LT(banner, r.output.find("epoch 1/1"));
  const std::string line = r.output.substr(banner, r.output.find('\n', banner) - banner);
  for (const char* part : {"parameters)", "synthetic: train 1024, test 256", "adamw:",
                           "decay group: lr 0.01 (given), weight decay 0.05 (default 0.0005 / lr",
                           "no decay group:", "schedule lr constant", "1 epoch x 2 steps of batch 64",
                           "| cpu (", "threads 1", "decay budget of the tracked weights: "}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << "\n" << line;
  }
  EXPECT_NE(slurp(dir + "/a/train.log").find(line), std::string::npos);
  // The parameter count is the model's: the mlp on 1 x 12 x 12 inputs.
  const auto count = line.substr(line.find('(') + 1);
  EXPECT_GT(std::stoll(count), 0);
}

TEST(CliTrain, WeightDecayOverLrIsAFlagAppliedOnce) {
  const auto dir = fresh_dir("over-lr");
  const std::string args = "train" + kSmall + " --epochs 1 --limit-batches 2 --optimizer sgdw --lr 0.05"
                           " --weight-decay 1e-3 --lr-schedule step --milestones 0.5";
  const auto r = run_swd(args + " --weight-decay-over-lr --out " + dir + "/a");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto config = nlohmann::json::parse(slurp(dir + "/a/config.json"));
  EXPECT_DOUBLE_EQ(config["weight-decay"].get<double>(), 1e-3 / 0.05);
  EXPECT_FALSE(config.contains("weight-decay-over-lr"));
  EXPECT_DOUBLE_EQ(config["derived"]["given"]["weight_decay"].get<double>(), 1e-3);
  EXPECT_EQ(config["derived"]["given"]["weight_decay_over_lr"], true);
  EXPECT_NE(config["derived"]["weight_decay_from"].get<std::string>().find("weight-decay-over-lr"), std::string::npos);
  // The schedule multiplies the resolved base: lr 0.05 x 0.1 after the milestone; the weight
  // decay keeps its own constant schedule.
  const auto rows = swd::run::parse_metrics_csv(slurp(dir + "/a/metrics.csv"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].lr, 0.05 * 0.1);
  EXPECT_DOUBLE_EQ(rows[0].weight_decay, 1e-3 / 0.05);
  // config.json reruns the run: the division is not applied twice.
  ASSERT_EQ(run_swd("train --config " + dir + "/a/config.json --out " + dir + "/b").status, 0);
  EXPECT_EQ(metrics_without_seconds(slurp(dir + "/a/metrics.csv")),
            metrics_without_seconds(slurp(dir + "/b/metrics.csv")));
  // Resuming keeps the record of how the weight decay was derived, and refuses the flag.
  const auto resumed = run_swd("train --resume --out " + dir + "/a --epochs 2 --progress line");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(slurp(dir + "/a/config.json").find("weight-decay-over-lr)"), std::string::npos);
  const auto again = run_swd("train --resume --out " + dir + "/a --epochs 3 --weight-decay-over-lr");
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_NE(again.output.find("weight-decay-over-lr"), std::string::npos) << again.output;
  // --help has it.
  EXPECT_NE(run_swd("train --help").output.find("--weight-decay-over-lr"), std::string::npos);
}

}  // namespace

namespace {

TEST(CliTrain, ValSplitChoosesTheBestEpochOnHeldOutSamples) {
  const auto dir = fresh_dir("val-split");
  const std::string args = "train" + kSmall + " --epochs 4 --optimizer sgd --lr 0.3 --seed 2";
  const auto r = run_swd(args + " --val-split 200 --val-seed 1 --train-subset 500 --out " + dir + "/val");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto rows = swd::run::parse_metrics_csv(slurp(dir + "/val/metrics.csv"));
  ASSERT_EQ(rows.size(), 4u);
  size_t best = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_FALSE(std::isnan(rows[i].val_error)) << i;
    EXPECT_GT(rows[i].val_loss, 0.0);
    if (rows[i].val_error < rows[best].val_error) best = i;
  }
  // best.pt is the model of that epoch: the last one's model.pt exactly when it is the last.
  EXPECT_EQ(best + 1 == rows.size(), slurp(dir + "/val/best.pt") == slurp(dir + "/val/model.pt"));
  char expected[64];
  std::snprintf(expected, sizeof expected, "best test error %.2f%% (epoch %zu, chosen on validation",
                100 * rows[best].test_error, best + 1);
  EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  EXPECT_NE(r.output.find("validation 200 (held out"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train 500 (class-balanced subset of 824"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" val loss "), std::string::npos) << r.output;
  // metrics.csv: the validation columns last.
  const auto header = slurp(dir + "/val/metrics.csv").substr(0, slurp(dir + "/val/metrics.csv").find('\n'));
  EXPECT_EQ(header.substr(header.rfind(",decay_budget")), ",decay_budget,val_loss,val_error");
  // Without it the best epoch is chosen on the test set, and said so; the columns are empty.
  const auto plain = run_swd(args + " --out " + dir + "/plain");
  ASSERT_EQ(plain.status, 0) << plain.output;
  EXPECT_NE(plain.output.find("chosen on the test set"), std::string::npos) << plain.output;
  EXPECT_TRUE(std::isnan(swd::run::parse_metrics_csv(slurp(dir + "/plain/metrics.csv")).at(0).val_error));
  // A split as large as the training set is one line naming it.
  const auto bad = run_swd(args + " --val-split 1024 --out " + dir + "/bad");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("--val-split: invalid validation split 1024"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir + "/bad/config.json"));
}

}  // namespace

namespace {

TEST(CliTrain, LogEveryLinesReachTheTerminalAboveTheBar) {
  const auto out = fresh_dir("bar-log") + "/run";
  const auto r = run_swd("train --dataset synthetic --synthetic-train 1024 --synthetic-test 256"
                         " --synthetic-size 12 --model mlp --batch-size 64 --threads 1 --progress bar"
                         " --epochs 1 --limit-batches 3 --log-every 1 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  // Each of the 3 steps' lines, each at the start of a line (after a newline, or after the
  // bar's line was cleared).
  EXPECT_EQ(swd_test::count(r.output, " (epoch 1)  loss "), 3u) << r.output;
  for (const char* step : {"step 1 (epoch 1)", "step 2 (epoch 1)", "step 3 (epoch 1)"}) {
    const size_t at = r.output.find(step);
    ASSERT_NE(at, std::string::npos) << step << "\n" << r.output;
    const bool line_start = at == 0 || r.output[at - 1] == '\n' ||
                            (at >= 4 && r.output.compare(at - 4, 4, "\r\033[K") == 0);
    EXPECT_TRUE(line_start) << step << "\n" << r.output;
  }
  EXPECT_EQ(swd_test::count(slurp(out + "/train.log"), " (epoch 1)  loss "), 3u);
}

}  // namespace
