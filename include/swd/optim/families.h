#pragma once
// The optimizer families by name: the one place a family's name ("sgd", "adam", "adai")
// becomes its class. The CLI's factory (src/train/optimizer_factory.cpp) goes through
// visit_family, and so can the Python binding (python/swd_ext.cpp); a family added to
// kFamilies (docs/OPTIMIZERS.md, "Adding a family") is known to every caller.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/sgd.h"

namespace swd {
namespace optim {

/// Stands for the optimizer class `Optimizer` (a FamilyOptimizer) and its name.
template <typename Optimizer>
struct FamilyTag {
  using type = Optimizer;
  using options_type = typename Optimizer::options_type;
  const char* name;
};

/// Every family, with its name.
inline constexpr auto kFamilies =
    std::make_tuple(FamilyTag<SGD>{"sgd"}, FamilyTag<Adam>{"adam"}, FamilyTag<Adai>{"adai"});

/// The names of kFamilies, in order.
inline std::vector<std::string> family_names() {
  return std::apply([](auto... tag) { return std::vector<std::string>{tag.name...}; }, kFamilies);
}

namespace detail {
template <std::size_t I, typename Visitor>
auto visit_family_from(const std::string& family, Visitor& visit)
    -> decltype(visit(std::get<0>(kFamilies))) {
  if constexpr (I == std::tuple_size_v<std::decay_t<decltype(kFamilies)>>) {
    std::string known;
    for (const auto& name : family_names()) known += (known.empty() ? "" : ", ") + name;
    throw std::invalid_argument("unknown optimizer family '" + family + "' (expected one of " +
                                known + ")");
  } else {
    if (family == std::get<I>(kFamilies).name) return visit(std::get<I>(kFamilies));
    return visit_family_from<I + 1>(family, visit);
  }
}
}  // namespace detail

/// Calls `visit(tag)` with the FamilyTag of the family named `family` and returns what it
/// returns (one type for every family): `visit_family("adam", [](auto tag) { using Optimizer =
/// typename decltype(tag)::type; ... })`. Throws std::invalid_argument naming an unknown
/// family and the known ones.
template <typename Visitor>
auto visit_family(const std::string& family, Visitor&& visit)
    -> decltype(visit(std::get<0>(kFamilies))) {
  return detail::visit_family_from<0>(family, visit);
}

}  // namespace optim
}  // namespace swd
