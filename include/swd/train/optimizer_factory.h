#pragma once
// Optimizer names as the CLI spells them, mapped onto family x decay mode:
//   sgd = SGD + L2        sgdw = SGD + Decoupled      sgds = SGD + Stable
//   adam = Adam + L2      adamw = Adam + Decoupled    adams = Adam + Stable
//   amsgrad = Adam(amsgrad) + L2                       amsgrads = Adam(amsgrad) + Stable
//   adai = Adai + L2      adais = Adai + Stable

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "swd/optim/decay.h"
#include "swd/optim/optimizer_base.h"
#include "swd/train/config.h"

namespace swd {
namespace train {

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
/// 2011.11152).
inline constexpr double kDefaultWeightDecay = 5e-4;

/// Fills every unset optimizer setting of `config` (lr, weight_decay, momentum, betas, eps)
/// from its family's row of defaults_table(), and records the settings the family does not
/// use at the row's values: afterwards config.json alone reruns the run. Resolving twice
/// changes nothing.
void resolve_optimizer_settings(TrainConfig& config);

/// Hyper-parameters of one run's optimizer.
struct OptimizerHyper {
  double lr = 0;
  double weight_decay = 0;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  std::tuple<double, double> betas{0, 0};
  double eps = 0;
};

/// The hyper-parameters `config` gives its optimizer, unset settings resolved as
/// resolve_optimizer_settings does (before any large-batch scaling).
OptimizerHyper optimizer_hyper(const TrainConfig& config);
/// The hyper-parameters of `optimizer` (a name of optimizer_names()) with every default.
OptimizerHyper default_hyper(const std::string& optimizer);

/// The optimizer over `groups`. A group without options gets `hyper`; a group with options
/// keeps them (the decay/no-decay groups of make_decay_groups carry their own).
std::unique_ptr<optim::OptimizerBase> make_optimizer(
    const std::string& name, const OptimizerHyper& hyper,
    std::vector<torch::optim::OptimizerParamGroup> groups);

/// The same, with the model's parameters split by optim::make_decay_groups when
/// `no_decay_bias_norm` (biases and normalisation layers get weight decay 0).
std::unique_ptr<optim::OptimizerBase> make_optimizer_for(const std::string& name,
                                                         const OptimizerHyper& hyper,
                                                         const torch::nn::Module& model,
                                                         bool no_decay_bias_norm);

}  // namespace train
}  // namespace swd
