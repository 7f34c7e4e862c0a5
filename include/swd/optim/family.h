#pragma once
// What the three families (SGD, Adam, Adai) have in common besides the update loop: typed
// access to their options and state, completion of group options from the defaults,
// validation at construction, and serialization. A family provides
//   Options  : detail::OptionsBase<Options> with lr, weight_decay and decay fields,
//   State    : ParamStateBase<State>,
//   validate(const Options&, const std::string& where), found by argument-dependent lookup.

#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "swd/optim/compat.h"
#include "swd/optim/optimizer_base.h"

namespace swd {
namespace optim {

/// Per-parameter state with generic serialization. `Derived` lists its members once in
/// `static auto fields() { return std::make_tuple(state_field("step", &Derived::step_), ...); }`.
template <typename C, typename T>
struct StateField {
  const char* name;
  T C::*member;
};
template <typename C, typename T>
constexpr StateField<C, T> state_field(const char* name, T C::*member) {
  return {name, member};
}

template <typename Derived>
class ParamStateBase : public torch::optim::OptimizerCloneableParamState<Derived> {
 public:
  void serialize(torch::serialize::OutputArchive& archive) const override {
    for_each([&](auto ref) {
      const auto& value = static_cast<const Derived&>(*this).*(ref.member);
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, torch::Tensor>) {
        if (!value.defined()) return;  // undefined tensor = absent key, as in LibTorch
      }
      archive.write(ref.name, c10::IValue(value));
    });
  }
  void serialize(torch::serialize::InputArchive& archive) override {
    for_each([&](auto ref) {
      auto& value = static_cast<Derived&>(*this).*(ref.member);
      c10::IValue stored;
      if (archive.try_read(ref.name, stored)) {
        value = stored.to<std::decay_t<decltype(value)>>();
      }
    });
  }

  /// Whether every state tensor allocated so far has `param`'s dtype, device, sizes and
  /// strides (so that a fused kernel can walk it in lockstep with the parameter).
  bool tensors_match(const torch::Tensor& param) const {
    bool match = true;
    for_each([&](auto ref) {
      const auto& value = static_cast<const Derived&>(*this).*(ref.member);
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, torch::Tensor>) {
        if (!value.defined()) return;
        match = match && value.layout() == param.layout() && !value.is_neg() &&
                value.scalar_type() == param.scalar_type() &&
                value.device() == param.device() && value.sizes() == param.sizes() &&
                value.strides() == param.strides();
      }
    });
    return match;
  }

 private:
  template <typename F>
  static void for_each(F&& f) {
    std::apply([&](auto... refs) { (f(refs), ...); }, Derived::fields());
  }
};

template <typename Options, typename State>
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

 protected:
  static const Options& options_of(const torch::optim::OptimizerOptions& options) {
    return static_cast<const Options&>(options);
  }
  static State& state_of(torch::optim::OptimizerParamState& state) {
    return static_cast<State&>(state);
  }

  DecayHyper hyper_of(const torch::optim::OptimizerOptions& options) const override {
    const auto& o = options_of(options);
    return {o.lr(), o.weight_decay(), o.decay()};
  }
  void resolve_group_options(torch::optim::OptimizerOptions& options,
                             const std::string& where) override {
    auto& o = static_cast<Options&>(options);
    o.inherit_unset_from(static_cast<const Options&>(defaults()));
    validate(o, where);
  }
  std::unique_ptr<torch::optim::OptimizerParamState> make_state() const override {
    return std::make_unique<State>();
  }
  bool fused_enabled(const torch::optim::OptimizerOptions& options) const override {
    return options_of(options).fused();
  }
  bool state_layout_matches(const torch::optim::OptimizerParamState& state,
                            const torch::Tensor& param) const override {
    return static_cast<const State&>(state).tensors_match(param);
  }
  /// True when some group uses `mode`.
  bool any_group_uses(Decay mode) const {
    for (const auto& group : param_groups_) {
      if (options_of(group.options()).decay() == mode) return true;
    }
    return false;
  }
};

}  // namespace optim
}  // namespace swd
