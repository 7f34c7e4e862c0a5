// Which path a parameter takes and what stays true across paths: unsupported tensors fall back
// to the reference path and still give the right answer; a fused run resumes bitwise from an
// archive; the running sum of v stays consistent through save, load and path changes; a
// zero-gradient first step gives no NaN; the result does not depend on the thread count; and
// the reference (device) path reads no value back to the host, shown by running it on meta
// tensors, which have no values to read, and on a CUDA device where there is one.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>
#include <functional>

#include "support.h"
#include "swd/optim/compat.h"

namespace so = swd::optim;
using swd_test::Problem;

namespace {

using Maker = std::function<std::unique_ptr<so::OptimizerBase>(
    std::vector<torch::optim::OptimizerParamGroup>, bool fused)>;

/// Optimizers that need the global vbar or a momentum buffer, with `fused` set in the defaults.
std::vector<std::pair<std::string, Maker>> makers() {
  return {
      {"sgds", [](auto groups, bool fused) -> std::unique_ptr<so::OptimizerBase> {
         return std::make_unique<so::SGDS>(
             std::move(groups), so::SGDOptions(0.05).momentum(0.9).weight_decay(0.1).fused(fused));
       }},
      {"adams", [](auto groups, bool fused) -> std::unique_ptr<so::OptimizerBase> {
         return std::make_unique<so::AdamS>(
             std::move(groups), so::AdamOptions(0.01).weight_decay(0.1).fused(fused));
       }},
      {"amsgrads", [](auto groups, bool fused) -> std::unique_ptr<so::OptimizerBase> {
         return std::make_unique<so::AdamS>(
             std::move(groups),
             so::AdamOptions(0.01).weight_decay(0.1).amsgrad(true).fused(fused));
       }},
      {"adai", [](auto groups, bool fused) -> std::unique_ptr<so::OptimizerBase> {
         return std::make_unique<so::Adai>(
             std::move(groups), so::AdaiOptions(0.05).weight_decay(0.1).fused(fused));
       }},
      {"adais", [](auto groups, bool fused) -> std::unique_ptr<so::OptimizerBase> {
         return std::make_unique<so::AdaiS>(
             std::move(groups), so::AdaiOptions(0.05).weight_decay(0.1).fused(fused));
       }},
  };
}

std::vector<torch::optim::OptimizerParamGroup> one_group(std::vector<torch::Tensor> params) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(params));
  return groups;
}

/// max|a - b| / max|b|.
double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto bd = b.detach().to(torch::kFloat64);
  return (a.detach().to(torch::kFloat64) - bd).abs().max().item<double>() /
         std::max(bd.abs().max().item<double>(), 1e-300);
}

/// g = 0.5 * (p - sin(t + i)) + 0.1 * p^3, written into `grad_layout`'s layout.
void set_gradient(torch::Tensor& p, int t, const torch::Tensor& grad_layout) {
  torch::NoGradGuard no_grad;
  const auto x = torch::arange(p.numel(), p.options()).add(t).sin().view(p.sizes());
  const auto value = (p - x).mul(0.5) + p.pow(3).mul(0.1);
  p.mutable_grad() = grad_layout.defined() ? grad_layout.clone().copy_(value) : value;
}

// ---- Fallback to the reference path ------------------------------------------------------

