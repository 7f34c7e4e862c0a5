// Numerical hazards of the optimizers, each pinned by a test through the public API:
//  - the fused path's running sum of v stays the sum of the float32 v it summarises over long
//    runs (Stable Adam, Adai), against the state's own v and an independent float32 replica;
//  - a NaN gradient in Adai shows in every parameter, on both paths, as in the reference;
//  - a Stable decay factor below 0 is refused naming what caused it (library and swd train);
//  - the paper-name aliases carry the defaults of the classes they stand for.
// docs/OPTIMIZERS.md states each rule.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "cli_support.h"
#include "support.h"
#include "test_util.h"

namespace so = swd::optim;
using swd_test::error_of;

namespace {

// ---- The running sum of v over long float32 runs -----------------------------------------

struct SumDrift {
  double vs_state = 0;    ///< max |vbar - mean(vhat of the state's v)| / that mean
  double vs_replica = 0;  ///< the same against the replica's v
};

/// `steps` float32 steps of `Opt` (fused) on random gradients of three tensors of different
/// scales; every 10 steps vbar is compared with the mean of vhat computed from the state's v
/// and from a replica of v updated by torch's own float32 ops, v = b2*v + (1-b2)*g*g.
template <typename Opt, typename State, typename Options>
SumDrift running_sum_drift(Options options, double beta2, int steps) {
  torch::manual_seed(11);
  const std::vector<std::vector<int64_t>> shapes = {{48, 40}, {300}, {7}};
  const double scales[3] = {1e-3, 1.0, 30.0};
  std::vector<torch::Tensor> params, replica;
  for (const auto& s : shapes) {
    params.push_back(torch::randn(s).set_requires_grad(true));
    replica.push_back(torch::zeros(s));
  }
  Opt opt(params, options.betas({0.9, beta2}));
  SumDrift drift;
  for (int t = 1; t <= steps; ++t) {
    double replica_sum = 0;
    int64_t n = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      // Scales that wander over time, so that v never settles.
      const double scale = scales[i] * (1.5 + std::sin(t * 1e-3 * static_cast<double>(i + 1)));
      params[i].mutable_grad() = torch::randn(shapes[i]).mul_(scale);
      replica[i].mul_(beta2).addcmul_(params[i].grad(), params[i].grad(), 1 - beta2);
      n += params[i].numel();
    }
    opt.step();
    EXPECT_EQ(opt.fused_parameters(), params.size());
    if (t % 10 != 0 && t != steps) continue;
    double state_sum = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto& state = static_cast<State&>(*opt.state().at(so::compat::state_key(params[i])));
      state_sum += state.exp_avg_sq().sum(torch::kDouble).template item<double>();
      replica_sum += replica[i].sum(torch::kDouble).template item<double>();
    }
    const double bias_correction2 = 1 - std::pow(beta2, t);
    const double vbar = opt.vbar().template item<double>();
    const double from_state = state_sum / n / bias_correction2;
    const double from_replica = replica_sum / n / bias_correction2;
    drift.vs_state = std::max(drift.vs_state, std::abs(vbar - from_state) / from_state);
    drift.vs_replica = std::max(drift.vs_replica, std::abs(vbar - from_replica) / from_replica);
  }
  return drift;
}

constexpr int kLongRun = 10000;
constexpr double kSumTolerance = 1e-6;
// With AVX2+FMA the kernels round v = b2*v + (1-b2)*g*g with one fused multiply-add where
// torch's ops round twice, so the replica's v itself drifts from the state's v (1.5e-6 at
// b2 = 0.9999 over 1e4 steps), however vbar is kept; on the baseline ISA they round alike.
constexpr double kReplicaToleranceFma = 5e-6;

/// Runs `check` on the baseline ISA and, where the CPU has it, on AVX2+FMA; restores the ISA.
void on_each_isa(const std::function<void(so::FusedIsa)>& check) {
  const auto before = so::fused_isa();
  for (const auto isa : {so::FusedIsa::Baseline, so::FusedIsa::Avx2}) {
    if (so::set_fused_isa(isa) == isa) check(isa);
  }
  so::set_fused_isa(before);
}

template <typename Opt, typename State, typename Options>
void expect_vbar_is_mean_of_stored_v(const char* name, const Options& options, double beta2) {
  on_each_isa([&](so::FusedIsa isa) {
    const bool fma = isa == so::FusedIsa::Avx2;
    const auto drift = running_sum_drift<Opt, State>(options, beta2, kLongRun);
    std::printf("%s beta2 %g %s: vbar vs state v %.3g, vs float32 replica %.3g (relative)\n",
                name, beta2, fma ? "avx2" : "baseline", drift.vs_state, drift.vs_replica);
    EXPECT_LT(drift.vs_state, kSumTolerance);
    EXPECT_LT(drift.vs_replica, fma ? kReplicaToleranceFma : kSumTolerance);
  });
}

