#include "swd/optim/optimizer_base.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "fused_loop.h"
#include "multi_tensor.h"
#include "swd/optim/compat.h"

namespace swd {
namespace optim {

void OptimizerBase::check_group_index(std::size_t index) const {
  if (index < param_groups_.size()) return;
  throw std::out_of_range("invalid parameter group index " + std::to_string(index) +
                          " (expected < " + std::to_string(param_groups_.size()) + ")");
}

DecayHyper OptimizerBase::group_hyper(std::size_t index) const {
  check_group_index(index);
  return hyper_of(param_groups_[index].options());
}

std::optional<double> OptimizerBase::decay_per_step(std::size_t index) const {
  const DecayHyper hyper = group_hyper(index);
  if (hyper.decay == Decay::L2) return std::nullopt;
  if (hyper.decay == Decay::Stable && do_needs_vbar() && !vbar_.defined()) return std::nullopt;
  EffectiveScale scale;
  if (hyper.decay == Decay::Stable) scale = do_effective_scale(param_groups_[index].options(), vbar_);
  return decay_rate(hyper, scale);
}

OptimizerBase::ParamDynamics OptimizerBase::param_dynamics(std::size_t group,
                                                          const torch::Tensor& param) const {
  check_group_index(group);
  const auto& options = param_groups_[group].options();
  const DecayHyper hyper = hyper_of(options);
  ParamDynamics out;
  torch::Tensor denominator;  // 1/P per element, or undefined for 1
  const auto found = state_.find(compat::state_key(param));
  if (found != state_.end()) denominator = do_step_denominator(options, *found->second);
  if (denominator.defined()) out.step_scale = 1 / denominator.square().mean().sqrt().item<double>();
  if (hyper.decay == Decay::L2 && hyper.weight_decay != 0) {
    // eta * lambda * gain * <theta^2, P> / |theta|^2: the component of the step's L2 part
    // eta * gain * P * lambda * theta along theta, relative to |theta| (docs/DYNAMICS.md).
    const auto w = param.detach().to(at::kDouble);
    const double norm_sq = w.square().sum().item<double>();
    const double weighted = denominator.defined() ? w.square().div(denominator).sum().item<double>() : norm_sq;
    const double ratio = norm_sq > 0 ? weighted / norm_sq : out.step_scale;
    out.l2_rate = hyper.lr * hyper.weight_decay * do_l2_gain(options) * ratio;
  }
  return out;
}

std::optional<double> OptimizerBase::static_decay_ratio(std::size_t index) const {
  const DecayHyper hyper = group_hyper(index);
  const auto& options = param_groups_[index].options();
  if (hyper.decay == Decay::Decoupled) return 1.0;  // d = eta * lambda
  if (!do_static_scale()) return std::nullopt;
  if (hyper.decay == Decay::Stable) return do_effective_scale(options, {}).host;
  return do_l2_gain(options);  // L2 without preconditioning: d = eta * lambda * gain
}

void OptimizerBase::set_group_weight_decay(std::size_t index, double weight_decay) {
  check_group_index(index);
  set_weight_decay(param_groups_[index].options(), weight_decay,
                   "parameter group " + std::to_string(index));
}

void OptimizerBase::set_group_lr(std::size_t index, double lr) {
  check_group_index(index);
  set_lr(param_groups_[index].options(), lr, "parameter group " + std::to_string(index));
}

void OptimizerBase::resolve_new_groups() {
  for (; resolved_groups_ < param_groups_.size(); ++resolved_groups_) {
    resolve_group_options(param_groups_[resolved_groups_].options(),
                          "parameter group " + std::to_string(resolved_groups_));
  }
}

torch::Tensor OptimizerBase::reduced_totals(const torch::Tensor& vhat_sum,
                                            int64_t elements) const {
  auto totals = at::stack({vhat_sum.to(at::kDouble),
                           at::scalar_tensor(static_cast<double>(elements),
                                             vhat_sum.options().dtype(at::kDouble))});
  vbar_reducer_(totals);
  return totals;
}

torch::optim::OptimizerParamState& OptimizerBase::state_for(const torch::Tensor& param) {
  auto& slot = state_[compat::state_key(param)];
  if (!slot) slot = make_state();
  return *slot;
}

namespace {
/// One parameter that takes part in a step.
struct Entry {
  std::size_t group;
  torch::Tensor* param;
  torch::Tensor grad;  ///< reference path: after pass 1, the gradient with the L2 term
  torch::optim::OptimizerParamState* state;
  bool fused;
  bool multi = false;  ///< the multi-tensor path
};

/// One group's multi-tensor entries as lists, in entry order.
struct MultiRun {
  std::vector<Entry*> entries;
  std::vector<torch::Tensor> params, grads;
  std::vector<torch::optim::OptimizerParamState*> states;
  void add(Entry& e) {
    entries.push_back(&e);
    params.push_back(*e.param);
    grads.push_back(e.grad);
    states.push_back(e.state);
  }
};
}  // namespace

torch::Tensor OptimizerBase::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  resolve_new_groups();
  const bool want_vbar = do_needs_vbar();