TEST(Fallback, UnsupportedLayoutsTakeTheReferencePathAndGiveTheSameAnswer) {
  for (const auto& [name, make] : makers()) {
    torch::manual_seed(3);
    const auto values = torch::randn({4, 6}, torch::kFloat64);
    // 1. gaps in memory (every other column of a wider buffer): not dense, reference path;
    auto gapped = torch::empty_strided({4, 6}, {12, 2}, torch::kFloat64);
    // 2. contiguous, but its gradient is column-major: layouts differ, reference path;
    auto mixed = values.clone();
    const auto column_major = torch::empty({6, 4}, torch::kFloat64).t();
    // 3. transposed (dense, not contiguous) with a gradient of the same layout: fused path;
    auto transposed = torch::empty({6, 4}, torch::kFloat64).t();
    // 4. plain contiguous: fused path.
    auto plain = values.clone();
    {
      torch::NoGradGuard no_grad;
      for (auto* p : {&gapped, &transposed}) p->copy_(values);
    }
    std::vector<torch::Tensor> params = {gapped, mixed, transposed, plain};
    std::vector<torch::Tensor> grad_layouts = {gapped, column_major, transposed, {}};
    std::vector<torch::Tensor> twins;  // contiguous copies on the reference path
    for (auto& p : params) {
      p.set_requires_grad(true);
      twins.push_back(values.clone().set_requires_grad(true));
    }
    auto opt = make(one_group(params), true);
    auto reference = make(one_group(twins), false);
    for (int t = 1; t <= 40; ++t) {
      for (std::size_t i = 0; i < params.size(); ++i) {
        set_gradient(params[i], t, grad_layouts[i]);
        set_gradient(twins[i], t, {});
      }
      opt->step();
      reference->step();
      EXPECT_EQ(opt->fused_parameters(), 2u) << name;
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      EXPECT_LT(rel_error(params[i], twins[i]), 1e-12) << name << ", parameter " << i;
      EXPECT_GT(rel_error(params[i], values), 1e-3) << name << ": parameter " << i << " moved";
    }
  }
}

TEST(Bfloat16, TakesTheFusedPathAndRoundsOnlyWhereItStores) {
  // The fused kernels compute bfloat16 parameters in float32 and round where they store
  // (fused_loop.h); the reference path rounds after every operation. Both are fed the same
  // gradients, those of a float32 run, which is the yardstick: the fused run must stay at
  // least as close to it as the reference run. Adai refuses bfloat16 on both paths.
  for (const auto& [name, make] : makers()) {
    torch::manual_seed(5);
    const auto values = torch::randn({64, 33}, torch::kFloat32);
    if (name.rfind("adai", 0) == 0) {  // refused: its state would divide by zero (adai.cpp)
      for (bool fused : {true, false}) {
        auto p = values.to(torch::kBFloat16).set_requires_grad(true);
        p.mutable_grad() = torch::ones_like(p);
        auto opt = make(one_group({p}), fused);
        EXPECT_THROW(opt->step(), std::invalid_argument) << name;
        EXPECT_TRUE(torch::equal(p, values.to(torch::kBFloat16))) << name;
      }
      continue;
    }
    auto exact = values.clone().set_requires_grad(true);
    auto fused = values.to(torch::kBFloat16).set_requires_grad(true);
    auto reference = values.to(torch::kBFloat16).set_requires_grad(true);
    auto opt_exact = make(one_group({exact}), true);
    auto opt_fused = make(one_group({fused}), true);
    auto opt_reference = make(one_group({reference}), false);
    for (int t = 1; t <= 30; ++t) {
      set_gradient(exact, t, {});
      fused.mutable_grad() = exact.grad().to(torch::kBFloat16);
      reference.mutable_grad() = exact.grad().to(torch::kBFloat16);
      opt_exact->step();
      opt_fused->step();
      opt_reference->step();
      ASSERT_EQ(opt_fused->fused_parameters(), 1u) << name;
      ASSERT_EQ(opt_reference->fused_parameters(), 0u) << name;
    }
    EXPECT_EQ(fused.scalar_type(), torch::kBFloat16);
    const double fused_error = rel_error(fused, exact);
    const double reference_error = rel_error(reference, exact);
    // bfloat16 keeps 8 bits (2^-8 = 4e-3 per rounding); over 30 steps both runs drift by
    // some percent from the float32 one
    EXPECT_LT(fused_error, 0.1) << name;
    EXPECT_LE(fused_error, reference_error * 1.1 + 1e-3) << name << ": reference path "
                                                          << reference_error;
    if (opt_fused->vbar().defined()) {
      EXPECT_NEAR(opt_fused->vbar().item<double>() / opt_exact->vbar().item<double>(), 1.0,
                  2e-2) << name;
    }
  }
}

