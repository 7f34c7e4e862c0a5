// The optimizers as LibTorch users meet them: construction checks, parameter groups,
// learning-rate access, serialization and resume, edge cases.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "support.h"
#include "test_util.h"

namespace so = swd::optim;
using swd_test::max_rel_error;
using swd_test::Problem;

namespace {

using swd_test::error_of;

std::vector<torch::Tensor> one_param() { return {torch::zeros({2}, torch::requires_grad())}; }

TEST(Validation, RejectsBadValuesNamingThem) {
  struct Case {
    std::function<void()> make;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {[] { so::Adam(one_param(), so::AdamOptions(-1e-3)); }, {"lr", "-0.001"}},
      {[] { so::Adam(one_param(), so::AdamOptions().eps(-1)); }, {"eps", "-1"}},
      {[] { so::Adam(one_param(), so::AdamOptions().weight_decay(-5e-4)); },
       {"weight_decay", "-0.0005"}},
      {[] { so::Adam(one_param(), so::AdamOptions().betas({1.0, 0.999})); }, {"betas[0]", "1"}},
      {[] { so::Adam(one_param(), so::AdamOptions().betas({0.9, -0.1})); }, {"betas[1]", "-0.1"}},
      {[] { so::Adai(one_param(), so::AdaiOptions(0.1).betas({0.1, 1.5})); }, {"betas[1]", "1.5"}},
      {[] { so::Adai(one_param(), so::AdaiOptions(-0.1)); }, {"lr", "-0.1"}},
      {[] { so::SGDS(one_param(), so::SGDOptions(0.1).momentum(1.0)); }, {"momentum", "1"}},
      {[] { so::SGD(one_param(), so::SGDOptions(0.1).momentum(-0.5)); }, {"momentum", "-0.5"}},
      {[] { so::SGD(one_param(), so::SGDOptions(0.1).nesterov(true)); }, {"momentum", "nesterov"}},
      {[] { so::SGD(one_param(), so::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); },
       {"dampening", "0.1", "nesterov"}},
      {[] { so::SGD(one_param(), so::SGDOptions(std::nan(""))); }, {"lr", "nan"}},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.make);
    ASSERT_FALSE(message.empty()) << "no error for a case expecting " << c.expected[0];
    for (const auto& word : c.expected) EXPECT_NE(message.find(word), std::string::npos) << message;
  }
}

TEST(Validation, ChecksEveryGroupAndSaysWhich) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(one_param());
  groups.emplace_back(one_param(), std::make_unique<so::AdamOptions>(so::AdamOptions(-2.0)));
  const auto message = error_of([&] { so::AdamS(groups, so::AdamOptions(1e-3)); });
  EXPECT_NE(message.find("parameter group 1"), std::string::npos) << message;
  EXPECT_NE(message.find("-2"), std::string::npos) << message;
}

TEST(Validation, MomentumOfOneIsFineWithoutStableDecay) {
  EXPECT_NO_THROW(so::SGDW(one_param(), so::SGDOptions(0.1).momentum(1.0)));
}

TEST(Validation, SparseGradientsAreRejectedAtStep) {
  auto p = torch::zeros({4}, torch::requires_grad());
  so::AdamS opt({p}, so::AdamOptions(1e-3));
  p.mutable_grad() = torch::zeros({4}).to_sparse();
  const auto message = error_of([&] { opt.step(); });
  EXPECT_NE(message.find("sparse"), std::string::npos) << message;
}

TEST(Validation, SetGroupWeightDecayValidatesAsConstructionDoes) {
  so::AdamS opt(one_param(), so::AdamOptions(1e-3).weight_decay(5e-4));
  const auto message = error_of([&] { opt.set_group_weight_decay(0, -1e-10); });
  EXPECT_CONTAINS(message, "swd::optim::Adam: invalid weight_decay -1e-10 in parameter group 0 "
                           "(expected weight_decay >= 0)");
  EXPECT_EQ(opt.group_hyper(0).weight_decay, 5e-4);  // unchanged
  EXPECT_THROW(opt.set_group_weight_decay(1, 0.0), std::out_of_range);
  opt.set_group_weight_decay(0, 1e-4);
  EXPECT_EQ(opt.group_hyper(0).weight_decay, 1e-4);
}