class LongFloat32Run : public ::testing::TestWithParam<double> {};

TEST_P(LongFloat32Run, AdamSVbarIsTheMeanOfTheStoredV) {
  expect_vbar_is_mean_of_stored_v<so::AdamS, so::AdamParamState>(
      "AdamS", so::AdamOptions(1e-4).weight_decay(1e-4), GetParam());
}

TEST_P(LongFloat32Run, AdaiSVbarIsTheMeanOfTheStoredV) {
  expect_vbar_is_mean_of_stored_v<so::AdaiS, so::AdaiParamState>(
      "AdaiS", so::AdaiOptions(1e-4).weight_decay(1e-4), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Beta2, LongFloat32Run, ::testing::Values(0.99, 0.999, 0.9999),
                         [](const auto& info) {
                           return "beta2_" + std::to_string(static_cast<int>(
                                                 std::round(1 / (1 - info.param))));
                         });

// ---- A NaN gradient stays visible --------------------------------------------------------

/// Two parameters, one NaN gradient element in the first: after one step every element of the
/// second parameter (finite gradient) is NaN too, since vbar is NaN; the same on both paths.
template <typename Opt, typename Options>
void expect_nan_spreads(const Options& options) {
  for (const bool fused : {true, false}) {
    auto a = torch::ones({4}).set_requires_grad(true);
    auto b = torch::ones({3}).set_requires_grad(true);
    a.mutable_grad() = torch::tensor({0.1f, NAN, 0.2f, 0.3f});
    b.mutable_grad() = torch::full({3}, 0.5f);
    Opt opt(std::vector<torch::Tensor>{a, b}, Options(options).fused(fused));
    opt.step();
    EXPECT_EQ(opt.fused_parameters(), fused ? 2u : 0u);
    EXPECT_TRUE(std::isnan(opt.vbar().template item<double>()));
    EXPECT_TRUE(b.isnan().all().template item<bool>())
        << (fused ? "fused: " : "reference: ") << b;
  }
}

TEST(NanGradient, AdaiSTurnsEveryParameterNaN) {
  expect_nan_spreads<so::AdaiS>(so::AdaiOptions(0.1).weight_decay(1e-3));
}

TEST(NanGradient, AdaiWithoutDecayTurnsEveryParameterNaN) {
  expect_nan_spreads<so::Adai>(so::AdaiOptions(0.1));
}

TEST(NanGradient, AdamSTurnsEveryParameterNaNWithoutStableDecayError) {
  expect_nan_spreads<so::AdamS>(so::AdamOptions(1e-3).weight_decay(5e-4));
}

// ---- The stable decay factor below 0 -----------------------------------------------------

TEST(StableDecayFactor, BelowZeroIsRefusedNamingItsCauseAndNothingMoves) {
  // The authors' AdamS with lr 1e-3, wd 5e-4 and a first gradient of 1e-9 multiplies theta
  // by 1 - 5e-7 / 1e-9 = -499.
  for (const bool fused : {true, false}) {
    auto keep = torch::ones({3}, torch::kFloat64).set_requires_grad(true);
    auto p = torch::ones({5}, torch::kFloat64).set_requires_grad(true);
    keep.mutable_grad() = torch::full({3}, 1e-9, torch::kFloat64);
    p.mutable_grad() = torch::full({5}, 1e-9, torch::kFloat64);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{keep},
                        std::make_unique<so::AdamOptions>(so::AdamOptions().weight_decay(0)));
    groups.emplace_back(std::vector<torch::Tensor>{p});
    so::AdamS opt(std::move(groups), so::AdamOptions(1e-3).weight_decay(5e-4).fused(fused));
    std::string message;
    try {
      opt.step();
    } catch (const so::StableDecayError& e) {
      message = e.what();
    }
    for (const char* word : {"parameter group 1", "-499", "lr 0.001", "weight_decay 0.0005",
                             "sqrt(vbar) 1e-09", "below 0"}) {
      EXPECT_CONTAINS(message, word);
    }
    EXPECT_TRUE(torch::equal(p, torch::ones({5}, torch::kFloat64))) << "p moved";
    EXPECT_TRUE(torch::equal(keep, torch::ones({3}, torch::kFloat64))) << "keep moved";
  }
}

TEST(StableDecayFactor, SgdsBelowZeroIsRefusedToo) {
  auto p = torch::ones({2}, torch::kFloat64).set_requires_grad(true);
  p.mutable_grad() = torch::ones({2}, torch::kFloat64);
  so::SGDS opt({p}, so::SGDOptions(1.0).momentum(0.9).weight_decay(0.5));  // 1 - 0.5*10 = -4
  const auto message = error_of([&] { opt.step(); });
  EXPECT_CONTAINS(message, "-4");
  EXPECT_CONTAINS(message, "parameter group 0");
  EXPECT_EQ(message.find("sqrt(vbar)"), std::string::npos) << message;
}

