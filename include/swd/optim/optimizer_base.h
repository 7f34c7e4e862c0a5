#pragma once
// The one update loop shared by every swd optimizer (tinygrad-style: a family of optimizers as
// special cases of one general update). A step is two passes over the parameters that have a
// gradient, in group order:
//   pass 1  the family updates its state and moments (and reports sum(vhat) when the global
//           vbar is needed: Stable Adam, Adai),
//           vbar = sum of vhat over every element / number of elements      (docs/OPTIMIZERS.md)
//   pass 2  the decay mode shrinks theta_{t-1} (decay.h), then the family takes its step.
// Parameters without a gradient are skipped entirely: not counted in vbar, not decayed.
//
// Each parameter takes one of three paths through these passes. The group's `fused` option
// (on by default) switches both fast paths, the fused kernels on the CPU and the multi-tensor
// path on CUDA; off, the group's parameters take the reference path on every device:
//  - fused (the default where it applies): the family's CPU kernels walk the parameter's
//    memory once per pass, decay and step included (fused_prepare / fused_update). It applies
//    when the group's `fused` option is on, every parameter with a gradient in this step is on
//    the CPU, and the parameter, its gradient and its state are float32/float64/bfloat16
//    tensors that fill their memory in one common layout (bfloat16 computed in float32,
//    rounded where stored);
//  - multi-tensor (the default on CUDA: the group's `fused` option on and a parameter on a
//    CUDA device): the reference path's operations over all of a group's parameters at once,
//    with ATen's _foreach_ ops (prepare_many / update_many; src/optim/multi_tensor.cpp), one
//    kernel launch per operation and group instead of one per parameter. It reads nothing
//    back to the host either;
//  - reference (everything else, or `fused(false)`): op-by-op tensor operations
//    (prepare / apply_weight_decay / update), the readable statement of the method. It reads
//    nothing back to the host: vbar stays a device scalar.

#include <torch/optim/optimizer.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swd/optim/decay.h"
#include "swd/optim/state_record.h"

namespace swd {
namespace optim {

/// The instruction set of the fused CPU kernels. The library is built for the baseline ISA of
/// its target (SSE2 on x86-64) and also carries an AVX2+FMA variant of every fused loop, taken
/// at run time where the CPU has both. The two agree within the fused/reference bounds but
/// not bit for bit (FMA, summation order); a resumed run is bitwise equal to an uninterrupted
/// one on the same ISA.
enum class FusedIsa { Baseline, Avx2 };
/// The ISA in use: Avx2 where supported, unless the environment variable SWD_FUSED_ISA is
/// "baseline" when first asked, or set_fused_isa said otherwise.
FusedIsa fused_isa();
/// Selects the ISA for every later step, process-wide (Avx2 only where the CPU has it);
/// returns the one now in use.
FusedIsa set_fused_isa(FusedIsa isa);

namespace fused {
class Loops;  // the queued loops of one step (src/optim/fused_loop.h)
}  // namespace fused

/// The per-group numbers a fused kernel needs (decay.h's rules as host numbers).
struct FusedScalars {
  double l2 = 0;            ///< the kernel's gradient is g + l2 * theta (L2 mode), else l2 = 0
  double decay_factor = 1;  ///< theta *= decay_factor before the step (1: no decay)
  bool with_vbar = false;   ///< whether this step computes the global vbar
  double vbar = 0;          ///< its value (pass 2 only)
};

/// Which path the parameters that the fused CPU kernels do not take go (optimizer_base.h):
/// Auto (the default): multi-tensor on CUDA where the group's `fused` option is on, else
/// reference. MultiTensor: multi-tensor for all of them, CPU included (to test it against the
/// reference path there). The fused CPU kernels keep the parameters they apply to in both.
enum class UnfusedPath { Auto, MultiTensor };

class OptimizerBase : public torch::optim::Optimizer {
 public:
  using torch::optim::Optimizer::Optimizer;

