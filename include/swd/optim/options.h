#pragma once
// Options structs with chainable setters, like LibTorch's TORCH_ARG, that also remember which
// fields the user set. A parameter group's options then inherit every field they leave unset
// from the optimizer's defaults, as PyTorch's Python API does. (LibTorch 1.13 silently uses
// the struct's own defaults instead: docs/OPTIMIZERS.md, "Group options".)

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "swd/optim/decay.h"

namespace swd {
namespace optim {
namespace detail {

/// A value and whether the user set it.
template <typename T>
struct Field {
  Field(T initial) : value(std::move(initial)) {}  // NOLINT: implicit by design
  T value;
  bool is_set = false;
};

// Archive codecs: IValue holds doubles, bools and tuples; enums travel as int64.
void write_value(torch::serialize::OutputArchive& archive, const std::string& key, double v);
void write_value(torch::serialize::OutputArchive& archive, const std::string& key, bool v);
void write_value(torch::serialize::OutputArchive& archive, const std::string& key,
                 const std::tuple<double, double>& v);
void write_value(torch::serialize::OutputArchive& archive, const std::string& key, Decay v);
bool read_value(torch::serialize::InputArchive& archive, const std::string& key, double& v);
bool read_value(torch::serialize::InputArchive& archive, const std::string& key, bool& v);
bool read_value(torch::serialize::InputArchive& archive, const std::string& key,
                std::tuple<double, double>& v);
bool read_value(torch::serialize::InputArchive& archive, const std::string& key, Decay& v);

// Options as numbers (StateRecord): doubles as they are, booleans 0/1, tuples "name.0" and
// "name.1", decay modes their code. decode_value throws std::runtime_error naming a missing or
// invalid entry.
using NumberMap = std::map<std::string, double>;
void encode_value(NumberMap& out, const std::string& name, double v);
void encode_value(NumberMap& out, const std::string& name, bool v);
void encode_value(NumberMap& out, const std::string& name, const std::tuple<double, double>& v);
void encode_value(NumberMap& out, const std::string& name, Decay v);
void decode_value(const NumberMap& in, const std::string& name, double& v);
void decode_value(const NumberMap& in, const std::string& name, bool& v);
void decode_value(const NumberMap& in, const std::string& name, std::tuple<double, double>& v);
void decode_value(const NumberMap& in, const std::string& name, Decay& v);

/// One entry of an options struct's field list: its archive name and member.
template <typename C, typename T>
struct FieldRef {
  const char* name;
  Field<T> C::*member;
};
template <typename C, typename T>
constexpr FieldRef<C, T> field(const char* name, Field<T> C::*member) {
  return {name, member};
}

/// Shared behaviour of every options struct. `Derived` lists its fields once, in
/// `static auto fields() { return std::make_tuple(field("lr", &Derived::lr_), ...); }`.
template <typename Derived>
class OptionsBase : public torch::optim::OptimizerCloneableOptions<Derived> {
 public:
  /// Copies every field this object has not set from `defaults`; then all count as set.
  void inherit_unset_from(const Derived& defaults) {
    for_each([&](auto ref) {
      auto& mine = self().*(ref.member);
      if (!mine.is_set) mine.value = (defaults.*(ref.member)).value;
      mine.is_set = true;
    });
  }

  void serialize(torch::serialize::OutputArchive& archive) const override {
    for_each([&](auto ref) { write_value(archive, ref.name, (self().*(ref.member)).value); });
  }

  void serialize(torch::serialize::InputArchive& archive) override {
    for_each([&](auto ref) {
      auto& mine = self().*(ref.member);
      if (read_value(archive, ref.name, mine.value)) mine.is_set = true;
    });
  }

  /// Every field as numbers (StateRecord).
  NumberMap to_numbers() const {
    NumberMap out;
    for_each([&](auto ref) { encode_value(out, ref.name, (self().*(ref.member)).value); });
    return out;
  }
  /// Every field from numbers; all must be there. Then all count as set.
  void from_numbers(const NumberMap& in) {
    for_each([&](auto ref) {
      auto& mine = self().*(ref.member);
      decode_value(in, ref.name, mine.value);
      mine.is_set = true;
    });
  }

  friend bool operator==(const Derived& lhs, const Derived& rhs) {
    bool equal = true;
    for_each([&](auto ref) {
      equal = equal && (lhs.*(ref.member)).value == (rhs.*(ref.member)).value;
    });
    return equal;
  }

 private:
  template <typename F>
  static void for_each(F&& f) {
    std::apply([&](auto... refs) { (f(refs), ...); }, Derived::fields());
  }
  Derived& self() { return static_cast<Derived&>(*this); }
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace detail
}  // namespace optim
}  // namespace swd

/// Declares a chainable option `name` of type T: `opts.name(v)` sets it (and marks it set),
/// `opts.name()` reads it. Follow with `= default_value;`.
#define SWD_OPTION(T, name)                                  \
 public:                                                     \
  auto name(const T& new_value)->decltype(*this) {           \
    this->name##_.value = new_value;                         \
    this->name##_.is_set = true;                             \
    return *this;                                            \
  }                                                          \
  const T& name() const noexcept { return this->name##_.value; } \
  ::swd::optim::detail::Field<T> name##_