TEST(Fallback, FusedOptionIsInheritedByGroupsAndSurvivesSaveAndLoad) {
  auto a = torch::ones({3}, torch::requires_grad());
  auto b = torch::ones({3}, torch::requires_grad());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{a});
  groups.emplace_back(std::vector<torch::Tensor>{b},
                      std::make_unique<so::AdamOptions>(so::AdamOptions(0.5)));
  so::AdamS opt(groups, so::AdamOptions(1e-2).fused(false));
  a.mutable_grad() = torch::ones({3});
  b.mutable_grad() = torch::ones({3});
  opt.step();
  EXPECT_EQ(opt.fused_parameters(), 0u);  // group 1 set only its lr: inherits fused(false)
  const auto path = std::filesystem::temp_directory_path() /
                    ("swd_fused_option_" + std::to_string(::getpid()) + ".pt");
  torch::save(opt, path.string());
  so::AdamS loaded(groups, so::AdamOptions(1e-2));  // defaults say fused(true)
  torch::load(loaded, path.string());
  std::filesystem::remove(path);
  for (auto& group : loaded.param_groups()) {
    EXPECT_FALSE(static_cast<const so::AdamOptions&>(group.options()).fused());
  }
  loaded.step();
  EXPECT_EQ(loaded.fused_parameters(), 0u);
}

// ---- Serialization and the running sum of v ----------------------------------------------

class FusedRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(FusedRoundTrip, ResumedRunEqualsUninterruptedRunBitwise) {
  const auto& scenario = swd_test::golden()["scenarios"][GetParam()];
  const auto path = std::filesystem::temp_directory_path() /
                    ("swd_fused_" + GetParam() + "_" + std::to_string(::getpid()) + ".pt");
  Problem straight;
  auto opt = swd_test::make_swd_optimizer(scenario, straight);
  swd_test::run_problem(straight, *opt, 70);  // past the lr drop at step 60
  torch::save(*opt, path.string());
  Problem resumed;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : resumed.params) p.copy_(straight.params[name]);
  }
  auto opt2 = swd_test::make_swd_optimizer(scenario, resumed);
  torch::load(*opt2, path.string());
  std::filesystem::remove(path);
  for (int t = 71; t <= 110; ++t) {
    straight.set_gradients(t);
    resumed.set_gradients(t);
    opt->step();
    opt2->step();
    ASSERT_EQ(static_cast<so::OptimizerBase&>(*opt2).fused_parameters(), 3u);
  }
  for (auto& [name, p] : straight.params) {
    EXPECT_TRUE(torch::equal(p, resumed.params[name])) << GetParam() << "/" << name;
  }
}

std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  for (const auto& item : swd_test::golden()["scenarios"].items()) names.push_back(item.key());
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllScenarios, FusedRoundTrip, ::testing::ValuesIn(scenario_names()),
                         [](const auto& info) { return info.param; });

/// The state's running sum equals sum(exp_avg_sq), and vbar the mean of vhat computed from
/// the state tensors, to 1e-12.
template <typename State>
void expect_running_sums_consistent(so::OptimizerBase& opt, double beta2,
                                    const std::string& where) {
  double vhat_sum = 0;
  int64_t elements = 0;
  for (auto& group : opt.param_groups()) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& state = static_cast<State&>(*opt.state().at(so::compat::state_key(p)));
      const double exact = state.exp_avg_sq().sum().template item<double>();
      EXPECT_NEAR(state.exp_avg_sq_sum(), exact, 1e-12 * exact) << where;
      vhat_sum += exact / (1 - std::pow(beta2, state.step()));
      elements += p.numel();
    }
  }
  ASSERT_TRUE(opt.vbar().defined()) << where;
  const double vbar = vhat_sum / static_cast<double>(elements);
  EXPECT_NEAR(opt.vbar().item<double>(), vbar, 1e-12 * vbar) << where;
}

