// The optimizers against their references, in float64, step for step:
//  - every golden scenario of tests/golden/make_golden.py (the authors' SGDS/AdamS/Adai/AdaiS
//    rules and torch.optim's, transcribed independently in Python);
//  - LibTorch's own SGD/Adam/AdamW in this process, on the same problem and on a small MLP.
#include <torch/torch.h>

#include "support.h"

namespace so = swd::optim;
using swd_test::golden;
using swd_test::max_rel_error;
using swd_test::Problem;

namespace {
constexpr double kTolerance = 1e-9;

/// (scenario name, fused path?)
class GoldenScenario : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(GoldenScenario, MatchesReferenceTrajectory) {
  const auto& g = golden();
  const std::string name = std::get<0>(GetParam());
  const bool fused = std::get<1>(GetParam());
  const auto& scenario = g["scenarios"][name];
  Problem problem;
  auto opt = swd_test::make_swd_optimizer(scenario, problem, fused);
  const auto frozen_before = problem.params["frozen"].clone();
  int checked = 0;
  swd_test::run_problem(problem, *opt, g["steps"].get<int>(), [&](int t) {
    const auto key = std::to_string(t);
    if (!scenario["trajectory"].contains(key)) return;
    for (const auto& [param_name, values] : scenario["trajectory"][key].items()) {
      const auto expected = swd_test::tensor_from(values, g["shapes"][param_name]);
      EXPECT_LT(max_rel_error(problem.params[param_name], expected), kTolerance)
          << name << (fused ? " (fused)" : " (reference)") << ", parameter " << param_name
          << ", step " << t;
    }
    ++checked;
  });
  EXPECT_GE(checked, 10);
  EXPECT_EQ(static_cast<so::OptimizerBase&>(*opt).fused_parameters(), fused ? 3u : 0u);
  EXPECT_TRUE(torch::equal(problem.params["frozen"], frozen_before))
      << "a parameter without gradient must be neither decayed nor moved";
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& item : golden()["scenarios"].items()) names.push_back(item.key());
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllScenarios, GoldenScenario,
                         ::testing::Combine(::testing::ValuesIn(scenario_names()),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) ? "_fused" : "_reference");
                         });

// ---- In-process comparison with LibTorch's optimizers ------------------------------------

/// Two copies of the golden problem, one stepped by swd, one by LibTorch, in lockstep; every
/// parameter compared after every step.
template <typename TorchOptions, typename SwdOptions>
void expect_same_as_libtorch(
    const std::function<TorchOptions(double lr, double wd)>& torch_options,
    const std::function<SwdOptions(double lr, double wd)>& swd_options,
    const std::function<std::unique_ptr<torch::optim::Optimizer>(
        std::vector<torch::optim::OptimizerParamGroup>)>& make_torch,
    const std::function<std::unique_ptr<torch::optim::Optimizer>(
        std::vector<torch::optim::OptimizerParamGroup>)>& make_swd) {
  const double lrs[2] = {0.03, 0.01};
  const double wds[2] = {0.05, 0.3};
  Problem ours, theirs;
  std::vector<torch::optim::OptimizerParamGroup> our_groups, their_groups;
  for (size_t g = 0; g < 2; ++g) {
    our_groups.emplace_back(ours.group_params(g),
                            std::make_unique<SwdOptions>(swd_options(lrs[g], wds[g])));
    their_groups.emplace_back(theirs.group_params(g),
                              std::make_unique<TorchOptions>(torch_options(lrs[g], wds[g])));
  }
  auto swd_opt = make_swd(std::move(our_groups));
  auto torch_opt = make_torch(std::move(their_groups));
  const int steps = golden()["steps"].get<int>();
  ASSERT_GE(steps, 100);
  for (int t = 1; t <= steps; ++t) {
    ours.set_gradients(t);
    theirs.set_gradients(t);
    swd_opt->step();
    torch_opt->step();
    swd_test::drop_lr_if_due(*swd_opt, t);
    swd_test::drop_lr_if_due(*torch_opt, t);
    for (auto& [name, p] : ours.params) {
      ASSERT_LT(max_rel_error(p, theirs.params[name]), kTolerance)
          << "parameter " << name << " at step " << t;
    }
  }
}

template <typename T>
auto make(std::vector<torch::optim::OptimizerParamGroup> groups) {
  return std::unique_ptr<torch::optim::Optimizer>(new T(std::move(groups), {}));
}

struct SgdCase {
  const char* name;
  double momentum, dampening;
  bool nesterov;
};

void PrintTo(const SgdCase& c, std::ostream* os) { *os << c.name; }

class SgdL2VersusLibTorch : public ::testing::TestWithParam<SgdCase> {};

