#pragma once
// checkpoint.pt: everything needed to continue a run exactly -- model (parameters and
// buffers), optimizer state with each group's options, the position in the data (epoch and
// batch), the running totals of the epoch in progress, the finished epochs' metrics, the RNG
// state and the resolved configuration. Written atomically (swd/util/io.h): a crash at any moment
// leaves the previous checkpoint valid. The format is swd's own (src/run/tensor_file.h),
// checksummed, and its reader checks every byte it uses.

#include <torch/nn/module.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "swd/optim/optimizer_base.h"
#include "swd/run/metrics.h"

namespace swd {
namespace run {

/// Where a run is.
struct TrainPosition {
  int64_t epoch = 0;         ///< the epoch in progress, 0-based (= finished epochs)
  int64_t batches_done = 0;  ///< batches of that epoch already trained on
  int64_t steps_done = 0;    ///< training batches since the start of the run
};

/// Running totals of the epoch in progress (what its metrics row is computed from).
struct EpochTotals {
  double loss_sum = 0;       ///< sum over samples of the loss
  double grad_norm_sum = 0;  ///< sum over steps of ||grad L||
  double grad_norm_sq_sum = 0;
  double seconds = 0;        ///< training time so far
  int64_t wrong = 0;         ///< misclassified samples
  int64_t seen = 0;          ///< samples
  int64_t steps = 0;         ///< optimizer steps taken
  int64_t skipped = 0;       ///< steps skipped for a non-finite loss or gradient
  std::optional<double> sqrt_vbar;       ///< after the last step taken, for the metrics row
  std::optional<double> decay_per_step;  ///< (kept here: a resume may take no step before it)
};

struct CheckpointInfo {
  TrainPosition position;
  EpochTotals partial;
  std::vector<EpochMetrics> metrics;  ///< one per finished epoch
  std::string config_json;            ///< the run's resolved configuration
  /// The learning dynamics (swd/train/dynamics.h): the meter's running state as JSON and the
  /// rows of dynamics.csv of the finished epochs. Empty in checkpoints made before them.
  std::string dynamics_state;
  std::string dynamics_csv;
};

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const optim::OptimizerBase& optimizer, const CheckpointInfo& info);

/// Restores model and optimizer in place and returns the rest. Throws std::runtime_error
/// naming the file when it is missing, truncated, corrupted, inconsistent or from another
/// model or optimizer; then nothing has been changed.
CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               optim::OptimizerBase& optimizer);

/// The checkpoint's position, totals, metrics and configuration alone (checked as above),
/// without a model or optimizer: what a resume is compared against first.
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace run
}  // namespace swd