  /// Selects the path of the parameters the fused kernels do not take (UnfusedPath).
  void set_unfused_path(UnfusedPath path) noexcept { unfused_path_ = path; }
  /// How many parameters the last step updated on the multi-tensor path.
  std::size_t multi_tensor_parameters() const noexcept { return multi_tensor_parameters_; }

  /// One optimization step (closure: re-evaluates the loss with grad mode on, as in LibTorch).
  torch::Tensor step(LossClosure closure = nullptr) final;

  /// The global vbar of the last step (0-dim float64 tensor on the parameters' device), or an
  /// undefined tensor when the last step did not need it (SGD family, Adam without Stable
  /// decay) or no step was taken yet. Reading it with .item() synchronises a GPU.
  const torch::Tensor& vbar() const noexcept { return vbar_; }

  /// Sharded training, where each process steps only its shard of the parameters (the Python
  /// package's `process_group`, docs/PYTHON.md): the global vbar must be the mean over every
  /// shard. When a reducer is set, each step that needs vbar hands it a float64 tensor
  /// [sum of vhat, element count] over this process's parameters with a gradient (on the
  /// parameters' device) and forms vbar = sum / count from what the tensor holds afterwards;
  /// the reducer sums both over the processes (an all-reduce). It is called at every such
  /// step, with [0, 0] where no parameter here has a gradient, so that every process takes
  /// part. An empty function removes it.
  using VbarReducer = std::function<void(torch::Tensor& sum_and_count)>;
  void set_vbar_reducer(VbarReducer reducer) { vbar_reducer_ = std::move(reducer); }

  /// How many parameters the last step updated on the fused path (the others took the
  /// reference path), to check that the fast path applies.
  std::size_t fused_parameters() const noexcept { return fused_parameters_; }

  /// Learning rate, weight decay and decay mode of group `index`.
  DecayHyper group_hyper(std::size_t index) const;

  /// What the last step's decay removed from theta in group `index`: eta*lambda (Decoupled)
  /// or eta*lambda*eta_eff/eta (Stable), with the group's current lr and weight decay;
  /// nullopt for L2 (not multiplicative) or before the first step of Stable Adam.
  std::optional<double> decay_per_step(std::size_t index) const;

  /// How this optimizer moves one parameter, for the learning dynamics the trainer measures
  /// (docs/DYNAMICS.md). P is the family's per-element step scale: 1 for SGD and Adai,
  /// 1 / (sqrt(vhat) + eps) for Adam (its step is eta * P * mhat).
  struct ParamDynamics {
    /// The tensor's step scale: 1 for SGD and Adai; for Adam 1 / RMS(sqrt(vhat) + eps) over
    /// its elements (robust to elements without gradient, whose P is 1/eps); 1 before a step.
    double step_scale = 1.0;
    /// L2 mode: the radial shrinking per step that the L2 term lambda*theta causes after the
    /// momentum and the preconditioning, eta * lambda * gain * <theta^2, P> / |theta|^2
    /// (gain: (1 - d) / (1 - mu) for SGD, 1 otherwise). 0 in the other modes.
    double l2_rate = 0.0;
  };
  /// `param` must belong to group `group`. Reads numbers back to the host.
  ParamDynamics param_dynamics(std::size_t group, const torch::Tensor& param) const;
  /// Group `index`'s decay rate per unit of eta * lambda, d / (eta * lambda), where it does not
  /// depend on the training: 1 (decoupled), the family's eta_eff/eta (stable: SGD, Adai), the
  /// L2 gain (L2: SGD, Adai). nullopt where it does (Adam: stable decay divides by sqrt(vbar),
  /// L2 is preconditioned by 1/sqrt(vhat)). `swd plan` sums the budget from it.
  std::optional<double> static_decay_ratio(std::size_t index) const;