TEST_P(SgdL2VersusLibTorch, SameTrajectory) {
  const auto c = GetParam();
  expect_same_as_libtorch<torch::optim::SGDOptions, so::SGDOptions>(
      [&](double lr, double wd) {
        return torch::optim::SGDOptions(lr).momentum(c.momentum).dampening(c.dampening)
            .nesterov(c.nesterov).weight_decay(wd);
      },
      [&](double lr, double wd) {
        return so::SGDOptions(lr).momentum(c.momentum).dampening(c.dampening)
            .nesterov(c.nesterov).weight_decay(wd).decay(so::Decay::L2);
      },
      [](auto groups) {
        return std::unique_ptr<torch::optim::Optimizer>(
            new torch::optim::SGD(std::move(groups), torch::optim::SGDOptions(1.0)));
      },
      [](auto groups) {
        return std::unique_ptr<torch::optim::Optimizer>(
            new so::SGD(std::move(groups), so::SGDOptions(1.0)));
      });
}

INSTANTIATE_TEST_SUITE_P(
    Variants, SgdL2VersusLibTorch,
    ::testing::Values(SgdCase{"plain", 0.0, 0.0, false}, SgdCase{"momentum", 0.9, 0.0, false},
                      SgdCase{"dampening", 0.9, 0.25, false},
                      SgdCase{"nesterov", 0.9, 0.0, true}),
    [](const auto& info) { return std::string(info.param.name); });

class AdamVersusLibTorch : public ::testing::TestWithParam<bool> {};

TEST_P(AdamVersusLibTorch, L2IsTorchAdam) {
  const bool amsgrad = GetParam();
  expect_same_as_libtorch<torch::optim::AdamOptions, so::AdamOptions>(
      [&](double lr, double wd) {
        return torch::optim::AdamOptions(lr).betas({0.85, 0.995}).eps(1e-7).weight_decay(wd)
            .amsgrad(amsgrad);
      },
      [&](double lr, double wd) {
        return so::AdamOptions(lr).betas({0.85, 0.995}).eps(1e-7).weight_decay(wd)
            .amsgrad(amsgrad).decay(so::Decay::L2);
      },
      make<torch::optim::Adam>, make<so::Adam>);
}

TEST_P(AdamVersusLibTorch, DecoupledIsTorchAdamW) {
  const bool amsgrad = GetParam();
  expect_same_as_libtorch<torch::optim::AdamWOptions, so::AdamOptions>(
      [&](double lr, double wd) {
        return torch::optim::AdamWOptions(lr).weight_decay(wd).amsgrad(amsgrad);
      },
      [&](double lr, double wd) {
        return so::AdamOptions(lr).weight_decay(wd).amsgrad(amsgrad).decay(so::Decay::Decoupled);
      },
      make<torch::optim::AdamW>, make<so::AdamW>);
}

INSTANTIATE_TEST_SUITE_P(AmsGrad, AdamVersusLibTorch, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "amsgrad" : "adam"; });

// Whole training steps of a small MLP (forward, backward, step) against LibTorch, with a
// learning-rate schedule from LibTorch's StepLR driving both optimizers.
TEST(WholeTrainingSteps, MlpWithStepLrMatchesLibTorch) {
  torch::manual_seed(7);
  auto make_net = [] {
    return torch::nn::Sequential(torch::nn::Linear(6, 16), torch::nn::Tanh(),
                                 torch::nn::Linear(16, 3));
  };
  auto ours = make_net();
  auto theirs = make_net();
  ours->to(torch::kFloat64);
  theirs->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < ours->parameters().size(); ++i) {
      theirs->parameters()[i].copy_(ours->parameters()[i]);
    }
  }
  so::AdamW swd_opt(ours->parameters(), so::AdamOptions(3e-3).weight_decay(0.1));
  torch::optim::AdamW torch_opt(theirs->parameters(),
                                torch::optim::AdamWOptions(3e-3).weight_decay(0.1));
  torch::optim::StepLR swd_sched(swd_opt, 20, 0.5), torch_sched(torch_opt, 20, 0.5);
  auto x = torch::randn({32, 6}, torch::kFloat64);
  auto y = torch::randint(0, 3, {32});
  for (int step = 0; step < 60; ++step) {
    for (auto* pair : {&ours, &theirs}) {
      (*pair)->zero_grad();
      torch::nn::functional::cross_entropy((*pair)->forward(x), y).backward();
    }
    swd_opt.step();
    torch_opt.step();
    swd_sched.step();
    torch_sched.step();
  }
  EXPECT_DOUBLE_EQ(swd_opt.param_groups()[0].options().get_lr(),
                   torch_opt.param_groups()[0].options().get_lr());
  EXPECT_LT(swd_opt.param_groups()[0].options().get_lr(), 3e-3 * 0.3);  // StepLR did decay
  for (size_t i = 0; i < ours->parameters().size(); ++i) {
    EXPECT_LT(max_rel_error(ours->parameters()[i], theirs->parameters()[i]), kTolerance);
  }
}

}  // namespace
