// Deferred readback (one process, --on-nonfinite stop): a step's numbers stay on the device
// until the host needs them. The runs must be bitwise the runs that read every step back
// (--on-nonfinite skip, which decides each step on the host, takes the per-step path), and a
// non-finite step between two readbacks must stop the run naming that step, with no
// checkpoint written from the state after it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>

#include "../src/run/tensor_file.h"
#include "cli_support.h"
#include "swd/run/checkpoint.h"
#include "swd/run/metrics.h"

using swd_test::fresh_dir;
using swd_test::rows_without_seconds;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

// 2 epochs x 16 steps (2 micro-batches each) of a small MLP under AdamS.
const std::string kRun =
    "train --dataset synthetic --synthetic-train 512 --synthetic-test 128 --synthetic-size 8"
    " --model mlp --batch-size 32 --epochs 2 --optimizer adams --threads 1 --workers 1"
    " --seed 5 --accumulate 2";

/// steps.jsonl without the fields that measure time (images_per_s, time).
std::string steps_without_times(const std::string& dir) {
  std::string out;
  const std::string text = slurp(dir + "/steps.jsonl");
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    const auto cut = line.find(",\"images_per_s\"");
    out += (cut == std::string::npos ? line : line.substr(0, cut)) + "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

/// Every tensor of the checkpoint (model, optimizer state) and the epoch's running totals.
void expect_same_checkpoint(const std::string& a, const std::string& b) {
  const auto fa = swd::run::decode_tensor_file(slurp(a + "/checkpoint.pt"));
  const auto fb = swd::run::decode_tensor_file(slurp(b + "/checkpoint.pt"));
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  ASSERT_FALSE(fa.tensors.empty());
  for (const auto& [name, t] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, fb.tensors.at(name))) << name << " differs";
  }
  const auto ia = swd::run::read_checkpoint_info(a + "/checkpoint.pt");
  const auto ib = swd::run::read_checkpoint_info(b + "/checkpoint.pt");
  EXPECT_EQ(ia.position.steps_done, ib.position.steps_done);
  EXPECT_EQ(ia.partial.loss_sum, ib.partial.loss_sum);
  EXPECT_EQ(ia.partial.wrong, ib.partial.wrong);
  EXPECT_EQ(ia.partial.seen, ib.partial.seen);
  EXPECT_EQ(ia.partial.steps, ib.partial.steps);
  EXPECT_EQ(ia.partial.grad_norm_sum, ib.partial.grad_norm_sum);
  EXPECT_EQ(ia.partial.grad_norm_sq_sum, ib.partial.grad_norm_sq_sum);
}

struct Case {
  const char* name;
  const char* flags;
};

class DeferredReadback : public ::testing::TestWithParam<Case> {};

TEST_P(DeferredReadback, IsBitwiseThePerStepRun) {
  const auto dir = fresh_dir(std::string("readback-") + GetParam().name);
  const std::string run = kRun + " " + GetParam().flags;
  const auto deferred = run_swd(run + " --out " + dir + "/deferred");
  ASSERT_EQ(deferred.status, 0) << deferred.output;
  const auto per_step = run_swd(run + " --on-nonfinite skip --out " + dir + "/per-step");
  ASSERT_EQ(per_step.status, 0) << per_step.output;
  EXPECT_EQ(rows_without_seconds(dir + "/deferred"), rows_without_seconds(dir + "/per-step"));
  EXPECT_EQ(swd::run::parse_metrics_csv(slurp(dir + "/deferred/metrics.csv")).size(), 2u);
  EXPECT_EQ(steps_without_times(dir + "/deferred"), steps_without_times(dir + "/per-step"));
  expect_same_checkpoint(dir + "/deferred", dir + "/per-step");
}

