// A fourth family written the way docs/OPTIMIZERS.md ("Adding a family") describes: plain
// gradient descent, theta -= eta * g, declaring only its step. Everything else comes from the
// defaults of family.h: no moments, no vbar, eta_eff / eta = 1, the multi-tensor path as the
// step parameter by parameter, no fused kernels. It must then be SGD without momentum bit for
// bit in every decay mode (SGDS's (1 - d) / (1 - mu) is 1 there), on the reference and the
// multi-tensor paths, and never take the fused path.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "swd/optim/families.h"
#include "swd/optim/family.h"
#include "swd/optim/options.h"
#include "swd/optim/sgd.h"
#include "swd/train/optimizer_factory.h"

namespace so = swd::optim;

namespace {

// ---- The family: options, state, validation and the one hook it needs ----------------------

struct GDOptions : public so::detail::OptionsBase<GDOptions> {
  GDOptions() = default;
  explicit GDOptions(double lr) { this->lr(lr); }
  SWD_OPTION(double, lr) = 0.1;
  SWD_OPTION(double, weight_decay) = 0.0;
  SWD_OPTION(so::Decay, decay) = so::Decay::L2;
  SWD_OPTION(bool, fused) = true;

 public:
  static auto fields() {
    using so::detail::field;
    return std::make_tuple(field("lr", &GDOptions::lr_),
                           field("weight_decay", &GDOptions::weight_decay_),
                           field("decay", &GDOptions::decay_), field("fused", &GDOptions::fused_));
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

void validate(const GDOptions& o, const std::string& where) {
  if (!(o.lr() >= 0) || !(o.weight_decay() >= 0)) {
    throw std::invalid_argument("GD: invalid lr or weight_decay in " + where);
  }
}

struct GDParamState : public so::ParamStateBase<GDParamState> {
  static auto fields() { return std::make_tuple(); }
};

class GD : public so::FamilyOptimizer<GD, GDOptions, GDParamState> {
 public:
  using FamilyOptimizer::FamilyOptimizer;

 private:
  friend FamilyOptimizer;
  void update(torch::Tensor& param, const torch::Tensor& grad, const GDOptions& o, GDParamState&,
              const torch::Tensor&) {
    param.add_(grad, -o.lr());  // theta -= eta * g
  }
};

// ---- The checks -----------------------------------------------------------------------------

/// Two groups (the second with its own lr), float64 and float32, gradients that change every
/// step; parameter 1 has no gradient on every third step.
std::vector<torch::Tensor> run(so::OptimizerBase& opt, std::vector<torch::Tensor> params,
                               bool multi_tensor) {
  if (multi_tensor) opt.set_unfused_path(so::UnfusedPath::MultiTensor);
  for (int t = 1; t <= 12; ++t) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (i == 1 && t % 3 == 0) {
        params[i].mutable_grad() = torch::Tensor();
        continue;
      }
      params[i].mutable_grad() = torch::sin(params[i].detach() * (t + static_cast<double>(i)));
    }
    opt.step();
    EXPECT_EQ(opt.fused_parameters(), 0u);
    EXPECT_FALSE(opt.vbar().defined());
    if (multi_tensor) EXPECT_GT(opt.multi_tensor_parameters(), 0u);
  }
  return params;
}

std::vector<torch::Tensor> fresh_params() {
  torch::manual_seed(3);
  return {torch::randn({4, 5}, torch::kDouble), torch::randn({7}, torch::kDouble),
          torch::randn({3, 3}, torch::kFloat)};
}

template <typename Optimizer, typename Options>
std::vector<torch::Tensor> train(const Options& defaults, bool multi_tensor) {
  auto params = fresh_params();
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{params[0], params[1]});
  groups.emplace_back(std::vector<torch::Tensor>{params[2]},
                      std::make_unique<Options>(Options(0.03)));
  Optimizer opt(std::move(groups), defaults);
  return run(opt, params, multi_tensor);
}

