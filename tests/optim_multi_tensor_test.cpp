// The multi-tensor path (optimizer_base.h, src/optim/multi_tensor.cpp) against the reference
// path on CPU tensors, where ATen's _foreach_ ops run the same operations tensor by tensor:
// bit for bit within one parameter group; within 1e-12 (float64) across groups, where the
// float64 sum of vhat is associated by group. And on CUDA where a GPU is present.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/paper_names.h"
#include "swd/optim/sgd.h"
#include "../src/optim/multi_tensor.h"  // the library's private helpers

namespace so = swd::optim;

namespace {

using Make = std::function<std::unique_ptr<so::OptimizerBase>(std::vector<torch::optim::OptimizerParamGroup>)>;

std::vector<std::pair<std::string, Make>> cases() {
  std::vector<std::pair<std::string, Make>> all;
  for (auto mode : {so::Decay::L2, so::Decay::Decoupled, so::Decay::Stable}) {
    const std::string m = so::to_string(mode);
    for (bool nesterov : {false, true}) {
      all.emplace_back("sgd/" + m + (nesterov ? "/nesterov" : ""), [=](auto groups) {
        return std::make_unique<so::SGD>(std::move(groups), so::SGDOptions(0.1).momentum(0.9)
            .nesterov(nesterov).weight_decay(0.05).decay(mode).fused(false));
      });
    }
    all.emplace_back("sgd-no-momentum/" + m, [=](auto groups) {
      return std::make_unique<so::SGD>(std::move(groups), so::SGDOptions(0.1).weight_decay(0.05)
          .decay(mode).fused(false));
    });
    for (bool amsgrad : {false, true}) {
      all.emplace_back("adam/" + m + (amsgrad ? "/amsgrad" : ""), [=](auto groups) {
        return std::make_unique<so::Adam>(std::move(groups), so::AdamOptions(0.01).weight_decay(0.1)
            .amsgrad(amsgrad).decay(mode).fused(false));
      });
    }
    if (mode != so::Decay::Decoupled) {
      all.emplace_back("adai/" + m, [=](auto groups) {
        return std::make_unique<so::Adai>(std::move(groups), so::AdaiOptions(0.1).weight_decay(0.05)
            .decay(mode).fused(false));
      });
    }
  }
  return all;
}

/// Parameters in one or two groups (the second with its own lr), float64, with gradients
/// that change every step; parameter 1 has no gradient on every third step.
struct Run {
  std::vector<torch::Tensor> params;
  std::unique_ptr<so::OptimizerBase> opt;
};

Run run(const Make& make, bool two_groups, bool multi, const torch::Device& device,
        torch::ScalarType dtype = torch::kFloat64, int steps = 25) {
  torch::manual_seed(11);
  const auto options = torch::TensorOptions().dtype(dtype);
  Run r;
  for (auto shape : std::vector<std::vector<int64_t>>{{5, 4}, {7}, {3, 2, 2}, {1}}) {
    r.params.push_back(torch::randn(shape, options).to(device).requires_grad_());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (two_groups) {
    groups.emplace_back(std::vector<torch::Tensor>{r.params[0], r.params[1]});
    groups.emplace_back(std::vector<torch::Tensor>{r.params[2], r.params[3]});
  } else {
    groups.emplace_back(r.params);
  }
  r.opt = make(std::move(groups));
  if (two_groups) r.opt->param_groups()[1].options().set_lr(0.03);
  if (multi) r.opt->set_unfused_path(so::UnfusedPath::MultiTensor);
  for (int t = 1; t <= steps; ++t) {
    for (std::size_t i = 0; i < r.params.size(); ++i) {
      auto& p = r.params[i];
      if (i == 1 && t % 3 == 0) {
        p.mutable_grad() = torch::Tensor();
      } else {
        p.mutable_grad() = torch::sin(torch::arange(p.numel(), options).reshape(p.sizes()) * static_cast<double>(t + i))
                               .mul(1.0 / t).to(device);
      }
    }
    r.opt->step();
  }
  return r;
}

std::vector<torch::Tensor> everything(const Run& r) {
  std::vector<torch::Tensor> all;
  for (const auto& p : r.params) all.push_back(p.detach().cpu());
  for (const auto& p : r.opt->export_state().params) {
    for (const auto& [field, tensor] : p.tensors) all.push_back(tensor.cpu());
  }
  return all;
}

double max_rel_error(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto scale = b[i].abs().max().item<double>();
    worst = std::max(worst, (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).abs().max().item<double>() /
                                std::max(scale, 1e-300));
  }
  return worst;
}

TEST(ForeachPath, OneGroupIsTheReferencePathBitForBitOnTheCpu) {
  for (const auto& [name, make] : cases()) {
    const auto reference = run(make, false, false, torch::kCPU);
    const auto multi = run(make, false, true, torch::kCPU);
    EXPECT_EQ(reference.opt->multi_tensor_parameters(), 0u) << name;
    EXPECT_EQ(multi.opt->multi_tensor_parameters(), 4u) << name;  // the last step: all had one
    const auto a = everything(reference), b = everything(multi);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << name << " tensor " << i;
    if (reference.opt->vbar().defined()) {
      EXPECT_TRUE(torch::equal(reference.opt->vbar(), multi.opt->vbar())) << name;
    }
  }
}

TEST(ForeachPath, TwoGroupsMatchTheReferencePathOnTheCpu) {
  for (const auto& [name, make] : cases()) {
    const auto a = everything(run(make, true, false, torch::kCPU));
    const auto b = everything(run(make, true, true, torch::kCPU));
    ASSERT_EQ(a.size(), b.size()) << name;
    EXPECT_LT(max_rel_error(b, a), 1e-12) << name;
  }
}

TEST(ForeachPath, DeviceScalarFactorsAreTheReferenceOperations) {
  std::vector<torch::Tensor> xs = {torch::randn({3, 4}), torch::randn({5}), torch::randn({})};
  const auto factor = torch::tensor(0.75), divisor = torch::tensor(3.0);
  std::vector<torch::Tensor> expected;
  for (const auto& x : xs) expected.push_back(x.mul(factor).div(divisor));
  so::multi::mul_(xs, factor);
  so::multi::div_(xs, divisor);
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_TRUE(torch::equal(xs[i], expected[i])) << i;
  EXPECT_ANY_THROW(so::multi::mul_(xs, torch::ones({2})));  // not a 0-dim factor
}

// A Stable decay factor below 0 on the multi-tensor path, for each family with a Stable mode:
// with the family's eta_eff/eta as a 0-dim tensor (as on a device, never read back) the
// weights become NaN exactly as on the reference path and in the fused kernels' factor; with
// a host scale the optimizer refuses the step naming the cause, on every path, before any
// parameter changes (decay.h, decay_factor_of: one statement of the factor and its guard).
TEST(ForeachPath, StableFactorBelowZeroIsGuardedAsOnTheOtherPaths) {
  struct Case {
    std::string name;
    Make make;
    double lr, wd;
  };
  // SGDS: 1 - 1.0*0.5*(1/(1-0.9)) = -4; AdaiS: 1 - 2*0.75*1 = -0.5; AdamS: 1 - 1e-3*5e-4/1e-9.
  const std::vector<Case> families = {
      {"sgds", [](auto g) { return std::make_unique<so::SGDS>(std::move(g), so::SGDOptions(1.0).momentum(0.9).weight_decay(0.5)); }, 1.0, 0.5},
      {"adais", [](auto g) { return std::make_unique<so::AdaiS>(std::move(g), so::AdaiOptions(2.0).weight_decay(0.75)); }, 2.0, 0.75},
      {"adams", [](auto g) { return std::make_unique<so::AdamS>(std::move(g), so::AdamOptions(1e-3).weight_decay(5e-4)); }, 1e-3, 5e-4},
  };
  const double scale_of[] = {10.0, 1.0, 1e9};  // each family's eta_eff/eta at that step
  for (std::size_t f = 0; f < families.size(); ++f) {
    const auto& c = families[f];
    const so::DecayHyper hyper{c.lr, c.wd, so::Decay::Stable};
    const so::EffectiveScale device_scale{1.0, torch::scalar_tensor(scale_of[f], torch::kDouble)};
    std::vector<torch::Tensor> multi = {torch::ones({3}), torch::ones({2, 2})};
    so::multi::apply_weight_decay(multi, hyper, device_scale);
    auto reference = torch::ones({3});
    so::apply_weight_decay(reference, hyper, device_scale);
    for (const auto& t : multi) EXPECT_TRUE(t.isnan().all().item<bool>()) << c.name << t;
    EXPECT_TRUE(reference.isnan().all().item<bool>()) << c.name;
    EXPECT_TRUE(std::isnan(so::decay_factor(hyper, device_scale))) << c.name << " (fused factor)";

    // Through the optimizer: the same refusal on the multi-tensor, reference and fused paths.
    std::vector<std::string> messages;
    for (int path = 0; path < 3; ++path) {
      auto p = torch::ones({5}, torch::kFloat64).set_requires_grad(true);
      p.mutable_grad() = torch::full({5}, c.name == "adams" ? 1e-9 : 1.0, torch::kFloat64);
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(std::vector<torch::Tensor>{p});
      auto opt = c.make(std::move(groups));
      for (auto& g : opt->param_groups()) {  // path 2: the fused kernels; 0 and 1: unfused
        if (auto* o = dynamic_cast<so::SGDOptions*>(&g.options())) o->fused(path == 2);
        if (auto* o = dynamic_cast<so::AdamOptions*>(&g.options())) o->fused(path == 2);
        if (auto* o = dynamic_cast<so::AdaiOptions*>(&g.options())) o->fused(path == 2);
      }
      if (path == 0) opt->set_unfused_path(so::UnfusedPath::MultiTensor);
      std::string message;
      try {
        opt->step();
      } catch (const so::StableDecayError& e) {
        message = e.what();
      }
      EXPECT_NE(message.find("below 0"), std::string::npos) << c.name << " path " << path << ": " << message;
      EXPECT_TRUE(torch::equal(p, torch::ones({5}, torch::kFloat64))) << c.name << " path " << path;
      messages.push_back(message);
    }
    EXPECT_EQ(messages[0], messages[1]) << c.name;
    EXPECT_EQ(messages[0], messages[2]) << c.name;
  }
}

// On CUDA the multi-tensor path is the default (fused option on): it gives the reference
// path's numbers within 1e-12 in float64 and 1e-5 in float32 (CUDA's _foreach_ kernels
// compute in the tensors' own precision, in another order of operations than one op each).
TEST(ForeachPath, CudaIsTheDefaultAndMatchesTheReferencePathWhereAGpuIsPresent) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const auto& [name, make] : cases()) {
    auto fused_option = [make = make](auto groups) {
      auto opt = make(std::move(groups));
      for (auto& g : opt->param_groups()) {
        if (auto* o = dynamic_cast<so::SGDOptions*>(&g.options())) o->fused(true);
        if (auto* o = dynamic_cast<so::AdamOptions*>(&g.options())) o->fused(true);
        if (auto* o = dynamic_cast<so::AdaiOptions*>(&g.options())) o->fused(true);
      }
      return opt;
    };
    for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
      const auto multi = run(fused_option, true, false, torch::kCUDA, dtype);
      EXPECT_EQ(multi.opt->multi_tensor_parameters(), 4u) << name;
      const auto reference = run(make, true, false, torch::kCUDA, dtype);
      EXPECT_LT(max_rel_error(everything(multi), everything(reference)),
                dtype == torch::kFloat64 ? 1e-12 : 1e-5)
          << name << " " << dtype;
    }
  }
}

}  // namespace