template <typename Opt, typename State, typename Options>
void check_running_sum(const Options& options, so::Decay group1_decay, double beta2) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("swd_running_sum_" + std::to_string(::getpid()) + ".pt");
  Problem straight, resumed;
  auto all_groups = [&](Problem& p) {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(p.group_params(0));
    auto group1 = std::make_unique<Options>(options);
    group1->decay(group1_decay).weight_decay(0.2);
    groups.emplace_back(p.group_params(1), std::move(group1));
    return groups;
  };
  Opt reference(all_groups(straight), Options(options).fused(false));  // never interrupted
  auto opt = std::make_unique<Opt>(all_groups(resumed), options);
  for (int t = 1; t <= 120; ++t) {
    // Steps 1-30 fused; 31-50 reference (the sum becomes unknown); 51-120 fused again (it is
    // recomputed from exp_avg_sq), with a save after step 70 and a load into a new optimizer.
    const bool fused = t <= 30 || t > 50;
    for (auto& group : opt->param_groups()) static_cast<Options&>(group.options()).fused(fused);
    straight.set_gradients(t);
    resumed.set_gradients(t);
    reference.step();
    opt->step();
    EXPECT_EQ(opt->fused_parameters(), fused ? 3u : 0u);
    if (fused) expect_running_sums_consistent<State>(*opt, beta2, "step " + std::to_string(t));
    if (t == 70) {
      torch::save(*opt, path.string());
      auto loaded = std::make_unique<Opt>(all_groups(resumed), Options(options).fused(false));
      torch::load(*loaded, path.string());
      std::filesystem::remove(path);
      for (auto& p : resumed.group_params(0)) {  // the running sum came from the archive
        const auto key = so::compat::state_key(p);
        EXPECT_EQ(static_cast<State&>(*loaded->state().at(key)).exp_avg_sq_sum(),
                  static_cast<State&>(*opt->state().at(key)).exp_avg_sq_sum());
      }
      EXPECT_TRUE(static_cast<const Options&>(loaded->param_groups()[0].options()).fused());
      opt = std::move(loaded);
    }
  }
  for (auto& [name, p] : straight.params) {
    EXPECT_LT(rel_error(resumed.params[name], p), 1e-12) << name;
  }
}

// Group 1 in L2 mode: its v, and so the running sum, sees (g + lambda*theta)^2.
TEST(RunningSum, AdamStaysConsistentThroughSaveLoadAndPathChanges) {
  check_running_sum<so::AdamS, so::AdamParamState>(
      so::AdamOptions(0.01).betas({0.9, 0.99}).weight_decay(0.1), so::Decay::L2, 0.99);
}

TEST(RunningSum, AdaiStaysConsistentThroughSaveLoadAndPathChanges) {
  check_running_sum<so::Adai, so::AdaiParamState>(so::AdaiOptions(0.05).weight_decay(0.1),
                                                  so::Decay::Stable, 0.99);
}

TEST(RunningSum, IsMarkedUnknownWhenNoGroupNeedsVbar) {  // and recomputed when one does
  Problem problem;
  so::Adam opt({torch::optim::OptimizerParamGroup(problem.group_params(0))},
               so::AdamOptions(0.01).weight_decay(0.1));
  swd_test::run_problem(problem, opt, 3);
  EXPECT_EQ(opt.fused_parameters(), 2u);
  EXPECT_FALSE(opt.vbar().defined());
  for (auto& p : problem.group_params(0)) {
    const auto& state = static_cast<so::AdamParamState&>(*opt.state().at(so::compat::state_key(p)));
    EXPECT_TRUE(std::isnan(state.exp_avg_sq_sum()));
  }
  static_cast<so::AdamOptions&>(opt.param_groups()[0].options()).decay(so::Decay::Stable);
  problem.set_gradients(4);
  opt.step();
  expect_running_sums_consistent<so::AdamParamState>(opt, 0.999, "after switching to Stable");
}