INSTANTIATE_TEST_SUITE_P(
    Settings, DeferredReadback,
    ::testing::Values(Case{"epoch-ends", "--progress none"},
                      Case{"log-checkpoint", "--progress line --log-every 3 --checkpoint-every 5"},
                      Case{"log-every-step", "--progress none --log-every 1 --limit-batches 11"},
                      Case{"bar", "--progress bar --checkpoint-every 7 --lr-schedule step"}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (auto& c : name) c = c == '-' ? '_' : c;
      return name;
    });

// A checkpoint mid-epoch carries the running totals read back at that step: killed right
// after it, the two runs leave the same checkpoint.
TEST(Readback, MidEpochCheckpointHoldsTheSameTotals) {
  const auto dir = fresh_dir("readback-mid-epoch");
  const std::string run = kRun + " --progress none --checkpoint-every 5";
  ::setenv("SWD_TEST_KILL_AFTER_CHECKPOINT", "10", 1);
  const auto deferred = run_swd(run + " --out " + dir + "/deferred");
  const auto per_step = run_swd(run + " --on-nonfinite skip --out " + dir + "/per-step");
  ::unsetenv("SWD_TEST_KILL_AFTER_CHECKPOINT");
  ASSERT_NE(deferred.status, 0) << deferred.output;
  ASSERT_NE(per_step.status, 0) << per_step.output;
  expect_same_checkpoint(dir + "/deferred", dir + "/per-step");
  EXPECT_EQ(swd::run::read_checkpoint_info(dir + "/deferred/checkpoint.pt").partial.steps, 10);
}

/// "non-finite ... (training batch N)" of a run's output, and N.
std::pair<std::string, int64_t> nonfinite_message(const std::string& output) {
  const auto start = output.find("non-finite");
  if (start == std::string::npos) return {"", 0};
  const auto end = output.find(')', start);
  const std::string message = output.substr(start, end + 1 - start);
  const auto n = message.find("training batch ");
  return {message, n == std::string::npos ? 0 : std::atoll(message.c_str() + n + 15)};
}

// SGD whose lr is multiplied by 1e30 from epoch 3 on: the loss turns non-finite at its second
// step (training batch 18), between two of the deferred run's readbacks (the checkpoints
// every 4th step); the run that reads every step back (--log-every 1) stops at the same step.
TEST(Readback, ANonFiniteStepBetweenReadbacksIsNamedAndNotCheckpointed) {
  const auto dir = fresh_dir("readback-nonfinite");
  const std::string run =
      "train --dataset synthetic --synthetic-train 256 --synthetic-test 64 --synthetic-size 8"
      " --model mlp --batch-size 32 --epochs 3 --optimizer sgd --lr 0.1 --lr-schedule step"
      " --milestones 2 --gamma 1e30 --threads 1 --workers 1 --progress none"
      " --checkpoint-every 4";
  const auto deferred = run_swd(run + " --out " + dir + "/deferred");
  const auto per_step = run_swd(run + " --log-every 1 --out " + dir + "/per-step");
  EXPECT_EQ(deferred.status, 3) << deferred.output;
  EXPECT_EQ(per_step.status, 3) << per_step.output;
  const auto [message, batch] = nonfinite_message(deferred.output);
  EXPECT_EQ(message, nonfinite_message(per_step.output).first) << deferred.output;
  EXPECT_NE(message.find("of epoch 3"), std::string::npos) << message;
  ASSERT_GT(batch, 16);  // in epoch 3 (8 steps an epoch)
  EXPECT_NE(batch % 4, 0) << "the step is a readback of the deferred run: " << message;
  // The checkpoint is the last one before the step, its weights finite.
  const auto info = swd::run::read_checkpoint_info(dir + "/deferred/checkpoint.pt");
  EXPECT_EQ(info.position.steps_done, batch / 4 * 4);
  for (const auto& [name, t] : swd::run::decode_tensor_file(slurp(dir + "/deferred/checkpoint.pt")).tensors) {
    if (t.is_floating_point()) EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
  }
  expect_same_checkpoint(dir + "/deferred", dir + "/per-step");
}

}  // namespace
