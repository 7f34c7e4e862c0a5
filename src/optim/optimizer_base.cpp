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
    // Without a preconditioner (P = 1) the ratio is 1 and needs no pass over theta.
    double ratio = out.step_scale;
    if (denominator.defined()) {
      const auto w_sq = param.detach().to(at::kDouble).square();
      const double norm_sq = w_sq.sum().item<double>();
      if (norm_sq > 0) ratio = w_sq.div_(denominator).sum().item<double>() / norm_sq;
    }
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

// ---- The step, in the order it runs (optimizer_base.h; docs/OPTIMIZERS.md, "The step"):
//   gather   the parameters with a gradient and the path each takes
//   moments  pass 1: state, step counts, moments, and sum(vhat) where vbar is needed
//   vbar     the mean of vhat over every element with a gradient, all groups
//   decay    each group's eta_eff/eta and decay factor, checked before any parameter changes
//   update   pass 2: the decay on theta_{t-1}, then the family's step
// Each part walks the parameters in group order; the fused parameters' loops are queued and
// run together once per pass, the multi-tensor parameters go a group at a time.

/// One parameter that takes part in a step.
struct OptimizerBase::StepEntry {
  std::size_t group;
  torch::Tensor* param;
  torch::Tensor grad;  ///< reference and multi-tensor paths: after pass 1, with the L2 term
  torch::optim::OptimizerParamState* state;
  bool fused = false;  ///< the fused CPU path
  bool multi = false;  ///< the multi-tensor path (else the reference path)
};

/// What pass 1 leaves for vbar: sum(vhat) and the number of elements it is over.
struct OptimizerBase::VhatTotal {
  torch::Tensor sum;       ///< reference and multi-tensor parameters (0-dim float64 tensor)
  double fused_sum = 0.0;  ///< fused parameters (host)
  int64_t elements = 0;
};

/// One group's part of a step: its entries [first, last) and its numbers for pass 2.
struct OptimizerBase::GroupStep {
  std::size_t group, first, last;
  DecayHyper hyper;
  EffectiveScale scale;  ///< eta_eff / eta, Stable mode with lambda != 0 only
  FusedScalars scalars;  ///< its decay factor is set only where the group has fused entries
  bool any_fused = false;
};

namespace {
/// One group's multi-tensor entries as lists, in entry order.
template <typename Entry>
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

void accumulate(torch::Tensor& total, const torch::Tensor& sum) {
  total = total.defined() ? total.add(sum.to(total.device())) : sum;
}
}  // namespace

std::vector<OptimizerBase::StepEntry> OptimizerBase::gather_entries() {
  // The parameters with a gradient, in group order. Host numbers are read (fused path, its
  // decay factor) only when every one of them is on the CPU.
  std::vector<StepEntry> entries;
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
      entries.push_back({g, &param, grad, &state_for(param)});
    }
  }
  // The path of each: fused where its kernels apply, multi-tensor where asked (or on CUDA
  // with the group's `fused` option on), else reference.
  fused_parameters_ = 0;
  multi_tensor_parameters_ = 0;
  for (auto& e : entries) {
    const bool fast = fused_enabled(param_groups_[e.group].options());
    e.fused = all_cpu && fast && fused::is_flat_cpu_float(*e.param) &&
              fused::same_layout(e.grad, *e.param) && can_fuse(*e.state, *e.param);
    e.multi = !e.fused && (unfused_path_ == UnfusedPath::MultiTensor ||
                           (e.param->device().is_cuda() && fast));
    fused_parameters_ += e.fused;
    multi_tensor_parameters_ += e.multi;
  }
  return entries;
}

std::vector<OptimizerBase::GroupStep> OptimizerBase::group_steps(
    const std::vector<StepEntry>& entries) const {
  std::vector<GroupStep> groups;
  for (std::size_t first = 0; first < entries.size();) {
    GroupStep gs;
    gs.group = entries[first].group;
    gs.first = first;
    for (; first < entries.size() && entries[first].group == gs.group; ++first) {
      gs.any_fused = gs.any_fused || entries[first].fused;
    }
    gs.last = first;
    gs.hyper = hyper_of(param_groups_[gs.group].options());
    groups.push_back(gs);
  }
  return groups;
}