  // The parameters with a gradient, in group order, and the path each takes. Host numbers are
  // read (fused path, decay_factor) only when every one of them is on the CPU.
  std::vector<Entry> entries;
  bool all_cpu = true;
  for (std::size_t g = 0; g < param_groups_.size(); ++g) {
    auto& group = param_groups_[g];
    for (std::size_t i = 0; i < group.params().size(); ++i) {
      auto& param = group.params()[i];
      const auto& grad = param.grad();
      if (!grad.defined()) continue;
      if (grad.is_sparse()) {
        throw std::invalid_argument("swd optimizers do not support sparse gradients (parameter " +
                                    std::to_string(i) + " of parameter group " +
                                    std::to_string(g) + ")");
      }
      all_cpu = all_cpu && param.device().is_cpu() && grad.device().is_cpu();
      entries.push_back({g, &param, grad, &state_for(param), false});
    }
  }
  fused_parameters_ = 0;
  multi_tensor_parameters_ = 0;
  if (entries.empty()) {  // no parameter has a gradient: nothing to do
    vbar_ = torch::Tensor();
    if (want_vbar && vbar_reducer_) {  // but the other shards' step needs this one's [0, 0]
      auto device = at::Device(at::kCPU);  // the parameters' device, as for the others
      for (const auto& group : param_groups_) {
        if (group.params().empty()) continue;
        device = group.params().front().device();
        break;
      }
      const auto totals = reduced_totals(at::zeros({}, at::dtype(at::kDouble).device(device)), 0);
      if (totals[1].item<double>() > 0) vbar_ = totals[0].div(totals[1]);  // else none has
    }
    return loss;
  }
  for (auto& e : entries) {
    e.fused = all_cpu && fused_enabled(param_groups_[e.group].options()) &&
              fused::is_flat_cpu_float(*e.param) && fused::same_layout(e.grad, *e.param) &&
              can_fuse(*e.state, *e.param);
    if (e.fused) ++fused_parameters_;
    e.multi = !e.fused && (unfused_path_ == UnfusedPath::MultiTensor ||
                           (e.param->device().is_cuda() &&
                            fused_enabled(param_groups_[e.group].options())));
    if (e.multi) ++multi_tensor_parameters_;
  }
  const bool any_fused = fused_parameters_ > 0;

