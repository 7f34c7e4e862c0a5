#pragma once
// The family interface. A family of optimizers (SGD, Adam, Adai) is a class
//
//   class Name : public FamilyOptimizer<Name, NameOptions, NameParamState> {
//    public:
//     using FamilyOptimizer::FamilyOptimizer;
//    private:
//     friend FamilyOptimizer;
//     ...the typed hooks where Name differs from the defaults below...
//   };
//
// with
//   NameOptions    : detail::OptionsBase<NameOptions> (options.h) with lr, weight_decay, decay
//                    and fused fields,
//   NameParamState : ParamStateBase<NameParamState> (param_state.h),
//   validate(const NameOptions&, const std::string& where), found by argument-dependent
//                    lookup, throwing std::invalid_argument (src/optim/validation.h).
// Everything else comes from here and from optimizer_base.h: the two-pass step and its three
// paths, the decay modes (decay.h), group options completed from the defaults and validated,
// LibTorch archives, StateRecord export and import. Options and state reach the hooks typed.
//
//   hook             path and pass (optimizer_base.h)  default
//   update           reference, pass 2: the step       none: every family has one
//   prepare          reference, pass 1: the moments,   nothing, no sum (no moments)
//                    and sum(vhat) when asked
//   needs_vbar       each step: is vbar needed?        false
//   effective_scale  Stable decay: eta_eff / eta       1 (Stable decays as Decoupled)
//   step_denominator dynamics: per-element divisor of   undefined (1: no preconditioning)
//                    the step (Adam: sqrt(vhat)+eps)
//   l2_gain          dynamics: the L2 term's gain      1
//                    through the momentum
//   static_scale     whether eta_eff/eta and P are     true
//                    known without training
//   prepare_many     multi-tensor, pass 1              prepare for each parameter
//   update_many      multi-tensor, pass 2              update for each parameter
//   fused_prepare    fused CPU, pass 1                 nothing
//   fused_update     fused CPU, pass 2 (with decay)    none: never the fused path
//
// A family declares a hook with the signature of the default below (Options and State its
// own); declaring it hides the default. docs/OPTIMIZERS.md, "Adding a family".

#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "swd/optim/compat.h"
#include "swd/optim/optimizer_base.h"
#include "swd/optim/param_state.h"

namespace swd {
namespace optim {

template <typename Derived, typename Options, typename State>
class FamilyOptimizer : public OptimizerBase {
 public:
  using options_type = Options;
  using state_type = State;

  /// Groups whose options leave fields unset inherit them from `defaults`.
  explicit FamilyOptimizer(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                           const Options& defaults = Options())
      : OptimizerBase(std::move(param_groups), std::make_unique<Options>(defaults)) {
    validate(defaults, "the defaults");
    resolve_new_groups();
  }
  explicit FamilyOptimizer(std::vector<torch::Tensor> params,
                           const Options& defaults = Options())
      : FamilyOptimizer(std::vector<torch::optim::OptimizerParamGroup>{
                            torch::optim::OptimizerParamGroup(std::move(params))},
                        defaults) {}

  void save(torch::serialize::OutputArchive& archive) const override {
    torch::optim::serialize<State, Options>(archive, *this);
  }
  void load(torch::serialize::InputArchive& archive) override {
    torch::optim::serialize<State, Options>(archive, *this);
    compat::load_group_options<Options>(archive, *this);
    mark_groups_resolved();
  }

  StateRecord export_state() const final {
    StateRecord record;
    for (std::size_t g = 0; g < param_groups_.size(); ++g) {
      const auto& group = param_groups_[g];
      record.groups.push_back(typed(group.options()).to_numbers());
      for (std::size_t i = 0; i < group.params().size(); ++i) {
        const auto found = state_.find(compat::state_key(group.params()[i]));
        if (found == state_.end()) continue;
        StateRecord::Param param;
        param.group = g;
        param.index = i;
        static_cast<const State&>(*found->second).to_record(param);
        record.params.push_back(std::move(param));
      }
    }
    return record;
  }

