#pragma once
// Optimizer names as the CLI and config files spell them, mapped onto family x decay mode:
//   sgd = SGD + L2        sgdw = SGD + Decoupled      sgds = SGD + Stable
//   adam = Adam + L2      adamw = Adam + Decoupled    adams = Adam + Stable
//   amsgrad = Adam(amsgrad) + L2                       amsgrads = Adam(amsgrad) + Stable
//   adai = Adai + L2      adais = Adai + Stable
// and the defaults of each family: the words and numbers a configuration is checked and
// resolved against (train/optimizer_factory.h makes the optimizer).

#include <string>
#include <tuple>
#include <vector>

#include "swd/optim/decay.h"

namespace swd {
namespace config {

std::vector<std::string> optimizer_names();

struct OptimizerChoice {
  std::string family;  ///< sgd | adam | adai
  optim::Decay decay = optim::Decay::L2;
  bool amsgrad = false;
};

/// Throws std::invalid_argument naming the bad name and listing the valid ones.
OptimizerChoice parse_optimizer_name(const std::string& name);

/// The defaults of one optimizer family. defaults_table() is the one place they are stated:
/// the trainer, `swd train --help`, the sweeps and config.json all take them from there (the
/// optimizer classes' own option structs, swd/optim/, are the library's defaults).
struct FamilyDefaults {
  const char* family;  ///< sgd | adam | adai
  double lr;
  double momentum;                   ///< SGD family only
  std::tuple<double, double> betas;  ///< Adam and Adai families only
  double eps;                        ///< Adam: epsilon; Adai: the inertia bound
  bool uses_momentum;  ///< false: momentum is recorded as this row's value, whatever was given
  bool uses_betas;     ///< false: betas and eps likewise
};

/// One row per family: lr 0.1 / 1e-3 / 0.5, SGD momentum 0.9, Adam betas (0.9, 0.999) and eps
/// 1e-8, Adai betas (0.1, 0.99) and eps 1e-3.
const std::vector<FamilyDefaults>& defaults_table();
/// The row of `family` (sgd | adam | adai); std::invalid_argument for another name.
const FamilyDefaults& family_defaults(const std::string& family);

/// The weight decay lambda of every optimizer name when none is given -- except adamw, whose
/// default is lambda / lr so that its per-step decay equals the others' (the paper, arXiv
/// 2011.11152; torch.optim.AdamW's default is 1e-2).
inline constexpr double kDefaultWeightDecay = 5e-4;

}  // namespace config

// The training loop works in the configuration's words: train::TrainConfig, train::ConfigError
// and the rest name the same entities as config::.
namespace train {
using namespace config;
}  // namespace train
}  // namespace swd
