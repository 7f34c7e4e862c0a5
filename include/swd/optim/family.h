#pragma once
// What the three families (SGD, Adam, Adai) have in common besides the update loop: typed
// access to their options and state, completion of group options from the defaults,
// validation at construction, and serialization. A family provides
//   Options  : detail::OptionsBase<Options> with lr, weight_decay and decay fields,
//   State    : ParamStateBase<State>,
//   validate(const Options&, const std::string& where), found by argument-dependent lookup.

#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <memory>
#include <stdexcept>
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

  /// Into a StateRecord: int64 fields as integers, finite double fields as reals, defined
  /// tensors.
  void to_record(StateRecord::Param& out) const {
    for_each([&](auto ref) {
      const auto& value = static_cast<const Derived&>(*this).*(ref.member);
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, torch::Tensor>) {
        if (value.defined()) out.tensors[ref.name] = value;
      } else if constexpr (std::is_same_v<T, double>) {
        if (std::isfinite(value)) out.reals[ref.name] = value;  // NaN: "not known", the default
      } else {
        out.integers[ref.name] = value;
      }
    });
  }
  /// From a StateRecord; absent entries keep their defaults. Tensors must have `param`'s dtype
  /// and shape; they are copied to its device. Throws std::runtime_error otherwise.
  void from_record(const StateRecord::Param& in, const torch::Tensor& param) {
    for_each([&](auto ref) {
      auto& value = static_cast<Derived&>(*this).*(ref.member);
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, torch::Tensor>) {
        const auto found = in.tensors.find(ref.name);
        if (found == in.tensors.end()) return;
        if (found->second.scalar_type() != param.scalar_type() ||
            !found->second.sizes().equals(param.sizes())) {
          throw std::runtime_error(std::string("optimizer state '") + ref.name +
                                   "' does not match its parameter's shape and dtype");
        }
        // In the parameter's layout (and on its device), as a state created by the first step.
        value = torch::empty_like(param).copy_(found->second);
      } else if constexpr (std::is_same_v<T, double>) {
        const auto found = in.reals.find(ref.name);
        if (found != in.reals.end()) value = found->second;
      } else {
        const auto found = in.integers.find(ref.name);
        if (found == in.integers.end()) return;
        if (found->second < 0) {
          throw std::runtime_error(std::string("optimizer state '") + ref.name + "' is negative");
        }
        value = found->second;
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
  void set_weight_decay(torch::optim::OptimizerOptions& options, double weight_decay) override {
    static_cast<Options&>(options).weight_decay(weight_decay);
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
  StateRecord export_state() const override {
    StateRecord record;
    for (std::size_t g = 0; g < param_groups_.size(); ++g) {
      const auto& group = param_groups_[g];
      record.groups.push_back(options_of(group.options()).to_numbers());
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

  void import_state(const StateRecord& record) override {
    if (record.groups.size() != param_groups_.size()) {
      throw std::runtime_error("the saved optimizer has " + std::to_string(record.groups.size()) +
                               " parameter groups, this one has " +
                               std::to_string(param_groups_.size()));
    }
    // Build everything first, then swap it in: a failure changes nothing.
    std::vector<std::unique_ptr<Options>> options;
    for (std::size_t g = 0; g < record.groups.size(); ++g) {
      auto o = std::make_unique<Options>(static_cast<const Options&>(defaults()));
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
