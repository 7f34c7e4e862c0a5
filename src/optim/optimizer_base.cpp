#include "swd/optim/optimizer_base.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "swd/optim/compat.h"

namespace swd {
namespace optim {

DecayHyper OptimizerBase::group_hyper(std::size_t index) const {
  TORCH_CHECK(index < param_groups_.size(), "parameter group ", index, " out of range (",
              param_groups_.size(), " groups)");
  return hyper_of(param_groups_[index].options());
}

std::optional<double> OptimizerBase::decay_per_step(std::size_t index) const {
  const DecayHyper hyper = group_hyper(index);
  if (hyper.decay == Decay::L2) return std::nullopt;
  if (hyper.decay == Decay::Decoupled) return hyper.lr * hyper.weight_decay;
  if (needs_vbar() && !vbar_.defined()) return std::nullopt;
  const EffectiveScale scale = effective_scale(param_groups_[index].options(), vbar_);
  const double s = scale.device.defined() ? scale.device.item<double>() : scale.host;
  return hyper.lr * hyper.weight_decay * s;
}

void OptimizerBase::set_group_weight_decay(std::size_t index, double weight_decay) {
  TORCH_CHECK(index < param_groups_.size(), "parameter group ", index, " out of range (",
              param_groups_.size(), " groups)");
  if (!(weight_decay >= 0)) {
    throw std::invalid_argument("invalid weight_decay " + std::to_string(weight_decay) +
                                " for parameter group " + std::to_string(index) +
                                " (expected weight_decay >= 0)");
  }
  set_weight_decay(param_groups_[index].options(), weight_decay);
}

void OptimizerBase::resolve_new_groups() {
  for (; resolved_groups_ < param_groups_.size(); ++resolved_groups_) {
    resolve_group_options(param_groups_[resolved_groups_].options(),
                          "parameter group " + std::to_string(resolved_groups_));
  }
}

torch::optim::OptimizerParamState& OptimizerBase::state_for(const torch::Tensor& param) {
  auto& slot = state_[compat::state_key(param)];
  if (!slot) slot = make_state();
  return *slot;
}

torch::Tensor OptimizerBase::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  resolve_new_groups();
  const bool want_vbar = needs_vbar();

  // Pass 1: state, step counts and moments; sum of vhat over every element with a gradient.
  std::vector<torch::Tensor> grads;  // gradient each parameter's moments saw (L2 term included)
  torch::Tensor vhat_sum;
  int64_t elements = 0;
  for (std::size_t g = 0; g < param_groups_.size(); ++g) {
    auto& group = param_groups_[g];
    const auto hyper = hyper_of(group.options());
    for (std::size_t i = 0; i < group.params().size(); ++i) {
      const auto& param = group.params()[i];
      const auto& grad = param.grad();
      if (!grad.defined()) continue;
      if (grad.is_sparse()) {
        throw std::invalid_argument("swd optimizers do not support sparse gradients (parameter " +
                                    std::to_string(i) + " of parameter group " +
                                    std::to_string(g) + ")");
      }
      grads.push_back(gradient_with_l2(grad, param, hyper));
      auto sum = prepare(param, grads.back(), group.options(), state_for(param), want_vbar);
      if (want_vbar) {
        vhat_sum = vhat_sum.defined() ? vhat_sum.add(sum.to(vhat_sum.device())) : sum;
        elements += param.numel();
      }
    }
  }
  if (grads.empty()) {  // no parameter has a gradient: nothing to do
    vbar_ = torch::Tensor();
    return loss;
  }
  // vbar = mean of vhat over every element of every parameter with a gradient (method.md §2).
  vbar_ = (want_vbar && elements > 0) ? vhat_sum.div(static_cast<double>(elements))
                                      : torch::Tensor();

  // Pass 2: weight decay on theta_{t-1}, then the family's step.
  std::size_t next = 0;
  for (auto& group : param_groups_) {
    const auto hyper = hyper_of(group.options());
    const bool stable = hyper.decay == Decay::Stable && hyper.weight_decay != 0;
    const EffectiveScale scale =
        stable ? effective_scale(group.options(), vbar_) : EffectiveScale{};
    for (auto& param : group.params()) {
      if (!param.grad().defined()) continue;
      apply_weight_decay(param, hyper, scale);
      update(param, grads[next++], group.options(), state_for(param), vbar_);
    }
  }
  return loss;
}

}  // namespace optim
}  // namespace swd