  /// Every group's options and every parameter's state, as plain data.
  virtual StateRecord export_state() const = 0;
  /// Restores what export_state gave, on an optimizer over parameters of the same shapes.
  /// Throws std::runtime_error saying what does not fit; then nothing has changed.
  virtual void import_state(const StateRecord& record) = 0;

  /// Sets group `index`'s weight decay (weight-decay schedules use it as StepLR uses set_lr).
  /// Throws std::out_of_range for a bad index, std::invalid_argument for a bad value.
  void set_group_weight_decay(std::size_t index, double weight_decay);
  /// Sets group `index`'s lr, checked as the options are at construction (lr schedules use
  /// it). Throws std::out_of_range for a bad index, std::invalid_argument for a bad value.
  void set_group_lr(std::size_t index, double lr);

 protected:
  // ---- The hooks of the loop. FamilyOptimizer (family.h) implements every one of them, once
  // for all families: those named do_X cast options and state to the family's types and call
  // the family's typed hook X (family.h lists them and their defaults). ------------------------

  /// Per-group hyper-parameters the shared loop needs.
  virtual DecayHyper hyper_of(const torch::optim::OptimizerOptions& options) const = 0;
  /// Whether the group's options ask for the fast paths (fused on the CPU, multi-tensor on
  /// CUDA).
  virtual bool fused_enabled(const torch::optim::OptimizerOptions& options) const = 0;
  /// Writes the weight decay into a group's options if the family's validation accepts it
  /// (else throws std::invalid_argument naming the value and `where`, and changes nothing).
  virtual void set_weight_decay(torch::optim::OptimizerOptions& options, double weight_decay,
                                const std::string& where) = 0;
  /// The same for the lr.
  virtual void set_lr(torch::optim::OptimizerOptions& options, double lr, const std::string& where) = 0;
  /// Completes a group's options from the defaults and validates them (throws).
  virtual void resolve_group_options(torch::optim::OptimizerOptions& options,
                                     const std::string& where) = 0;
  virtual std::unique_ptr<torch::optim::OptimizerParamState> make_state() const = 0;
  /// Whether the family has fused kernels and every state tensor already allocated has
  /// `param`'s dtype, device and layout.
  virtual bool can_fuse(const torch::optim::OptimizerParamState& state,
                        const torch::Tensor& param) const = 0;

  /// Whether this step needs the global vbar.
  virtual bool do_needs_vbar() const = 0;
  /// The family's eta_eff / eta, used by Stable decay.
  virtual EffectiveScale do_effective_scale(const torch::optim::OptimizerOptions& options,
                                            const torch::Tensor& vbar) const = 0;
  /// The per-element divisor 1/P of a parameter's step with state `state` (undefined: 1),
  /// and the gain of the L2 term through the momentum (ParamDynamics).
  virtual torch::Tensor do_step_denominator(const torch::optim::OptimizerOptions& options,
                                            const torch::optim::OptimizerParamState& state) const = 0;
  virtual double do_l2_gain(const torch::optim::OptimizerOptions& options) const = 0;
  /// Whether eta_eff/eta and the step scale are constants of the options (not of the state).
  virtual bool do_static_scale() const = 0;
  /// Pass 1 for one parameter. `grad` already holds the L2 term where the mode is L2.
  /// Returns sum(vhat) over the parameter as a 0-dim float64 tensor when `want_vhat_sum`.
  virtual torch::Tensor do_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                                   const torch::optim::OptimizerOptions& options,
                                   torch::optim::OptimizerParamState& state,
                                   bool want_vhat_sum) = 0;
  /// Pass 2 for one parameter, after the weight decay: the family's step.
  virtual void do_update(torch::Tensor& param, const torch::Tensor& grad,
                         const torch::optim::OptimizerOptions& options,
                         torch::optim::OptimizerParamState& state, const torch::Tensor& vbar) = 0;
  /// Multi-tensor path: pass 1 (as do_prepare) for parameters of one group at once; sum(vhat)
  /// over them as a 0-dim float64 tensor when `want_vhat_sum`.
  virtual torch::Tensor do_prepare_many(
      const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
      const torch::optim::OptimizerOptions& options,
      const std::vector<torch::optim::OptimizerParamState*>& states, bool want_vhat_sum) = 0;
  /// Multi-tensor path: pass 2's step (as do_update, after the decay) for parameters of one
  /// group at once.
  virtual void do_update_many(const std::vector<torch::Tensor>& params,
                              const std::vector<torch::Tensor>& grads,
                              const torch::optim::OptimizerOptions& options,
                              const std::vector<torch::optim::OptimizerParamState*>& states,
                              const torch::Tensor& vbar) = 0;
  /// Fused path, pass 1 (raw gradient, L2 term in `scalars.l2`): updates the state that is not
  /// per element (step count, allocation) at once and queues its loop, if any, in `loops`,
  /// which the caller runs for every parameter together. When `scalars.with_vbar`, the queued
  /// sum's finish returns sum(vhat) over the parameter.
  virtual void do_fused_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                                const torch::optim::OptimizerOptions& options,
                                torch::optim::OptimizerParamState& state,
                                const FusedScalars& scalars, fused::Loops& loops) = 0;
  /// Fused path, pass 2: queues the decay and the family's step, one loop, in `loops`.
  virtual void do_fused_update(torch::Tensor& param, const torch::Tensor& grad,
                               const torch::optim::OptimizerOptions& options,
                               torch::optim::OptimizerParamState& state,
                               const FusedScalars& scalars, fused::Loops& loops) = 0;

