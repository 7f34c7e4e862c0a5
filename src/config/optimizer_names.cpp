// The optimizer names and the families' defaults (optimizer_names.h).
#include "swd/config/optimizer_names.h"

#include <stdexcept>

namespace swd {
namespace config {

namespace {
struct Named {
  const char* name;
  OptimizerChoice choice;
};
const std::vector<Named>& catalogue() {
  using optim::Decay;
  static const std::vector<Named> all = {
      {"sgd", {"sgd", Decay::L2, false}},        {"sgdw", {"sgd", Decay::Decoupled, false}},
      {"sgds", {"sgd", Decay::Stable, false}},   {"adam", {"adam", Decay::L2, false}},
      {"adamw", {"adam", Decay::Decoupled, false}}, {"adams", {"adam", Decay::Stable, false}},
      {"amsgrad", {"adam", Decay::L2, true}},    {"amsgrads", {"adam", Decay::Stable, true}},
      {"adai", {"adai", Decay::L2, false}},      {"adais", {"adai", Decay::Stable, false}},
  };
  return all;
}
}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& n : catalogue()) names.emplace_back(n.name);
  return names;
}

OptimizerChoice parse_optimizer_name(const std::string& name) {
  for (const auto& n : catalogue()) {
    if (name == n.name) return n.choice;
  }
  std::string list;
  for (const auto& n : catalogue()) list += std::string(list.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("unknown optimizer '" + name + "' (expected one of " + list + ")");
}

const std::vector<FamilyDefaults>& defaults_table() {
  // family  lr    momentum  betas         eps   uses momentum / betas and eps
  static const std::vector<FamilyDefaults> rows = {
      {"sgd", 0.1, 0.9, {0.9, 0.999}, 1e-8, true, false},
      {"adam", 1e-3, 0.0, {0.9, 0.999}, 1e-8, false, true},
      {"adai", 0.5, 0.0, {0.1, 0.99}, 1e-3, false, true},
  };
  return rows;
}

const FamilyDefaults& family_defaults(const std::string& family) {
  for (const auto& row : defaults_table()) {
    if (family == row.family) return row;
  }
  throw std::invalid_argument("unknown optimizer family '" + family + "'");
}

}  // namespace config
}  // namespace swd