TEST(OptimFamily, AFamilyWithOnlyAStepIsSgdWithoutMomentumBitForBit) {
  for (auto mode : {so::Decay::L2, so::Decay::Decoupled, so::Decay::Stable}) {
    for (bool multi_tensor : {false, true}) {
      SCOPED_TRACE(so::to_string(mode) + (multi_tensor ? " multi-tensor" : " reference"));
      const auto gd =
          train<GD>(GDOptions(0.1).weight_decay(0.05).decay(mode).fused(true), multi_tensor);
      const auto sgd = train<so::SGD>(
          so::SGDOptions(0.1).weight_decay(0.05).decay(mode).fused(false), multi_tensor);
      ASSERT_EQ(gd.size(), sgd.size());
      for (std::size_t i = 0; i < gd.size(); ++i) EXPECT_TRUE(torch::equal(gd[i], sgd[i])) << i;
    }
  }
}

TEST(OptimFamily, AFamilyGetsGroupOptionsAndStateRecordsFromTheBase) {
  auto params = fresh_params();
  GD opt(params, GDOptions(0.2).weight_decay(0.01).decay(so::Decay::Decoupled));
  EXPECT_THROW(GD(params, GDOptions(-1.0)), std::invalid_argument);
  opt.set_group_weight_decay(0, 0.02);
  const auto hyper = opt.group_hyper(0);
  EXPECT_EQ(hyper.lr, 0.2);
  EXPECT_EQ(hyper.weight_decay, 0.02);
  EXPECT_EQ(hyper.decay, so::Decay::Decoupled);
  const auto record = opt.export_state();
  ASSERT_EQ(record.groups.size(), 1u);
  EXPECT_EQ(record.groups[0].at("weight_decay"), 0.02);
}

// ---- The families by name (swd/optim/families.h) and the CLI's factory over them ------------

TEST(OptimFamilies, EachNameVisitsItsClassAndAnUnknownOneIsRefused) {
  EXPECT_EQ(so::family_names(), (std::vector<std::string>{"sgd", "adam", "adai"}));
  for (const auto& name : so::family_names()) {
    const std::string visited = so::visit_family(name, [](auto tag) -> std::string {
      using Optimizer = typename decltype(tag)::type;
      if (std::is_same_v<Optimizer, so::SGD>) return "sgd";
      if (std::is_same_v<Optimizer, so::Adam>) return "adam";
      if (std::is_same_v<Optimizer, so::Adai>) return "adai";
      return "?";
    });
    EXPECT_EQ(visited, name);
  }
  try {
    so::visit_family("adamw", [](auto) { return 0; });  // an optimizer name, not a family
    ADD_FAILURE() << "visited an unknown family";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "unknown optimizer family 'adamw' (expected one of sgd, adam, adai)");
  }
}

TEST(OptimFamilies, TheFactoryGivesEveryNameItsFamilyDecayAndHyperParameters) {
  namespace st = swd::train;
  st::OptimizerHyper h;
  h.lr = 0.25;
  h.weight_decay = 0.003;
  h.momentum = 0.7;
  h.dampening = 0.1;
  h.nesterov = false;
  h.betas = {0.8, 0.95};
  h.eps = 1e-6;
  for (const auto& name : st::optimizer_names()) {
    const auto choice = st::parse_optimizer_name(name);
    auto opt = st::make_optimizer(name, h, {torch::optim::OptimizerParamGroup(fresh_params())});
    const auto& options = opt->param_groups()[0].options();
    const auto hyper = opt->group_hyper(0);
    EXPECT_EQ(hyper.lr, 0.25) << name;
    EXPECT_EQ(hyper.weight_decay, 0.003) << name;
    EXPECT_EQ(hyper.decay, choice.decay) << name;
    if (choice.family == "sgd") {
      const auto& o = dynamic_cast<const so::SGDOptions&>(options);
      EXPECT_EQ(std::make_tuple(o.momentum(), o.dampening(), o.nesterov()), std::make_tuple(0.7, 0.1, false)) << name;
    } else if (choice.family == "adam") {
      const auto& o = dynamic_cast<const so::AdamOptions&>(options);
      EXPECT_EQ(o.betas(), h.betas) << name;
      EXPECT_EQ(o.eps(), 1e-6) << name;
      EXPECT_EQ(o.amsgrad(), choice.amsgrad) << name;
    } else {
      ASSERT_EQ(choice.family, "adai") << name;
      const auto& o = dynamic_cast<const so::AdaiOptions&>(options);
      EXPECT_EQ(o.betas(), h.betas) << name;
      EXPECT_EQ(o.eps(), 1e-6) << name;
    }
  }
}

}  // namespace
