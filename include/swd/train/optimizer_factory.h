#pragma once
// A run's optimizer from its configuration: its lr and weight decay resolved once
// (resolve_hyper), and the optimizer made from a name of config/optimizer_names.h.

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "swd/config/config.h"
#include "swd/config/optimizer_names.h"
#include "swd/optim/decay.h"
#include "swd/optim/optimizer_base.h"

namespace swd {
namespace train {

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

/// One parameter group's base lr and weight decay (the schedules multiply them) and how each
/// was derived from the configuration.
struct GroupHyper {
  std::string role;  ///< "all", or with --no-decay-bias-norm "decay" and "no decay"
  double lr = 0, weight_decay = 0;
  std::string lr_from, weight_decay_from;  ///< e.g. "given", "default 5e-4 / lr (adamw: ...)"
};

/// A run's lr and weight decay as resolved from its configuration, once (resolve_hyper).
struct RunHyper {
  /// Every optimizer setting; lr and weight decay after the large-batch rule (the decay
  /// group's values: the optimizer's defaults).
  OptimizerHyper optimizer;
  std::optional<double> given_lr, given_weight_decay;  ///< as the configuration gave them
  /// Before the large-batch rule: what config.json records as lr and weight-decay (so that
  /// config.json alone reruns the run).
  double base_lr = 0, base_weight_decay = 0;
  double scale_k = 1;  ///< batch-size / base-batch-size
  std::vector<GroupHyper> groups;  ///< ["all"], or ["decay", "no decay"]
};

/// THE resolver of a run's lr and weight decay (and the optimizer's other settings), per
/// parameter group, from its configuration:
///   lr: as given, else its family's default (defaults_table());
///   weight decay: as given, else kDefaultWeightDecay; with weight-decay-over-lr (and adamw
///     without a given weight decay) that lambda divided by the lr, the paper's convention
///     that gives AdamW the per-step decay eta * lambda of the others (docs/TRAINING.md);
///   then the large-batch rule (scale-rule, schedule/scaling.h) multiplies lr or weight decay
///     by k = batch-size / base-batch-size;
///   with no-decay-bias-norm a second group, "no decay", gets weight decay 0.
/// Throws ConfigError for weight-decay-over-lr with an lr that is not > 0, std::invalid_argument
/// for an unknown optimizer or batch sizes that are not positive.
RunHyper resolve_hyper(const TrainConfig& config);

/// Writes `hyper` (resolve_hyper(config)'s result) back into `config`: lr and weight-decay
/// before the large-batch rule (weight-decay-over-lr applied, so cleared), every optimizer
/// setting the family uses (unset ones at its row of defaults_table()) and those it does not
/// use at the row's values: afterwards config.json alone reruns the run.
void write_resolved(TrainConfig& config, const RunHyper& hyper);
/// write_resolved(config, resolve_hyper(config)). Resolving twice changes nothing.
void resolve_optimizer_settings(TrainConfig& config);

/// The hyper-parameters `config` gives its optimizer, unset settings resolved as
/// resolve_optimizer_settings does (before any large-batch scaling).
OptimizerHyper optimizer_hyper(const TrainConfig& config);
/// The hyper-parameters of `optimizer` (a name of optimizer_names()) with every default.
OptimizerHyper default_hyper(const std::string& optimizer);

/// The optimizer of a run over `model`'s parameters: one group per role of `hyper.groups`
/// that has parameters, each with exactly that role's lr and weight decay. `made` receives the
/// groups in the optimizer's order (the schedules' bases).
std::unique_ptr<optim::OptimizerBase> make_run_optimizer(const std::string& name,
                                                         const RunHyper& hyper,
                                                         const torch::nn::Module& model,
                                                         std::vector<GroupHyper>& made);

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