  // Pass 1: state, step counts and moments; sum of vhat over every element with a gradient.
  // The fused parameters' loops are queued and run together, once per pass.
  fused::Loops loops;
  torch::Tensor vhat_sum;  // reference parameters (device scalar)
  int64_t elements = 0;
  for (auto& e : entries) {
    const auto& options = param_groups_[e.group].options();
    const auto hyper = hyper_of(options);
    if (e.fused) {
      const FusedScalars scalars{l2_coefficient(hyper), 1.0, want_vbar, 0.0};
      do_fused_prepare(*e.param, e.grad, options, *e.state, scalars, loops);
    } else if (e.multi) {  // below, a group at a time
    } else {
      e.grad = gradient_with_l2(e.grad, *e.param, hyper);
      auto sum = do_prepare(*e.param, e.grad, options, *e.state, want_vbar);
      if (want_vbar) vhat_sum = vhat_sum.defined() ? vhat_sum.add(sum.to(vhat_sum.device())) : sum;
    }
    if (want_vbar) elements += e.param->numel();
  }
  // The multi-tensor parameters, a group at a time: the same pass with _foreach_ ops.
  for (std::size_t first = 0; first < entries.size();) {
    MultiRun run;
    const std::size_t g = entries[first].group;
    for (; first < entries.size() && entries[first].group == g; ++first) {
      if (entries[first].multi) run.add(entries[first]);
    }
    if (run.entries.empty()) continue;
    const auto& options = param_groups_[g].options();
    run.grads = multi::gradients_with_l2(run.grads, run.params, hyper_of(options));
    for (std::size_t i = 0; i < run.entries.size(); ++i) run.entries[i]->grad = run.grads[i];
    auto sum = do_prepare_many(run.params, run.grads, options, run.states, want_vbar);
    if (want_vbar) vhat_sum = vhat_sum.defined() ? vhat_sum.add(sum.to(vhat_sum.device())) : sum;
  }
  const double fused_vhat_sum = loops.run();  // fused parameters, in entry order (host)
  // vbar = mean of vhat over every element of every parameter with a gradient (docs/OPTIMIZERS.md).
  vbar_ = torch::Tensor();
  double vbar_host = 0.0;  // read by the fused kernels (all parameters on the CPU then)
  if (want_vbar && vbar_reducer_) {  // sharded: the mean over every process's parameters
    auto sum = vhat_sum.defined() ? vhat_sum : at::zeros({}, at::kDouble);
    if (any_fused) sum = sum.add(fused_vhat_sum);  // all on the CPU then
    const auto totals = reduced_totals(sum, elements);
    vbar_ = totals[0].div(totals[1]);  // vbar = the mean of vhat over every shard's elements
    if (any_fused) vbar_host = vbar_.item<double>();
  } else if (want_vbar && elements > 0) {
    if (!vhat_sum.defined()) {
      vbar_host = fused_vhat_sum / static_cast<double>(elements);
      vbar_ = at::scalar_tensor(vbar_host, at::kDouble);
    } else {
      if (any_fused) vhat_sum = vhat_sum.add(fused_vhat_sum);  // all on the CPU here
      vbar_ = vhat_sum.div(static_cast<double>(elements));
      if (any_fused) vbar_host = vbar_.item<double>();
    }
  }

  // Every Stable group's decay factor is checked before pass 2 changes any parameter.
  std::vector<EffectiveScale> scales(param_groups_.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (i > 0 && entries[i - 1].group == e.group) continue;  // once per group
    const auto hyper = hyper_of(param_groups_[e.group].options());
    if (hyper.decay != Decay::Stable || hyper.weight_decay == 0) continue;
    scales[e.group] = do_effective_scale(param_groups_[e.group].options(), vbar_);
    check_stable_factor(e.group, hyper, scales[e.group]);
  }

  // Pass 2: weight decay on theta_{t-1}, then the family's step.
  for (std::size_t first = 0; first < entries.size();) {
    const std::size_t g = entries[first].group;
    std::size_t last = first;
    bool group_fused = false;
    for (; last < entries.size() && entries[last].group == g; ++last) {
      group_fused = group_fused || entries[last].fused;
    }
    const auto& options = param_groups_[g].options();
    const auto hyper = hyper_of(options);
    const EffectiveScale& scale = scales[g];
    FusedScalars scalars{l2_coefficient(hyper), 1.0, want_vbar, vbar_host};
    if (group_fused) scalars.decay_factor = decay_factor(hyper, scale);
    MultiRun run;  // this group's multi-tensor parameters
    for (; first < last; ++first) {
      auto& e = entries[first];
      if (e.fused) {
        do_fused_update(*e.param, e.grad, options, *e.state, scalars, loops);
      } else if (e.multi) {
        run.add(e);
      } else {
        apply_weight_decay(*e.param, hyper, scale);
        do_update(*e.param, e.grad, options, *e.state, vbar_);
      }
    }
    if (!run.entries.empty()) {
      multi::apply_weight_decay(run.params, hyper, scale);
      do_update_many(run.params, run.grads, options, run.states, vbar_);
    }
  }
  loops.run();  // the fused parameters' pass 2
  return loss;
}

}  // namespace optim
}  // namespace swd