// ---- Edge cases and determinism --------------------------------------------------------

TEST(ZeroGradientFirstStep, FusedPathGivesNoNaNAndMatchesReference) {
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    for (const auto& [name, make] : makers()) {
      auto p = torch::full({5}, 2.0, dtype).set_requires_grad(true);
      auto twin = p.detach().clone().set_requires_grad(true);
      auto opt = make(one_group({p}), true);
      auto reference = make(one_group({twin}), false);
      for (int t = 1; t <= 3; ++t) {
        p.mutable_grad() = t == 1 ? torch::zeros_like(p) : torch::ones_like(p);
        twin.mutable_grad() = p.grad().clone();
        opt->step();
        reference->step();
        EXPECT_EQ(opt->fused_parameters(), 1u);
        EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << name << " step " << t;
        if (t == 1 && (name == "adams" || name == "amsgrads")) {  // vbar = 0: no decay, no step
          EXPECT_TRUE(torch::equal(p, torch::full({5}, 2.0, dtype))) << name;
        }
        EXPECT_LT(rel_error(p, twin), dtype == torch::kFloat64 ? 1e-12 : 1e-6) << name;
      }
      EXPECT_LT(p[0].item<double>(), 2.0) << name;
    }
  }
}

// Adai's running product of the inertia falls through the subnormal numbers, where x86
// arithmetic is many times slower. The fused kernel stores 0 there; theta does not change.
TEST(Adai, FusedPathStoresNoSubnormalInertiaProduct) {
  torch::manual_seed(9);
  auto p = torch::randn({4000}).set_requires_grad(true);
  auto twin = p.detach().clone().set_requires_grad(true);
  const auto grad = torch::randn({4000}).mul_(0.01);
  so::AdaiS opt({p}, so::AdaiOptions(1e-3).weight_decay(0.1));
  so::AdaiS reference({twin}, so::AdaiOptions(1e-3).weight_decay(0.1).fused(false));
  for (int t = 1; t <= 300; ++t) {
    p.mutable_grad() = grad.clone();
    twin.mutable_grad() = grad.clone();
    opt.step();
    reference.step();
  }
  auto subnormals = [](so::OptimizerBase& o, const torch::Tensor& param) {
    const auto& prod =
        static_cast<so::AdaiParamState&>(*o.state().at(so::compat::state_key(param)))
            .beta1_prod();
    return ((prod > 0) & (prod < std::numeric_limits<float>::min())).sum().item<int64_t>();
  };
  EXPECT_GT(subnormals(reference, twin), 0);  // the case arises: the test means something
  EXPECT_EQ(subnormals(opt, p), 0);
  EXPECT_LT(rel_error(p, twin), 1e-5);
}

TEST(Threads, FusedResultDoesNotDependOnThreadCount) {
  const int saved = at::get_num_threads();
  for (const auto& [name, make] : makers()) {
    std::vector<torch::Tensor> results;
    for (int threads : {1, 2, 3}) {
      at::set_num_threads(threads);
      // Tensors spanning several parallel chunks and sum blocks, and small ones between them:
      // one step's loops are split between the threads across tensor boundaries.
      torch::manual_seed(5);
      std::vector<torch::Tensor> params;
      for (int64_t n : {200003, 51, 5, 70001, 1}) {
        params.push_back(torch::randn({n}).set_requires_grad(true));
      }
      auto opt = make(one_group(params), true);
      for (int t = 1; t <= 10; ++t) {
        for (auto& p : params) set_gradient(p, t, {});
        opt->step();
      }
      EXPECT_EQ(opt->fused_parameters(), params.size());
      results.push_back(torch::cat(params).detach());
    }
    EXPECT_TRUE(torch::equal(results[0], results[1])) << name << ": 1 and 2 threads";
    EXPECT_TRUE(torch::equal(results[0], results[2])) << name << ": 1 and 3 threads";
  }
  at::set_num_threads(saved);
}

