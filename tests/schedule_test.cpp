// Learning-rate / weight-decay schedules and the batch-size scaling rules.
#include <gtest/gtest.h>

#include <cmath>

#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"

namespace ss = swd::schedule;

TEST(Schedule, StepIsThePapersPattern) {
  auto s = ss::make_schedule({ss::ScheduleKind::Step, {80, 160}, 0.1}, 200);
  EXPECT_DOUBLE_EQ(s->factor(0), 1.0);
  EXPECT_DOUBLE_EQ(s->factor(79.99), 1.0);
  EXPECT_DOUBLE_EQ(s->factor(80), 0.1);
  EXPECT_DOUBLE_EQ(s->factor(159.5), 0.1);
  EXPECT_NEAR(s->factor(160), 0.01, 1e-17);
}

TEST(Schedule, StepDefaultsToFortyAndEightyPercent) {
  auto s = ss::make_schedule({ss::ScheduleKind::Step, {}, 0.1}, 10);
  EXPECT_DOUBLE_EQ(s->factor(3.9), 1.0);
  EXPECT_DOUBLE_EQ(s->factor(4), 0.1);
  EXPECT_NEAR(s->factor(8), 0.01, 1e-17);
  EXPECT_NE(s->describe().find("4,8"), std::string::npos) << s->describe();
  // A length whose 40% is not a whole number reads as written, not 2.4000000000000004.
  EXPECT_EQ(ss::make_schedule({ss::ScheduleKind::Step, {}, 0.1}, 6)->describe(),
            "step(milestones=2.4,4.8; gamma=0.1)");
}

TEST(Schedule, StepDefaultsScaleWithTheStepsOfShortRuns) {
  // A 1-epoch run of 100 steps: lr x1 for steps 0-39, x0.1 for 40-79, x0.01 for 80-99 (the
  // trainer's progress is epoch + step / steps per epoch), not x0.01 throughout.
  auto s = ss::make_schedule({ss::ScheduleKind::Step, {}, 0.1}, 1);
  double sum = 0;
  for (int step = 0; step < 100; ++step) sum += s->factor(step / 100.0);
  EXPECT_NEAR(sum, 40 + 4 + 0.2, 1e-12);
  auto longer = ss::make_schedule({ss::ScheduleKind::Step, {}, 0.1}, 3);  // the sum scales with the length
  double sum3 = 0;
  for (int step = 0; step < 300; ++step) sum3 += longer->factor(step / 100.0);
  EXPECT_NEAR(sum3, 3 * sum, 1e-9);
  // Whole-epoch milestones still change at epoch boundaries.
  auto whole = ss::make_schedule({ss::ScheduleKind::Step, {2}, 0.1}, 4);
  EXPECT_DOUBLE_EQ(whole->factor(1.99), 1.0);
  EXPECT_DOUBLE_EQ(whole->factor(2.0), 0.1);
}

TEST(Schedule, CosineGoesFromOneToItsFloor) {
  auto s = ss::make_schedule({ss::ScheduleKind::Cosine, {}, 0.1, 0.1}, 10);
  EXPECT_DOUBLE_EQ(s->factor(0), 1.0);
  EXPECT_NEAR(s->factor(5), 0.55, 1e-15);
  EXPECT_NEAR(s->factor(10), 0.1, 1e-15);
  EXPECT_NEAR(s->factor(12), 0.1, 1e-15);
}

TEST(Schedule, WarmupRampsThenHandsOver) {
  auto s = ss::make_schedule({ss::ScheduleKind::Step, {4}, 0.5, 0.0, 2.0}, 10);
  EXPECT_DOUBLE_EQ(s->factor(0), 0.0);
  EXPECT_DOUBLE_EQ(s->factor(1), 0.5);
  EXPECT_DOUBLE_EQ(s->factor(3), 1.0);
  EXPECT_DOUBLE_EQ(s->factor(4), 0.5);
}

TEST(Schedule, BadSpecsNameTheProblem) {
  auto message = [](const ss::ScheduleSpec& spec) {
    try {
      ss::make_schedule(spec, 10);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  try {
    ss::schedule_kind_from_string("linear");
    ADD_FAILURE() << "linear was taken for a schedule kind";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'linear'"), std::string::npos) << e.what();
  }
  EXPECT_NE(message({ss::ScheduleKind::Step, {5, 3}}).find("5,3"), std::string::npos);
  EXPECT_NE(message({ss::ScheduleKind::Step, {}, -0.1}).find("-0.1"), std::string::npos);
  EXPECT_NE(message({ss::ScheduleKind::Constant, {}, 0.1, 0.0, -1}).find("-1"), std::string::npos);
  // Given milestones act within the 10-epoch run, once: 0 < m < 10, increasing.
  for (const std::vector<double>& bad : {std::vector<double>{0}, {10}, {12, 15}, {10.5}, {2, 2}, {3, 2.5}}) {
    EXPECT_NE(message({ss::ScheduleKind::Step, bad}).find("within the run of 10 epochs, each > 0 and < 10"),
              std::string::npos);
  }
  EXPECT_EQ(message({ss::ScheduleKind::Step, {9.5}}), "");  // from the step at which 9.5 epochs are done
  for (const std::vector<double>& good : {std::vector<double>{1}, {9}, {0.5, 8.5}, {2, 3, 4}}) {
    EXPECT_EQ(message({ss::ScheduleKind::Step, good}), "");
  }
}

TEST(ScalingRule, KeepsEtaLambdaOverBConstant) {
  const double lr = 1e-3, wd = 5e-4;
  for (auto rule : {ss::ScaleRule::LearningRate, ss::ScaleRule::WeightDecay}) {
    const auto h = ss::scale_hyperparameters(rule, lr, wd, 128, 1024);
    EXPECT_DOUBLE_EQ(h.k, 8.0);
    EXPECT_NEAR(h.lr * h.weight_decay / 1024, lr * wd / 128, 1e-20) << ss::to_string(rule);
  }
  const auto wd_rule = ss::scale_hyperparameters(ss::ScaleRule::WeightDecay, lr, wd, 128, 512);
  EXPECT_DOUBLE_EQ(wd_rule.lr, lr);
  EXPECT_DOUBLE_EQ(wd_rule.weight_decay, 4 * wd);
  const auto lr_rule = ss::scale_hyperparameters(ss::ScaleRule::LearningRate, lr, wd, 128, 512);
  EXPECT_DOUBLE_EQ(lr_rule.lr, 4 * lr);
  EXPECT_DOUBLE_EQ(lr_rule.weight_decay, wd);
  const auto none = ss::scale_hyperparameters(ss::ScaleRule::None, lr, wd, 128, 512);
  EXPECT_DOUBLE_EQ(none.lr, lr);
  EXPECT_DOUBLE_EQ(none.weight_decay, wd);
  EXPECT_THROW(ss::scale_hyperparameters(ss::ScaleRule::None, lr, wd, 0, 512),
               std::invalid_argument);
  EXPECT_EQ(ss::scale_rule_from_string("wd"), ss::ScaleRule::WeightDecay);
  EXPECT_THROW(ss::scale_rule_from_string("both"), std::invalid_argument);
}