  void import_state(const StateRecord& record) final {
    if (record.groups.size() != param_groups_.size()) {
      throw std::runtime_error("the saved optimizer has " + std::to_string(record.groups.size()) +
                               " parameter groups, this one has " +
                               std::to_string(param_groups_.size()));
    }
    // Build everything first, then swap it in: a failure changes nothing.
    std::vector<std::unique_ptr<Options>> options;
    for (std::size_t g = 0; g < record.groups.size(); ++g) {
      auto o = std::make_unique<Options>(typed(defaults()));
      o->from_numbers(record.groups[g]);
      try {
        validate(*o, "saved parameter group " + std::to_string(g));
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());
      }
      options.push_back(std::move(o));
    }
    compat::StateMap state;
    for (const auto& saved : record.params) {
      if (saved.group >= param_groups_.size() ||
          saved.index >= param_groups_[saved.group].params().size()) {
        throw std::runtime_error("the saved optimizer state refers to parameter " +
                                 std::to_string(saved.index) + " of group " +
                                 std::to_string(saved.group) + ", which does not exist");
      }
      const auto& param = param_groups_[saved.group].params()[saved.index];
      auto loaded = std::make_unique<State>();
      loaded->from_record(saved, param);
      state[compat::state_key(param)] = std::move(loaded);
    }
    for (std::size_t g = 0; g < options.size(); ++g) {
      param_groups_[g].set_options(std::move(options[g]));
    }
    state_ = std::move(state);
    mark_groups_resolved();
  }

 protected:
  using Tensors = std::vector<torch::Tensor>;
  using States = std::vector<State*>;

  /// True when some group uses `mode`.
  bool any_group_uses(Decay mode) const {
    for (const auto& group : param_groups_) {
      if (typed(group.options()).decay() == mode) return true;
    }
    return false;
  }

  // ---- The family's hooks: the defaults (see the table above) ------------------------------

