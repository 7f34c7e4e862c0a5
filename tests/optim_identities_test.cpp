// Identities between members of the family that must hold whatever the implementation.
#include <torch/torch.h>

#include "support.h"

namespace so = swd::optim;
using swd_test::max_rel_error;
using swd_test::Problem;

namespace {

template <typename MakeA, typename MakeB>
void expect_same_trajectory(MakeA make_a, MakeB make_b, int steps = 100, double tol = 1e-12) {
  Problem a, b;
  auto opt_a = make_a(a);
  auto opt_b = make_b(b);
  for (int t = 1; t <= steps; ++t) {
    a.set_gradients(t);
    b.set_gradients(t);
    opt_a->step();
    opt_b->step();
    for (auto& [name, p] : a.params) {
      ASSERT_LT(max_rel_error(p, b.params[name]), tol) << name << " at step " << t;
    }
  }
}

std::vector<torch::optim::OptimizerParamGroup> all_groups(Problem& p) {
  return {torch::optim::OptimizerParamGroup(p.group_params(0)),
          torch::optim::OptimizerParamGroup(p.group_params(1))};
}

TEST(Identities, SgdsWithoutMomentumIsSgdw) {
  expect_same_trajectory(
      [](Problem& p) {
        return std::make_unique<so::SGDS>(all_groups(p), so::SGDOptions(0.05).weight_decay(0.1));
      },
      [](Problem& p) {
        return std::make_unique<so::SGDW>(all_groups(p), so::SGDOptions(0.05).weight_decay(0.1));
      });
}

TEST(Identities, SgdsWithMomentumDiffersFromSgdw) {
  // Guards the identity test above against a decay mode that is ignored altogether.
  Problem a, b;
  so::SGDS sgds(all_groups(a), so::SGDOptions(0.05).momentum(0.9).weight_decay(0.1));
  so::SGDW sgdw(all_groups(b), so::SGDOptions(0.05).momentum(0.9).weight_decay(0.1));
  for (int t = 1; t <= 5; ++t) {
    a.set_gradients(t);
    b.set_gradients(t);
    sgds.step();
    sgdw.step();
  }
  EXPECT_GT(max_rel_error(a.params["A"], b.params["A"]), 1e-6);
}

TEST(Identities, StableWithoutWeightDecayIsL2WithoutWeightDecay) {
  expect_same_trajectory(
      [](Problem& p) {
        return std::make_unique<so::SGDS>(all_groups(p), so::SGDOptions(0.05).momentum(0.9));
      },
      [](Problem& p) {
        return std::make_unique<so::SGD>(all_groups(p), so::SGDOptions(0.05).momentum(0.9));
      });
  expect_same_trajectory(
      [](Problem& p) {
        return std::make_unique<so::AdamS>(all_groups(p), so::AdamOptions(1e-2).weight_decay(0));
      },
      [](Problem& p) { return std::make_unique<so::Adam>(all_groups(p), so::AdamOptions(1e-2)); });
  expect_same_trajectory(
      [](Problem& p) {
        return std::make_unique<so::AdamS>(all_groups(p),
                                           so::AdamOptions(1e-2).amsgrad(true).weight_decay(0));
      },
      [](Problem& p) {
        return std::make_unique<so::Adam>(all_groups(p), so::AdamOptions(1e-2).amsgrad(true));
      });
  expect_same_trajectory(
      [](Problem& p) { return std::make_unique<so::AdaiS>(all_groups(p), so::AdaiOptions(0.05)); },
      [](Problem& p) { return std::make_unique<so::Adai>(all_groups(p), so::AdaiOptions(0.05)); });
}

TEST(Identities, AdaiDecoupledIsAdaiStable) {
  expect_same_trajectory(
      [](Problem& p) {
        return std::make_unique<so::Adai>(
            all_groups(p), so::AdaiOptions(0.05).weight_decay(0.1).decay(so::Decay::Decoupled));
      },
      [](Problem& p) {
        return std::make_unique<so::AdaiS>(all_groups(p), so::AdaiOptions(0.05).weight_decay(0.1));
      });
}

// With gradients of constant magnitude c (random signs), vhat = c^2 for every element at every
// step, so vbar = c^2 and AdamS decays by eta*lambda/c: AdamW with weight decay lambda/c.
TEST(Identities, AdamsWithConstantGradientScaleIsAdamwWithRescaledDecay) {
  const double c = 0.25, lambda = 0.02, lr = 1e-2;
  torch::manual_seed(3);
  auto init = torch::randn({50}, torch::kFloat64);
  auto p1 = init.clone().set_requires_grad(true);
  auto p2 = init.clone().set_requires_grad(true);
  so::AdamS adams({p1}, so::AdamOptions(lr).weight_decay(lambda));
  so::AdamW adamw({p2}, so::AdamOptions(lr).weight_decay(lambda / c));
  for (int t = 0; t < 200; ++t) {
    auto signs = torch::randint(0, 2, {50}, torch::kFloat64).mul_(2).sub_(1);
    p1.mutable_grad() = signs * c;
    p2.mutable_grad() = signs * c;
    adams.step();
    adamw.step();
    ASSERT_NEAR(std::sqrt(adams.vbar().item<double>()), c, 1e-12) << "step " << t;
  }
  EXPECT_LT(max_rel_error(p1, p2), 1e-10);
  EXPECT_GT(max_rel_error(p1, init), 1e-3);
}

// On the CPU the scale 1/sqrt(vbar) is computed on the host; it must be the very number the
// tensor formula (used on other devices) gives.
TEST(Identities, AdamsScaleOnTheHostIsTheTensorFormulaExactly) {
  for (bool fused : {true, false}) {
    Problem problem;
    so::AdamS adams(all_groups(problem), so::AdamOptions(1e-3).weight_decay(5e-4).fused(fused));
    for (int t = 1; t <= 5; ++t) {
      problem.set_gradients(t);
      adams.step();
      const auto& vbar = adams.vbar();
      const double tensor_scale = vbar.sqrt().reciprocal().masked_fill(vbar <= 0, 0.0).item<double>();
      ASSERT_EQ(adams.decay_per_step(0).value(), 1e-3 * 5e-4 * tensor_scale)
          << (fused ? "fused" : "reference") << " path, step " << t;
    }
  }
}

TEST(Identities, StableDecayFollowsTheEffectiveLearningRate) {
  // SGDS decays by eta*lambda*(1-d)/(1-mu) per step: check one step on a zero gradient.
  auto p = torch::ones({3}, torch::kFloat64).set_requires_grad(true);
  so::SGDS sgds({p}, so::SGDOptions(0.1).momentum(0.9).dampening(0.5).weight_decay(0.01));
  p.mutable_grad() = torch::zeros({3}, torch::kFloat64);
  sgds.step();
  EXPECT_NEAR(p[0].item<double>(), 1 - 0.1 * 0.01 * 0.5 / 0.1, 1e-15);
}

}  // namespace
