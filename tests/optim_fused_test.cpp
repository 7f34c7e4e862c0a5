// The fused CPU path against the op-by-op reference path (fused(false)), which the golden and
// LibTorch comparisons pin down: every family x decay mode x variant, in float64 and float32,
// over hundreds of steps. (Fallbacks, serialization, the running sum of v and the no-sync
// reference path: optim_fused_paths_test.cpp.)
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "support.h"

namespace so = swd::optim;
using swd_test::max_rel_error;

namespace {

constexpr int kSteps = 300;
// Fused and reference parameters agree, at every step, in the normwise relative error
// max|fused - reference| / max|reference| of each tensor (rel_error below), to
//   float64: 1e-12 (observed: under 4e-15 over these 300 steps),
//   float32: 1e-5  (observed: under 2e-6),
// and vbar to 1e-12 / 1e-5. The paths round differently: LibTorch's vectorised kernels use
// FMA, the fused kernels (built for the baseline ISA) do not, and the fused vbar comes from a
// running float64 sum of g^2 where the reference sums the rounded float32 v.
constexpr double kFloat64Tolerance = 1e-12;
constexpr double kFloat32Tolerance = 1e-5;
constexpr double kFloat32VbarTolerance = 1e-5;

/// A problem with tensors large enough for several parallel chunks and sum blocks
/// (fused_loop.h), odd sizes, two groups and a parameter that never gets a gradient.
struct BigProblem {
  std::vector<std::pair<std::string, torch::Tensor>> params;  // A, big, C, frozen
  torch::Tensor noise;
  explicit BigProblem(torch::Dtype dtype) {
    torch::manual_seed(11);
    const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"A", {3, 5}}, {"big", {70001}}, {"C", {40, 25}}, {"frozen", {7}}};
    for (const auto& [name, shape] : shapes) {
      params.emplace_back(name,
                          torch::randn(shape, torch::kFloat64).to(dtype).set_requires_grad(true));
    }
    noise = torch::randn({70001 + 97}, torch::kFloat64);
  }
  torch::Tensor& at(const std::string& name) {
    for (auto& [n, p] : params) {
      if (n == name) return p;
    }
    throw std::out_of_range(name);
  }
  /// g = a * (p - x_t) + 0.05 * p^3, x_t moving with t (from 1); "frozen" gets none.
  void set_gradients(int t) {
    torch::NoGradGuard no_grad;
    double a = 0.5;
    for (auto& [name, p] : params) {
      if (name == "frozen") continue;
      a += 0.7;
      const auto x = noise.narrow(0, t % 97, p.numel()).view(p.sizes()).mul(std::cos(0.05 * t));
      p.mutable_grad() = (p - x.to(p.scalar_type())).mul(a) + p.pow(3).mul(0.05);
    }
  }
  std::vector<torch::optim::OptimizerParamGroup> groups(
      const std::function<std::unique_ptr<torch::optim::OptimizerOptions>(int)>& options) {
    std::vector<torch::optim::OptimizerParamGroup> out;
    out.emplace_back(std::vector<torch::Tensor>{at("A"), at("big")}, options(0));
    out.emplace_back(std::vector<torch::Tensor>{at("C"), at("frozen")}, options(1));
    return out;
  }
};

/// One configuration: builds an optimizer over `problem` with `fused` on or off.
struct Case {
  std::string name;
  std::function<std::unique_ptr<so::OptimizerBase>(BigProblem&, bool fused)> make;
};

template <typename Opt, typename Options>
Case make_case(std::string name, Options base, so::Decay decay0, so::Decay decay1) {
  return {std::move(name), [=](BigProblem& problem, bool fused) {
            const double lrs[2] = {base.lr(), base.lr() / 3};
            const double wds[2] = {0.05, 0.3};
            const so::Decay decays[2] = {decay0, decay1};
            auto groups = problem.groups([&](int g) {
              auto o = std::make_unique<Options>(base);
              o->lr(lrs[g]).weight_decay(wds[g]).decay(decays[g]).fused(fused);
              return o;
            });
            return std::unique_ptr<so::OptimizerBase>(new Opt(std::move(groups), base));
          }};
}