  bool needs_vbar() const { return false; }
  EffectiveScale effective_scale(const Options&, const torch::Tensor&) const { return {1.0, {}}; }
  torch::Tensor prepare(const torch::Tensor&, const torch::Tensor&, const Options&, State&, bool) {
    return {};
  }
  torch::Tensor step_denominator(const Options&, const State&) const { return {}; }
  double l2_gain(const Options&) const { return 1.0; }
  bool static_scale() const { return true; }
  /// sum(vhat) over the parameters, added in their order, when `want_vhat_sum`.
  torch::Tensor prepare_many(const Tensors& params, const Tensors& grads, const Options& options,
                             const States& states, bool want_vhat_sum) {
    torch::Tensor sum;
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto s = family().prepare(params[i], grads[i], options, *states[i], want_vhat_sum);
      if (want_vhat_sum) sum = sum.defined() ? sum.add(s) : s;
    }
    return sum;
  }
  void update_many(const Tensors& params, const Tensors& grads, const Options& options,
                   const States& states, const torch::Tensor& vbar) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      torch::Tensor param = params[i];
      family().update(param, grads[i], options, *states[i], vbar);
    }
  }
  void fused_prepare(const torch::Tensor&, const torch::Tensor&, const Options&, State&,
                     const FusedScalars&, fused::Loops&) {}
  /// Stands for "no fused kernels" (has_fused_kernels); never called.
  void fused_update(torch::Tensor&, const torch::Tensor&, const Options&, State&,
                    const FusedScalars&, fused::Loops&) {
    throw std::logic_error("fused_update called on a family without fused kernels");
  }

 private:
  // ---- OptimizerBase's hooks, for every family: the one place where options and state are
  // cast to the family's types.

  static const Options& typed(const torch::optim::OptimizerOptions& options) {
    return static_cast<const Options&>(options);
  }
  static Options& typed(torch::optim::OptimizerOptions& options) {
    return static_cast<Options&>(options);
  }
  static State& typed(torch::optim::OptimizerParamState& state) {
    return static_cast<State&>(state);
  }
  static States typed(const std::vector<torch::optim::OptimizerParamState*>& states) {
    States out;
    out.reserve(states.size());
    for (auto* s : states) out.push_back(static_cast<State*>(s));
    return out;
  }
  Derived& family() { return static_cast<Derived&>(*this); }
  const Derived& family() const { return static_cast<const Derived&>(*this); }
  /// Whether Derived declares its own fused_update.
  static constexpr bool has_fused_kernels() {
    return !std::is_same_v<decltype(&Derived::fused_update),
                           decltype(&FamilyOptimizer::fused_update)>;
  }

  DecayHyper hyper_of(const torch::optim::OptimizerOptions& options) const final {
    const auto& o = typed(options);
    return {o.lr(), o.weight_decay(), o.decay()};
  }
  bool fused_enabled(const torch::optim::OptimizerOptions& options) const final {
    return typed(options).fused();
  }
  void set_weight_decay(torch::optim::OptimizerOptions& options, double weight_decay,
                        const std::string& where) final {
    validate(Options(typed(options)).weight_decay(weight_decay), where);
    typed(options).weight_decay(weight_decay);
  }
  void set_lr(torch::optim::OptimizerOptions& options, double lr, const std::string& where) final {
    validate(Options(typed(options)).lr(lr), where);
    typed(options).lr(lr);
  }
  void resolve_group_options(torch::optim::OptimizerOptions& options,
                             const std::string& where) final {
    auto& o = typed(options);
    o.inherit_unset_from(typed(defaults()));
    validate(o, where);
  }
  std::unique_ptr<torch::optim::OptimizerParamState> make_state() const final {
    return std::make_unique<State>();
  }
  bool can_fuse(const torch::optim::OptimizerParamState& state,
                const torch::Tensor& param) const final {
    return has_fused_kernels() && static_cast<const State&>(state).tensors_match(param);
  }

  bool do_needs_vbar() const final { return family().needs_vbar(); }
  EffectiveScale do_effective_scale(const torch::optim::OptimizerOptions& options,
                                    const torch::Tensor& vbar) const final {
    return family().effective_scale(typed(options), vbar);
  }
  torch::Tensor do_step_denominator(const torch::optim::OptimizerOptions& options,
                                    const torch::optim::OptimizerParamState& state) const final {
    return family().step_denominator(typed(options), static_cast<const State&>(state));
  }
  double do_l2_gain(const torch::optim::OptimizerOptions& options) const final {
    return family().l2_gain(typed(options));
  }
  bool do_static_scale() const final { return family().static_scale(); }
  torch::Tensor do_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                           const torch::optim::OptimizerOptions& options,
                           torch::optim::OptimizerParamState& state, bool want_vhat_sum) final {
    return family().prepare(param, grad, typed(options), typed(state), want_vhat_sum);
  }
  void do_update(torch::Tensor& param, const torch::Tensor& grad,
                 const torch::optim::OptimizerOptions& options,
                 torch::optim::OptimizerParamState& state, const torch::Tensor& vbar) final {
    family().update(param, grad, typed(options), typed(state), vbar);
  }
  torch::Tensor do_prepare_many(const Tensors& params, const Tensors& grads,
                                const torch::optim::OptimizerOptions& options,
                                const std::vector<torch::optim::OptimizerParamState*>& states,
                                bool want_vhat_sum) final {
    return family().prepare_many(params, grads, typed(options), typed(states), want_vhat_sum);
  }
  void do_update_many(const Tensors& params, const Tensors& grads,
                      const torch::optim::OptimizerOptions& options,
                      const std::vector<torch::optim::OptimizerParamState*>& states,
                      const torch::Tensor& vbar) final {
    family().update_many(params, grads, typed(options), typed(states), vbar);
  }
  void do_fused_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                        const torch::optim::OptimizerOptions& options,
                        torch::optim::OptimizerParamState& state, const FusedScalars& scalars,
                        fused::Loops& loops) final {
    family().fused_prepare(param, grad, typed(options), typed(state), scalars, loops);
  }
  void do_fused_update(torch::Tensor& param, const torch::Tensor& grad,
                       const torch::optim::OptimizerOptions& options,
                       torch::optim::OptimizerParamState& state, const FusedScalars& scalars,
                       fused::Loops& loops) final {
    family().fused_update(param, grad, typed(options), typed(state), scalars, loops);
  }
};

}  // namespace optim
}  // namespace swd
