#include "support.h"

#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <type_traits>

namespace swd_test {

const Json& golden() {
  static const Json data = [] {
    std::ifstream in(SWD_TEST_DATA_DIR "/golden/trajectories.json");
    if (!in) throw std::runtime_error("cannot open tests/golden/trajectories.json");
    return Json::parse(in);
  }();
  return data;
}

torch::Tensor tensor_from(const Json& values, const Json& shape) {
  std::vector<double> flat = values.get<std::vector<double>>();
  std::vector<int64_t> dims = shape.get<std::vector<int64_t>>();
  return torch::tensor(flat, torch::kFloat64).reshape(dims);
}

Problem::Problem(torch::Dtype dtype) {
  const auto& g = golden();
  for (const auto& [name, shape] : g["shapes"].items()) {
    params[name] = tensor_from(g["init"][name], shape).to(dtype).set_requires_grad(true);
  }
  for (const auto& names : g["groups"]) groups.push_back(names.get<std::vector<std::string>>());
  for (const auto& step : g["targets"]) {
    std::map<std::string, torch::Tensor> t;
    for (const auto& [name, values] : step.items()) {
      t[name] = tensor_from(values, g["shapes"][name]).to(dtype);
    }
    targets_.push_back(std::move(t));
  }
}

void Problem::set_gradients(int t) {
  const auto& g = golden();
  const double cubic = g["cubic"].get<double>();
  torch::NoGradGuard no_grad;
  for (const auto& [name, a] : g["curvature"].items()) {
    const auto start = starts_.find(name);
    if (start != starts_.end() && t < start->second) continue;
    auto& p = params.at(name);
    const auto& x = targets_.at(t - 1).at(name);
    p.mutable_grad() = (p - x).mul(a.get<double>()) + p.pow(3).mul(cubic);
    if (grad_decay_ != 1.0) p.mutable_grad().mul_(std::pow(grad_decay_, t - 1));
  }
}

void Problem::use_scenario(const Json& scenario) {
  starts_.clear();
  if (scenario.contains("starts")) {
    for (const auto& [name, step] : scenario["starts"].items()) starts_[name] = step.get<int>();
  }
  grad_decay_ = scenario.value("grad_decay", 1.0);
}

std::vector<torch::Tensor> Problem::group_params(size_t g) {
  std::vector<torch::Tensor> out;
  for (const auto& name : groups.at(g)) out.push_back(params.at(name));
  return out;
}

namespace {
template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> groups_with(const Json& scenario, Problem& problem,
                                                           const Options& base) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t i = 0; i < problem.groups.size(); ++i) {
    const auto& hyper = scenario["groups"][i];
    auto options = std::make_unique<Options>(base);
    options->lr(hyper["lr"].get<double>()).weight_decay(hyper["weight_decay"].get<double>());
    if constexpr (!std::is_same_v<Options, swd::optim::SGDOptions>) {  // a group's own options
      if (hyper.contains("betas")) {
        options->betas({hyper["betas"][0].get<double>(), hyper["betas"][1].get<double>()});
      }
      if (hyper.contains("eps")) options->eps(hyper["eps"].get<double>());
    }
    if constexpr (std::is_same_v<Options, swd::optim::AdamOptions>) {
      if (hyper.contains("amsgrad")) options->amsgrad(hyper["amsgrad"].get<bool>());
    }
    groups.emplace_back(problem.group_params(i), std::move(options));
  }
  return groups;
}
}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_swd_optimizer(const Json& scenario,
                                                            Problem& problem, bool fused) {
  namespace so = swd::optim;
  const auto& o = scenario["options"];
  const so::Decay decay = so::decay_from_string(scenario["decay"].get<std::string>());
  const std::string family = scenario["family"];
  problem.use_scenario(scenario);
  if (family == "sgd") {
    auto base = so::SGDOptions(1.0)
                    .momentum(o["momentum"].get<double>())
                    .dampening(o["dampening"].get<double>())
                    .nesterov(o["nesterov"].get<bool>())
                    .decay(decay)
                    .fused(fused);
    return std::make_unique<so::SGD>(groups_with(scenario, problem, base), base);
  }
  const auto betas = std::make_tuple(o["betas"][0].get<double>(), o["betas"][1].get<double>());
  if (family == "adam") {
    auto base = so::AdamOptions(1.0).betas(betas).eps(o["eps"].get<double>())
                    .amsgrad(o["amsgrad"].get<bool>()).decay(decay).fused(fused);
    return std::make_unique<so::Adam>(groups_with(scenario, problem, base), base);
  }
  auto base = so::AdaiOptions(1.0).betas(betas).eps(o["eps"].get<double>()).decay(decay)
                  .fused(fused);
  return std::make_unique<so::Adai>(groups_with(scenario, problem, base), base);
}

double max_rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  auto bd = b.detach().to(torch::kFloat64);
  auto diff = (a.detach().to(torch::kFloat64) - bd).abs();
  return (diff / bd.abs().clamp_min(1e-12)).max().item<double>();
}

void drop_lr_if_due(torch::optim::Optimizer& opt, int t) {
  const auto& g = golden();
  if (t != g["lr_drop_step"].get<int>()) return;
  auto& options = opt.param_groups()[0].options();
  options.set_lr(options.get_lr() * g["lr_drop"].get<double>());
}

void run_problem(Problem& problem, torch::optim::Optimizer& opt, int steps,
                 const std::function<void(int)>& after_step) {
  for (int t = 1; t <= steps; ++t) {
    problem.set_gradients(t);
    opt.step();
    drop_lr_if_due(opt, t);
    if (after_step) after_step(t);
  }
}

}  // namespace swd_test