TEST(Groups, UnsetFieldsInheritTheOptimizerDefaults) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(one_param());  // no options at all: a copy of the defaults
  groups.emplace_back(one_param(), std::make_unique<so::AdamOptions>(so::AdamOptions(0.5)));
  groups.emplace_back(one_param(),
                      std::make_unique<so::AdamOptions>(so::AdamOptions().weight_decay(0.0)));
  so::Adam opt(groups, so::AdamOptions(1e-2).weight_decay(0.1).betas({0.8, 0.99}).amsgrad(true)
                           .decay(so::Decay::Stable));
  auto options = [&](size_t g) {
    return static_cast<const so::AdamOptions&>(opt.param_groups()[g].options());
  };
  EXPECT_DOUBLE_EQ(options(0).lr(), 1e-2);
  EXPECT_DOUBLE_EQ(options(1).lr(), 0.5);                 // set in the group
  EXPECT_DOUBLE_EQ(options(1).weight_decay(), 0.1);       // inherited, not the struct's 0
  EXPECT_EQ(options(1).decay(), so::Decay::Stable);       // inherited, not the struct's L2
  EXPECT_TRUE(options(1).amsgrad());
  EXPECT_DOUBLE_EQ(std::get<0>(options(1).betas()), 0.8);
  EXPECT_DOUBLE_EQ(options(2).weight_decay(), 0.0);       // explicitly 0 stays 0
  EXPECT_DOUBLE_EQ(options(2).lr(), 1e-2);
  // A group added later is completed at the next step.
  auto late = torch::ones({2}, torch::requires_grad());
  opt.add_param_group(torch::optim::OptimizerParamGroup(
      {late}, std::make_unique<so::AdamOptions>(so::AdamOptions(0.25))));
  late.mutable_grad() = torch::ones({2});
  opt.step();
  EXPECT_DOUBLE_EQ(options(3).weight_decay(), 0.1);
  EXPECT_EQ(options(3).decay(), so::Decay::Stable);
}