OptimizerBase::VhatTotal OptimizerBase::update_moments(std::vector<StepEntry>& entries,
                                                       const std::vector<GroupStep>& groups,
                                                       bool want_vbar, fused::Loops& loops) {
  VhatTotal total;
  // Fused (queued) and reference parameters, in entry order.
  for (const auto& gs : groups) {
    const auto& options = param_groups_[gs.group].options();
    for (std::size_t i = gs.first; i < gs.last; ++i) {
      auto& e = entries[i];
      if (e.fused) {
        const FusedScalars scalars{l2_coefficient(gs.hyper), 1.0, want_vbar, 0.0};
        do_fused_prepare(*e.param, e.grad, options, *e.state, scalars, loops);
      } else if (!e.multi) {
        e.grad = gradient_with_l2(e.grad, *e.param, gs.hyper);  // g' = g + lambda*theta (L2)
        auto sum = do_prepare(*e.param, e.grad, options, *e.state, want_vbar);
        if (want_vbar) accumulate(total.sum, sum);
      }
      if (want_vbar) total.elements += e.param->numel();
    }
  }
  // The multi-tensor parameters, a group at a time: the same pass with _foreach_ ops.
  for (const auto& gs : groups) {
    MultiRun<StepEntry> run;
    for (std::size_t i = gs.first; i < gs.last; ++i) {
      if (entries[i].multi) run.add(entries[i]);
    }
    if (run.entries.empty()) continue;
    const auto& options = param_groups_[gs.group].options();
    run.grads = multi::gradients_with_l2(run.grads, run.params, gs.hyper);
    for (std::size_t i = 0; i < run.entries.size(); ++i) run.entries[i]->grad = run.grads[i];
    auto sum = do_prepare_many(run.params, run.grads, options, run.states, want_vbar);
    if (want_vbar) accumulate(total.sum, sum);
  }
  total.fused_sum = loops.run();  // the fused parameters' pass 1, in entry order (host)
  return total;
}

double OptimizerBase::reduce_vbar(const VhatTotal& total, bool want_vbar, bool any_fused) {
  // vbar = mean of vhat over every element of every parameter with a gradient
  // (docs/OPTIMIZERS.md, "The step"). Returns it as a host number where the fused kernels
  // read it (every parameter is on the CPU then), else 0.
  vbar_ = torch::Tensor();
  if (want_vbar && vbar_reducer_) {  // sharded: the mean over every process's parameters
    auto sum = total.sum.defined() ? total.sum : at::zeros({}, at::kDouble);
    if (any_fused) sum = sum.add(total.fused_sum);  // all on the CPU then
    const auto totals = reduced_totals(sum, total.elements);
    vbar_ = totals[0].div(totals[1]);  // vbar = the mean of vhat over every shard's elements
    return any_fused ? vbar_.item<double>() : 0.0;
  }
  if (!want_vbar || total.elements == 0) return 0.0;
  const auto elements = static_cast<double>(total.elements);
  if (!total.sum.defined()) {  // every parameter fused
    const double vbar = total.fused_sum / elements;
    vbar_ = at::scalar_tensor(vbar, at::kDouble);
    return vbar;
  }
  torch::Tensor sum = total.sum;
  if (any_fused) sum = sum.add(total.fused_sum);  // all on the CPU here
  vbar_ = sum.div(elements);
  return any_fused ? vbar_.item<double>() : 0.0;
}

void OptimizerBase::decay_factors(std::vector<GroupStep>& groups, bool want_vbar,
                                  double vbar_host) const {
  // Every Stable group's factor is checked before pass 2 changes any parameter
  // (docs/OPTIMIZERS.md, "The stable decay factor").
  for (auto& gs : groups) {
    if (gs.hyper.decay == Decay::Stable && gs.hyper.weight_decay != 0) {
      gs.scale = do_effective_scale(param_groups_[gs.group].options(), vbar_);
      check_stable_factor(gs.group, gs.hyper, gs.scale);
    }
    gs.scalars = FusedScalars{l2_coefficient(gs.hyper), 1.0, want_vbar, vbar_host};
    if (gs.any_fused) gs.scalars.decay_factor = decay_factor(gs.hyper, gs.scale);
  }
}

void OptimizerBase::apply_updates(std::vector<StepEntry>& entries,
                                  const std::vector<GroupStep>& groups, fused::Loops& loops) {
  for (const auto& gs : groups) {
    const auto& options = param_groups_[gs.group].options();
    MultiRun<StepEntry> run;  // this group's multi-tensor parameters
    for (std::size_t i = gs.first; i < gs.last; ++i) {
      auto& e = entries[i];
      if (e.fused) {  // decay and step in one queued loop
        do_fused_update(*e.param, e.grad, options, *e.state, gs.scalars, loops);
      } else if (e.multi) {
        run.add(e);
      } else {
        apply_weight_decay(*e.param, gs.hyper, gs.scale);  // theta_{t-1} *= factor
        do_update(*e.param, e.grad, options, *e.state, vbar_);
      }
    }
    if (!run.entries.empty()) {
      multi::apply_weight_decay(run.params, gs.hyper, gs.scale);
      do_update_many(run.params, run.grads, options, run.states, vbar_);
    }
  }
  loops.run();  // the fused parameters' pass 2
}

torch::Tensor OptimizerBase::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  resolve_new_groups();
  const bool want_vbar = do_needs_vbar();

  std::vector<StepEntry> entries = gather_entries();
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
  std::vector<GroupStep> groups = group_steps(entries);
  fused::Loops loops;
  const VhatTotal vhat = update_moments(entries, groups, want_vbar, loops);
  const double vbar_host = reduce_vbar(vhat, want_vbar, fused_parameters_ > 0);
  decay_factors(groups, want_vbar, vbar_host);
  apply_updates(entries, groups, loops);
  return loss;
}

}  // namespace optim
}  // namespace swd