TEST(StableDecayFactor, InsideZeroOneIsApplied) {
  // sqrt(vbar) = 0.01 after one step of a constant gradient 0.01: factor 1 - 0.5 * 0.5 / 0.01
  // would be -24; with wd 0.01: 1 - 0.5 * 0.01 / 0.01 = 0.5, applied, then Adam's step.
  auto p = torch::full({4}, 2.0, torch::kFloat64).set_requires_grad(true);
  p.mutable_grad() = torch::full({4}, 0.01, torch::kFloat64);
  so::AdamS opt({p}, so::AdamOptions(0.5).weight_decay(0.01).eps(0));
  opt.step();
  // theta = 2 * 0.5 - 0.5 * m/(1-b1) / sqrt(vhat) = 1 - 0.5 (the Adam step of a first step).
  EXPECT_NEAR(p[0].item<double>(), 0.5, 1e-12);
}

TEST(StableDecayFactor, DeviceScaleBelowZeroTurnsTheWeightsNaN) {
  // A device scale is not read back each step: a factor below 0 multiplies theta by NaN.
  auto p = torch::ones({3}, torch::kFloat32);
  const so::DecayHyper hyper{1e-3, 5e-4, so::Decay::Stable};
  so::apply_weight_decay(p, hyper, so::EffectiveScale{1.0, torch::scalar_tensor(1e9, torch::kDouble)});
  EXPECT_TRUE(p.isnan().all().item<bool>()) << p;
  auto q = torch::ones({3}, torch::kFloat32);  // a sane factor is applied as it is
  so::apply_weight_decay(q, hyper, so::EffectiveScale{1.0, torch::scalar_tensor(1e3, torch::kDouble)});
  EXPECT_NEAR(q[0].item<float>(), 1 - 5e-4, 1e-7);
}

TEST(StableDecayFactor, SwdTrainStopsWithStatusTwoAndTheMessage) {
  const auto out = swd_test::fresh_dir("stable_factor") + "/run";
  const auto r = swd_test::run_swd(
      "train --dataset synthetic --synthetic-train 256 --synthetic-test 64 --synthetic-size 8"
      " --model mlp --batch-size 64 --threads 1 --progress line --epochs 1 --optimizer adams"
      " --lr 1 --weight-decay 1000 --out " + out);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_CONTAINS(r.output, "swd: error: stable weight decay");
  EXPECT_CONTAINS(r.output, "sqrt(vbar)");
  EXPECT_CONTAINS(r.output, "weight_decay 1000");
}

// ---- Defaults of the paper's names ------------------------------------------------------

std::vector<torch::Tensor> one_param() { return {torch::zeros({2}, torch::requires_grad())}; }

TEST(PaperNames, HaveTheDefaultsOfTheClassesTheyStandFor) {
  EXPECT_DOUBLE_EQ(so::AdamS(one_param()).group_hyper(0).weight_decay, 1e-4);  // swd_optim
  EXPECT_DOUBLE_EQ(so::AdamW(one_param()).group_hyper(0).weight_decay, 1e-2);  // torch
  EXPECT_DOUBLE_EQ(so::AdamW(one_param(), so::AdamOptions(3e-3)).group_hyper(0).weight_decay,
                   torch::optim::AdamWOptions().weight_decay());
  EXPECT_DOUBLE_EQ(so::SGDS(one_param(), so::SGDOptions(0.1)).group_hyper(0).weight_decay, 0);
  EXPECT_DOUBLE_EQ(so::AdaiS(one_param(), so::AdaiOptions(0.1)).group_hyper(0).weight_decay, 0);
  EXPECT_DOUBLE_EQ(so::Adam(one_param()).group_hyper(0).weight_decay, 0);  // the generic class
  // An explicit value, 0 included, is kept; a group that leaves it unset inherits the alias's.
  EXPECT_DOUBLE_EQ(so::AdamS(one_param(), so::AdamOptions().weight_decay(0))
                       .group_hyper(0).weight_decay, 0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(one_param(), std::make_unique<so::AdamOptions>(so::AdamOptions(0.1)));
  groups.emplace_back(one_param(), std::make_unique<so::AdamOptions>(
                                       so::AdamOptions(0.1).weight_decay(0.3)));
  so::AdamS grouped(std::move(groups));
  EXPECT_DOUBLE_EQ(grouped.group_hyper(0).weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(grouped.group_hyper(1).weight_decay, 0.3);
  EXPECT_EQ(grouped.group_hyper(1).decay, so::Decay::Stable);
}

}  // namespace