std::vector<Case> all_cases() {
  using so::Decay;
  std::vector<Case> cases;
  const Decay modes[3] = {Decay::L2, Decay::Decoupled, Decay::Stable};
  for (Decay mode : modes) {
    const std::string m = so::to_string(mode);
    cases.push_back(make_case<so::SGD>("sgd_plain_" + m, so::SGDOptions(0.02), mode, mode));
    cases.push_back(make_case<so::SGD>("sgd_momentum_" + m,
                                       so::SGDOptions(0.02).momentum(0.9), mode, mode));
    cases.push_back(make_case<so::SGD>(
        "sgd_dampening_" + m, so::SGDOptions(0.02).momentum(0.8).dampening(0.25), mode, mode));
    cases.push_back(make_case<so::SGD>(
        "sgd_nesterov_" + m, so::SGDOptions(0.02).momentum(0.9).nesterov(true), mode, mode));
    for (bool amsgrad : {false, true}) {
      cases.push_back(make_case<so::Adam>(
          std::string(amsgrad ? "amsgrad_" : "adam_") + m,
          so::AdamOptions(0.01).betas({0.8, 0.99}).eps(1e-6).amsgrad(amsgrad), mode, mode));
    }
    cases.push_back(make_case<so::Adai>("adai_" + m, so::AdaiOptions(0.05), mode, mode));
  }
  // vbar spans every group whatever its mode: a Stable group next to an L2 group (whose
  // moments see g + lambda*theta).
  cases.push_back(make_case<so::Adam>("adam_stable_and_l2", so::AdamOptions(0.01),
                                      Decay::Stable, Decay::L2));
  cases.push_back(make_case<so::Adam>("amsgrad_stable_and_l2",
                                      so::AdamOptions(0.01).amsgrad(true), Decay::Stable,
                                      Decay::L2));
  cases.push_back(make_case<so::Adai>("adai_stable_and_l2", so::AdaiOptions(0.05),
                                      Decay::Stable, Decay::L2));
  return cases;
}

/// max|a - b| / max|b| over a tensor: the normwise relative error. (Elementwise relative
/// error is ill-conditioned for an element that crosses zero: there one rounding more or less
/// in p - lr*u shows up as a large relative difference.)
double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto bd = b.detach().to(torch::kFloat64);
  const double scale = std::max(bd.abs().max().item<double>(), 1e-300);
  return (a.detach().to(torch::kFloat64) - bd).abs().max().item<double>() / scale;
}

/// Steps both optimizers in lockstep (with an lr drop at step 60 and an lr rise at 200 in
/// group 1) and returns the worst error seen; fails at once beyond `tolerance`.
double run_lockstep(const Case& c, torch::Dtype dtype, double tolerance,
                    double vbar_tolerance) {
  BigProblem fused_problem(dtype), reference_problem(dtype);
  auto fused = c.make(fused_problem, true);
  auto reference = c.make(reference_problem, false);
  const auto frozen = fused_problem.at("frozen").clone();
  double worst = 0;
  for (int t = 1; t <= kSteps; ++t) {
    fused_problem.set_gradients(t);
    reference_problem.set_gradients(t);
    fused->step();
    reference->step();
    EXPECT_EQ(fused->fused_parameters(), 3u) << c.name;
    EXPECT_EQ(reference->fused_parameters(), 0u) << c.name;
    for (auto* opt : {fused.get(), reference.get()}) {
      if (t == 60) opt->param_groups()[0].options().set_lr(opt->group_hyper(0).lr * 0.1);
      if (t == 200) opt->param_groups()[1].options().set_lr(opt->group_hyper(1).lr * 2);
    }
    if (fused->vbar().defined() || reference->vbar().defined()) {
      EXPECT_TRUE(fused->vbar().defined() && reference->vbar().defined()) << c.name;
      EXPECT_LT(rel_error(fused->vbar(), reference->vbar()), vbar_tolerance) << c.name;
    }
    for (auto& [name, p] : fused_problem.params) {
      const double error = rel_error(p, reference_problem.at(name));
      worst = std::max(worst, error);
      if (error >= tolerance) {
        ADD_FAILURE() << c.name << ": parameter " << name << " at step " << t << " differs by "
                      << error;
        return worst;
      }
    }
  }
  EXPECT_TRUE(torch::equal(fused_problem.at("frozen"), frozen)) << c.name;
  return worst;
}

/// (case index, ISA of the fused kernels); the ISA is restored afterwards.
class FusedVersusReference
    : public ::testing::TestWithParam<std::tuple<std::size_t, so::FusedIsa>> {
 protected:
  void SetUp() override {
    saved_ = so::fused_isa();
    const auto wanted = std::get<1>(GetParam());
    if (so::set_fused_isa(wanted) != wanted) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  }
  void TearDown() override { so::set_fused_isa(saved_); }
  const Case c = all_cases().at(std::get<0>(GetParam()));

 private:
  so::FusedIsa saved_ = so::FusedIsa::Baseline;
};

TEST_P(FusedVersusReference, Float64AgreesTo1e12) {
  const double worst = run_lockstep(c, torch::kFloat64, kFloat64Tolerance, kFloat64Tolerance);
  RecordProperty("worst_error", std::to_string(worst));
}

TEST_P(FusedVersusReference, Float32AgreesToStatedBound) {
  const double worst = run_lockstep(c, torch::kFloat32, kFloat32Tolerance, kFloat32VbarTolerance);
  RecordProperty("worst_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(
    AllCombinations, FusedVersusReference,
    ::testing::Combine(::testing::Range<std::size_t>(0, all_cases().size()),
                       ::testing::Values(so::FusedIsa::Avx2, so::FusedIsa::Baseline)),
    [](const auto& info) {
      return all_cases().at(std::get<0>(info.param)).name +
             (std::get<1>(info.param) == so::FusedIsa::Avx2 ? "_avx2" : "_baseline");
    });

}  // namespace