// ---- The reference path on the meta device ---------------------------------------------
// Meta tensors have shapes and dtypes but no values: .item(), and any other read of a value
// on the host, throws. A step that completes on them read nothing back, which on CUDA means
// no host synchronisation.

TEST(DevicePath, StepReadsNothingBackToTheHost) {
  std::vector<std::pair<std::string, Maker>> all = makers();
  const so::Decay modes[3] = {so::Decay::L2, so::Decay::Decoupled, so::Decay::Stable};
  for (auto mode : modes) {
    for (bool amsgrad : {false, true}) {
      all.emplace_back("adam/" + so::to_string(mode) + (amsgrad ? "/amsgrad" : ""),
                       [=](auto groups, bool) -> std::unique_ptr<so::OptimizerBase> {
                         return std::make_unique<so::Adam>(
                             std::move(groups), so::AdamOptions(0.01).weight_decay(0.1)
                                                    .amsgrad(amsgrad).decay(mode));
                       });
    }
    all.emplace_back("sgd/" + so::to_string(mode),
                     [=](auto groups, bool) -> std::unique_ptr<so::OptimizerBase> {
                       return std::make_unique<so::SGD>(
                           std::move(groups), so::SGDOptions(0.1).momentum(0.9).nesterov(true)
                                                  .weight_decay(0.1).decay(mode));
                     });
  }
  for (const auto& [name, make] : all) {
    const auto meta = torch::TensorOptions().device(torch::kMeta).dtype(torch::kFloat32);
    std::vector<torch::Tensor> params = {torch::empty({4, 3}, meta).set_requires_grad(true),
                                         torch::empty({5}, meta).set_requires_grad(true)};
    auto opt = make(one_group(params), /*fused=*/true);  // meta tensors: reference path
    for (int t = 1; t <= 3; ++t) {
      for (auto& p : params) p.mutable_grad() = torch::empty_like(p);
      EXPECT_NO_THROW(opt->step()) << name;
      EXPECT_EQ(opt->fused_parameters(), 0u) << name;
      if (opt->vbar().defined()) EXPECT_TRUE(opt->vbar().is_meta()) << name;
    }
  }
}

// On a CUDA device (LibTorch built with CUDA and a GPU present) the reference path gives the
// CPU's numbers: float64, 50 steps of every optimizer above, relative error below 1e-12.
TEST(DevicePath, CudaStepsMatchTheCpuWhereAGpuIsPresent) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device here (LibTorch sees " << torch::cuda::device_count()
                 << " GPUs): this check runs on a machine with one";
  }
  for (const auto& [name, make] : makers()) {
    std::vector<torch::Tensor> results;
    for (const torch::Device device : {torch::Device(torch::kCPU), torch::Device(torch::kCUDA)}) {
      torch::manual_seed(3);
      const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
      std::vector<torch::Tensor> params = {torch::randn({6, 5}, f64).to(device).requires_grad_(),
                                           torch::randn({7}, f64).to(device).requires_grad_()};
      auto opt = make(one_group(params), /*fused=*/true);  // CUDA tensors: reference path
      for (int t = 1; t <= 50; ++t) {
        for (auto& p : params) set_gradient(p, t, {});
        opt->step();
      }
      results.push_back(torch::cat({params[0].detach().flatten(), params[1].detach()}).cpu());
    }
    EXPECT_LT(rel_error(results[1], results[0]), 1e-12) << name;
  }
}

TEST(DevicePath, MetaTensorsDoCatchAHostRead) {  // the test above would notice an .item()
  const auto vbar = torch::empty({}, torch::TensorOptions().device(torch::kMeta));
  EXPECT_ANY_THROW(vbar.item<double>());
}

}  // namespace
