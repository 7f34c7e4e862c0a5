#pragma once
// The per-parameter state of a family (family.h): a struct that lists its members once and gets
// serialization (LibTorch archives and StateRecord) and the fused path's layout check from
// that list.

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#include "swd/optim/state_record.h"

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

}  // namespace optim
}  // namespace swd