  /// Resolves every group not resolved yet (groups added with add_param_group after
  /// construction are resolved at the next step). Call from the most derived constructor.
  void resolve_new_groups();
  /// After load(): every group's options came fully specified from the archive.
  void mark_groups_resolved() { resolved_groups_ = param_groups_.size(); }

 private:
  // The parts of step(), in the order it calls them (optimizer_base.cpp).
  struct StepEntry;  ///< one parameter with a gradient and its path
  struct GroupStep;  ///< one group's entries and numbers
  struct VhatTotal;  ///< pass 1's sum(vhat) and element count
  /// gather: the parameters with a gradient, in group order, each with its path.
  std::vector<StepEntry> gather_entries();
  /// The groups of `entries`, each with its hyper-parameters.
  std::vector<GroupStep> group_steps(const std::vector<StepEntry>& entries) const;
  /// moments (pass 1): g' (L2), state, step counts and moments; sum(vhat) when `want_vbar`.
  VhatTotal update_moments(std::vector<StepEntry>& entries, const std::vector<GroupStep>& groups,
                           bool want_vbar, fused::Loops& loops);
  /// vbar: sets vbar_; returns it as a host number where fused kernels read it, else 0.
  double reduce_vbar(const VhatTotal& total, bool want_vbar, bool any_fused);
  /// decay factor: each group's eta_eff/eta, the Stable check, the fused kernels' scalars.
  void decay_factors(std::vector<GroupStep>& groups, bool want_vbar, double vbar_host) const;
  /// update (pass 2): the decay on theta_{t-1}, then the family's step.
  void apply_updates(std::vector<StepEntry>& entries, const std::vector<GroupStep>& groups,
                     fused::Loops& loops);

  torch::optim::OptimizerParamState& state_for(const torch::Tensor& param);
  /// Throws std::out_of_range unless `index` names a parameter group.
  void check_group_index(std::size_t index) const;

  /// [sum of vhat, element count] after the reducer summed them over the processes.
  torch::Tensor reduced_totals(const torch::Tensor& vhat_sum, int64_t elements) const;

  torch::Tensor vbar_;
  VbarReducer vbar_reducer_;
  std::size_t resolved_groups_ = 0;
  std::size_t fused_parameters_ = 0;
  std::size_t multi_tensor_parameters_ = 0;
  UnfusedPath unfused_path_ = UnfusedPath::Auto;
};

}  // namespace optim
}  // namespace swd
