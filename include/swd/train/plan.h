#pragma once
// `swd plan`: what a run will be, before it trains -- its steps, the decay budget of each
// parameter group in e-folds (the sum over steps of the per-step decay rate d, theta <- (1 - d)
// theta), the predicted relaxation time of the scale-invariant weights, and whether the run is
// "long": a budget of at least 3 e-folds for them (docs/DYNAMICS.md).

#include <cstdint>
#include <string>
#include <vector>

#include "swd/config/config.h"

namespace swd {
namespace train {

/// The budget a run is called long from, in e-folds (docs/DYNAMICS.md, "Relaxation").
constexpr double kLongBudget = 3.0;

struct GroupPlan {
  std::string role;      ///< "all", "decay" or "no decay" (--no-decay-bias-norm)
  double lr = 0, weight_decay = 0;  ///< the group's resolved base values
  /// d / (eta * lambda): exact (static_decay_ratio) or measured by the probe.
  double ratio = 0;
  bool estimated = false;  ///< the ratio comes from a probe run (Adam with L2 or stable decay)
  double unit_budget = 0;  ///< sum over the run's steps of lr_t * wd_t (the schedules applied)
  double budget = 0;       ///< unit_budget * ratio, e-folds
  bool tracked = false;    ///< holds the run's tracked (scale-invariant) weights
};

struct RunPlan {
  int64_t steps_per_epoch = 0, epochs = 0, steps = 0;
  std::vector<GroupPlan> groups;
  double budget = 0;        ///< of the tracked weights' group
  bool estimated = false;
  int64_t probe_steps = 0;  ///< the probe's length, when one ran
  /// Predicted relaxation time of the tracked weights' norm (docs/DYNAMICS.md): 1/(k d) steps
  /// at the run's mean rate d = budget / steps, k = 4 (SGD, Adai), 2 (Adam, decoupled), 3
  /// (Adam, stable or L2); infinite without decay.
  double relaxation_steps = 0;
  double relaxation_efolds = 0;  ///< the same in budget units, 1/k
  bool long_run = false;         ///< budget >= kLongBudget
};

struct PlanOptions {
  /// Steps of the probe run for ratios that depend on training (0: none; they are then NaN).
  int64_t probe_steps = 200;
};

/// Plans `config` as swd train would run it (the same settings, checks and errors). A probe
/// trains a copy for `probe_steps` steps in a temporary folder (constant schedule) and
/// measures d / (eta * lambda) at its end.
RunPlan plan_run(const TrainConfig& config, const PlanOptions& options = {});

/// One line per group: "decay: budget 4.69 e-folds (exact)".
std::string describe_plan(const RunPlan& plan);

}  // namespace train
}  // namespace swd
