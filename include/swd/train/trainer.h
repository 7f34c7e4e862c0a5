#pragma once
// `swd train` as a library call: resolve the configuration, load the data, build the model
// and optimizer, train with the schedules, evaluate every epoch, and write config.json,
// metrics.csv, checkpoint.pt, model.pt and best.pt (weights.h) into the run's folder.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "swd/config/config.h"
#include "swd/run/metrics.h"

namespace swd {
namespace train {

/// SIGINT or SIGTERM arrived: the current step was finished and a checkpoint written.
class StopRequested : public std::runtime_error {
 public:
  StopRequested(int signal_number, const std::string& message)
      : std::runtime_error(message), signal(signal_number) {}
  int signal;  ///< the exit status is 128 + signal (130 for SIGINT, 143 for SIGTERM)
};

/// A non-finite loss or gradient under --on-nonfinite stop. The last good checkpoint is left
/// untouched.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunSummary {
  std::string out_dir;
  std::vector<run::EpochMetrics> epochs;  ///< every finished epoch, resumed ones included
  /// The best epoch: that of the lowest validation error with --val-split (best_on_validation),
  /// else that of the lowest test error; best_test_error is the test error at that epoch.
  bool best_on_validation = false;
  double best_test_error = 1;
  double best_val_error = 1;
  int64_t best_epoch = 0;
  double final_test_error = 1;
  int64_t skipped_steps = 0;  ///< over every epoch: steps skipped for a non-finite loss/gradient
};

/// Trains one run. Throws ConfigError / std::invalid_argument (bad configuration),
/// data::DataError (missing or malformed data), std::runtime_error (files), StopRequested
/// (SIGINT/SIGTERM, after checkpointing) or NonFiniteError; files already in the output
/// folder are never overwritten unless the run resumes them.
RunSummary run_training(const TrainConfig& config);

/// The configuration a resumed run continues with: the saved config.json of `out_dir`,
/// overridden by `overrides` (key, value) pairs. Only keys that do not change the run's
/// numbers may differ (epochs, threads, workers, progress, limit-batches, limit-test-batches,
/// checkpoint-every, log-every, out, resume);
/// any other difference is a ConfigError naming the key and both values.
TrainConfig resume_config(const std::string& out_dir,
                          const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace train
}  // namespace swd
