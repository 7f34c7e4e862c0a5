#pragma once
// The learning dynamics of a run, measured as it trains (docs/DYNAMICS.md): for the tracked
// weights -- the model's scale-invariant ones (models.h), or, in a model without
// normalisation, every weight of two or more dimensions -- per tensor and aggregated:
//   weight norm          |w|
//   angular update       the angle between w before and after an optimizer step, radians
//   relative update      |w_after - w_before| / |w_before|
//   effective lr         the step on the unit sphere: eta * s / |w_before|^2, with s the
//                        optimizer's step scale (1 for SGD and Adai, 1 / RMS(sqrt(vhat) + eps)
//                        for Adam; optimizer_base.h, ParamDynamics)
//   decay rate           d of the last step, theta *= 1 - d: eta*lambda (decoupled),
//                        eta*lambda*eta_eff/eta (stable), and for L2 the radial shrinking the
//                        L2 term causes after the momentum and the preconditioning
//   decay budget         the sum of d over every step of the run, in e-folds
// The budget is added up at every step. The other numbers are measured at every `every`-th
// step (and at each step that steps.jsonl logs) and averaged over the measured steps of an
// epoch or a --log-every interval. Aggregates: the norm over all tracked tensors together;
// the other numbers as the mean over tensors.

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

#include "swd/optim/optimizer_base.h"

namespace swd {
namespace train {

/// One tensor's numbers (or the aggregate) over a stretch of training.
struct TensorDynamics {
  double weight_norm = 0;
  double angular_update = 0;   ///< mean over the measured steps; NaN when none was measured
  double relative_update = 0;  ///< likewise
  double effective_lr = 0;     ///< likewise
  double decay_rate = 0;       ///< the last step's
  double decay_budget = 0;     ///< since the start of the run
};

/// The names of the tensors a run tracks: the model's scale-invariant parameters, else its
/// parameters of two or more dimensions.
std::vector<std::string> tracked_parameters(const torch::nn::Module& model,
                                            const std::vector<std::string>& scale_invariant);

class DynamicsMeter {
 public:
  /// `every` > 0: measure every `every`-th step of the run (1-based step numbers).
  DynamicsMeter(const torch::nn::Module& model, const std::vector<std::string>& tracked,
                const optim::OptimizerBase& optimizer, int64_t every);

  const std::vector<std::string>& names() const { return names_; }

  /// Call before optimizer.step() of training step `step` (1-based, of the run); `force`
  /// measures this step whatever the cadence (a step that steps.jsonl logs).
  void before_step(int64_t step, bool force);
  /// Whether a step of the current epoch was measured (the trainer measures an epoch's last
  /// step where the cadence skipped the whole epoch, so that every epoch has its numbers).
  bool epoch_measured() const { return epoch_.measured > 0; }
  /// Call after the optimizer's step: adds the step's decay rates to the budget and, for a
  /// measured step, its angular update, relative update and effective lr.
  void after_step();

  /// The epoch's numbers per tensor and aggregated (last element), then starts a new epoch.
  std::vector<TensorDynamics> end_epoch();
  /// The same for the --log-every interval, as a JSON object (aggregate and per tensor).
  std::string end_interval_json();

  /// The meter's running state (budgets, partial sums) as JSON, and back: a checkpoint
  /// carries it so that a resumed run continues bitwise. Throws std::runtime_error when the
  /// saved state does not fit the tracked tensors.
  std::string state_json() const;
  void restore(const std::string& json);
  /// Resuming a run whose checkpoint predates the dynamics: its past decay is not known, so
  /// the budgets are NaN (empty cells) from here on.
  void forget_budget();

 private:
  struct Sums {
    std::vector<double> angle, relative, effective_lr;
    int64_t measured = 0;
    void reset(std::size_t n);
  };
  std::vector<TensorDynamics> finish(Sums& sums);

  const optim::OptimizerBase& optimizer_;
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::vector<std::size_t> groups_;  ///< each tensor's parameter group
  int64_t every_;
  bool measuring_ = false;
  std::vector<at::Tensor> before_;   ///< w before the measured step
  std::vector<double> budget_, rate_;
  /// L2 groups: the rate per unit of eta * lambda, as last measured (exact for SGD and Adai,
  /// whose P is 1; for Adam it changes with vhat and is refreshed at each measured step).
  std::vector<double> l2_ratio_;
  Sums epoch_, interval_;
};

/// The random-walk model's equilibrium angular update per step of a scale-invariant tensor
/// (docs/DYNAMICS.md): sqrt(2 d (1 - mu) / (1 + mu)) for a decay rate d per step and an update
/// that averages the gradients with coefficient mu (SGD: momentum; Adam: beta1; Adai: 1 -
/// beta0). NaN for d < 0 or mu outside [0, 1).
double equilibrium_angular_update(double decay_rate, double momentum);

/// The averaging coefficient mu of an optimizer family's update in (E1) (docs/DYNAMICS.md):
/// SGD's momentum, Adam's beta1, Adai's 1 - beta0 (its beta1 where vhat ~ vbar). `family` is
/// sgd, adam or adai; `first_beta` the first of the betas. NaN for another family.
double update_averaging(const std::string& family, double momentum, double first_beta);

/// dynamics.csv: one row per epoch and tracked tensor, then the aggregate ("*").
std::string dynamics_csv_header();
std::string dynamics_csv_rows(int64_t epoch, const std::vector<std::string>& names,
                              const std::vector<TensorDynamics>& rows);

}  // namespace train
}  // namespace swd