TEST(Groups, GetAndSetLrReachEveryGroupAndStepLrWorks) {
  Problem p, q;
  so::SGDS opt({torch::optim::OptimizerParamGroup(p.group_params(0)),
                torch::optim::OptimizerParamGroup(p.group_params(1))},
               so::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
  torch::optim::SGD twin({torch::optim::OptimizerParamGroup(q.group_params(0)),
                          torch::optim::OptimizerParamGroup(q.group_params(1))},
                         torch::optim::SGDOptions(0.1));
  torch::optim::StepLR scheduler(opt, /*step_size=*/2, /*gamma=*/0.1);
  torch::optim::StepLR twin_scheduler(twin, 2, 0.1);
  for (int t = 1; t <= 7; ++t) {
    p.set_gradients(t);
    opt.step();
    scheduler.step();
    twin_scheduler.step();
  }
  const double expected = twin.param_groups()[1].options().get_lr();
  EXPECT_LT(expected, 0.1 * 0.1 * 0.1 * 1.0001);  // StepLR did decay, at least three times
  for (auto& group : opt.param_groups()) EXPECT_DOUBLE_EQ(group.options().get_lr(), expected);
  EXPECT_DOUBLE_EQ(opt.group_hyper(1).lr, expected);
  opt.param_groups()[1].options().set_lr(0.5);
  EXPECT_DOUBLE_EQ(opt.group_hyper(1).lr, 0.5);
  EXPECT_DOUBLE_EQ(opt.group_hyper(0).lr, expected);
}

TEST(Groups, DecayGroupsExemptBiasesAndNormLayers) {
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false)),
                            torch::nn::BatchNorm2d(4), torch::nn::Flatten(),
                            torch::nn::Linear(36, 5), torch::nn::LayerNorm(
                                torch::nn::LayerNormOptions({5})));
  auto split = so::make_decay_groups(*net, so::AdamOptions(1e-3).weight_decay(5e-4));
  // decay: conv weight, linear weight; no decay: bn weight+bias, linear bias, ln weight+bias.
  EXPECT_EQ(split.decay_tensors, 2);
  EXPECT_EQ(split.no_decay_tensors, 5);
  EXPECT_EQ(split.decay_elements, 4 * 3 * 3 * 3 + 36 * 5);
  EXPECT_EQ(split.no_decay_elements, 4 + 4 + 5 + 5 + 5);
  ASSERT_EQ(split.groups.size(), 2u);
  so::AdamS opt(split.groups, so::AdamOptions(1e-3).weight_decay(5e-4));
  EXPECT_DOUBLE_EQ(opt.group_hyper(0).weight_decay, 5e-4);
  EXPECT_DOUBLE_EQ(opt.group_hyper(1).weight_decay, 0.0);
  EXPECT_EQ(opt.group_hyper(1).decay, so::Decay::Stable);
  // A no-decay parameter is not shrunk by a step on a zero gradient; a decayed one is.
  for (auto& param : net->parameters()) param.mutable_grad() = torch::zeros_like(param);
  net->parameters()[0].mutable_grad()[0][0][0][0] = 1.0;  // vbar > 0
  const auto bn_weight = split.groups[1].params()[0].clone();
  const auto linear_weight = split.groups[0].params()[1].clone();
  opt.step();
  EXPECT_TRUE(torch::equal(split.groups[1].params()[0], bn_weight));
  EXPECT_FALSE(torch::equal(split.groups[0].params()[1], linear_weight));
}

TEST(PaperNames, FixTheDecayMode) {
  EXPECT_EQ(so::AdamS(one_param()).group_hyper(0).decay, so::Decay::Stable);
  EXPECT_EQ(so::AdamW(one_param()).group_hyper(0).decay, so::Decay::Decoupled);
  EXPECT_EQ(so::SGDS(one_param(), so::SGDOptions(0.1)).group_hyper(0).decay, so::Decay::Stable);
  EXPECT_EQ(so::SGDW(one_param(), so::SGDOptions(0.1)).group_hyper(0).decay,
            so::Decay::Decoupled);
  EXPECT_EQ(so::AdaiS(one_param(), so::AdaiOptions(0.1)).group_hyper(0).decay,
            so::Decay::Stable);
  EXPECT_EQ(so::Adam(one_param()).group_hyper(0).decay, so::Decay::L2);
}

// Every gradient zero on the first step: vbar = 0. The reference divides by zero (AdamS) or
// produces NaN (Adai). swd applies no stable decay for that step and moves nothing.
TEST(ZeroGradientFirstStep, NoNaNAndNoMovement) {
  std::vector<std::function<std::unique_ptr<torch::optim::Optimizer>(torch::Tensor)>> makers = {
      [](auto p) { return std::make_unique<so::AdamS>(std::vector<torch::Tensor>{p},
                                                      so::AdamOptions(1e-3).weight_decay(5e-4)); },
      [](auto p) { return std::make_unique<so::AdamS>(std::vector<torch::Tensor>{p},
          so::AdamOptions(1e-3).weight_decay(5e-4).amsgrad(true)); },
      [](auto p) { return std::make_unique<so::AdaiS>(std::vector<torch::Tensor>{p},
                                                      so::AdaiOptions(0.1).weight_decay(5e-4)); },
      [](auto p) { return std::make_unique<so::Adai>(std::vector<torch::Tensor>{p},
                                                     so::AdaiOptions(0.1)); },
  };
  for (size_t i = 0; i < makers.size(); ++i) {
    auto p = torch::full({5}, 2.0, torch::kFloat64).set_requires_grad(true);
    auto opt = makers[i](p);
    p.mutable_grad() = torch::zeros_like(p);
    opt->step();
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << "optimizer " << i;
    if (i < 2) EXPECT_TRUE(torch::equal(p, torch::full({5}, 2.0, torch::kFloat64))) << i;
    // The next step with a real gradient is finite and moves the parameter.
    p.mutable_grad() = torch::ones_like(p);
    opt->step();
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << "optimizer " << i;
    EXPECT_LT(p[0].item<double>(), 2.0) << "optimizer " << i;
  }
}

TEST(Steps, WithoutAnyGradientNothingHappens) {
  auto p = torch::ones({3}, torch::requires_grad());
  so::AdamS opt({p}, so::AdamOptions(1e-3).weight_decay(0.1));
  opt.step();
  EXPECT_TRUE(torch::equal(p, torch::ones({3})));
  EXPECT_FALSE(opt.vbar().defined());
}

TEST(Steps, ClosureIsEvaluatedWithGradEnabled) {
  auto p = torch::ones({3}, torch::requires_grad());
  so::AdamS opt({p}, so::AdamOptions(0.1));
  auto loss = opt.step([&] {
    opt.zero_grad();
    auto l = (p * p).sum();
    l.backward();
    return l;
  });
  EXPECT_DOUBLE_EQ(loss.item<double>(), 3.0);
  EXPECT_LT(p[0].item<float>(), 1.0f);
}

TEST(Steps, Float32FollowsFloat64) {
  for (const char* name : {"adams", "sgds", "adais", "amsgrads"}) {
    const auto& scenario = swd_test::golden()["scenarios"][name];
    Problem p64(torch::kFloat64), p32(torch::kFloat32);
    auto opt64 = swd_test::make_swd_optimizer(scenario, p64);
    auto opt32 = swd_test::make_swd_optimizer(scenario, p32);
    swd_test::run_problem(p64, *opt64, 50);
    swd_test::run_problem(p32, *opt32, 50);
    for (auto& [param_name, p] : p64.params) {
      EXPECT_EQ(p32.params[param_name].scalar_type(), torch::kFloat32);
      EXPECT_LT(max_rel_error(p32.params[param_name], p), 1e-3) << name << "/" << param_name;
    }
  }
}

// Save mid-run, load into a fresh optimizer over fresh parameters, continue: identical to the
// run that never stopped, including a learning rate changed before the save.
class SerializationRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(SerializationRoundTrip, ResumedRunEqualsUninterruptedRun) {
  const auto& scenario = swd_test::golden()["scenarios"][GetParam()];
  const auto path = std::filesystem::temp_directory_path() /
                    ("swd_optim_" + GetParam() + "_" + std::to_string(::getpid()) + ".pt");
  Problem straight;
  auto opt = swd_test::make_swd_optimizer(scenario, straight);
  swd_test::run_problem(straight, *opt, 70);  // past the lr drop at step 60
  torch::save(*opt, path.string());
  std::map<std::string, torch::Tensor> saved_params;
  for (auto& [name, p] : straight.params) saved_params[name] = p.detach().clone();

  Problem resumed;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : resumed.params) p.copy_(saved_params[name]);
  }
  auto opt2 = swd_test::make_swd_optimizer(scenario, resumed);
  torch::load(*opt2, path.string());
  std::filesystem::remove(path);
  EXPECT_DOUBLE_EQ(opt2->param_groups()[0].options().get_lr(),
                   opt->param_groups()[0].options().get_lr());
  for (int t = 71; t <= 100; ++t) {
    straight.set_gradients(t);
    resumed.set_gradients(t);
    opt->step();
    opt2->step();
  }
  for (auto& [name, p] : straight.params) {
    EXPECT_TRUE(torch::equal(p, resumed.params[name])) << GetParam() << "/" << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, SerializationRoundTrip,
                         ::testing::Values("sgds", "adams", "amsgrads", "adais", "adamw"),
                         [](const auto& info) { return info.param; });

}  // namespace
