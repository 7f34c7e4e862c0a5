#pragma once
// One row of metrics.csv per finished epoch.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace swd {
namespace run {

struct EpochMetrics {
  int64_t epoch = 0;              ///< 1-based
  double lr = 0;                  ///< group 0's learning rate at the epoch's last step
  double weight_decay = 0;        ///< group 0's weight decay at the epoch's last step
  // A mean over no samples or steps (every step of the epoch skipped) is NaN here and an
  // empty cell in metrics.csv: train_loss, train_error, grad_norm, grad_norm_sq.
  double train_loss = 0;          ///< mean over the epoch's samples
  double train_error = 0;         ///< fraction misclassified during the epoch
  double test_loss = 0;
  double test_error = 0;
  double grad_norm = 0;           ///< mean over steps of ||grad L|| (no weight-decay term)
  double grad_norm_sq = 0;        ///< mean over steps of ||grad L||^2
  double weight_norm = 0;         ///< ||theta|| over every parameter at the epoch's end
  std::optional<double> sqrt_vbar;       ///< last step's sqrt(vbar) where the optimizer has one
  std::optional<double> decay_per_step;  ///< last step's multiplicative decay eta*lambda*eta_eff/eta
  double seconds = 0;             ///< wall time of the epoch (training and evaluation)
  int64_t skipped_steps = 0;      ///< steps skipped for a non-finite loss or gradient
  // The learning dynamics of the tracked weights, aggregated (swd/train/dynamics.h,
  // docs/DYNAMICS.md); NaN (an empty cell) where not measured, and in runs made before them.
  double tracked_norm = std::numeric_limits<double>::quiet_NaN();     ///< |w| of them together
  double angular_update = std::numeric_limits<double>::quiet_NaN();   ///< per step, radians
  double relative_update = std::numeric_limits<double>::quiet_NaN();  ///< |dw| / |w| per step
  double effective_lr = std::numeric_limits<double>::quiet_NaN();     ///< eta * mean(P) / |w|^2
  double decay_rate = std::numeric_limits<double>::quiet_NaN();       ///< the last step's d
  double decay_budget = std::numeric_limits<double>::quiet_NaN();     ///< sum of d so far, e-folds
  // On the samples --val-split holds out of the training set; NaN (an empty cell) without one,
  // in epochs not evaluated, and in runs made before the columns.
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_error = std::numeric_limits<double>::quiet_NaN();
};

/// The best epoch of `rows`, as an index (rows.size() when no row was evaluated): that of the
/// lowest validation error when the run held samples out for it (chosen_on_validation), else
/// that of the lowest test error, which selects on the test set; the first of equals.
std::size_t best_epoch(const std::vector<EpochMetrics>& rows);
/// Whether `rows` choose their best epoch on validation (a row has a val_error).
bool chosen_on_validation(const std::vector<EpochMetrics>& rows);

/// The header line of metrics.csv.
std::string metrics_csv_header();
/// One row (no newline); empty cells for absent optionals; numbers round-trip exactly.
std::string metrics_csv_row(const EpochMetrics& m);
/// Header plus rows, each line ending in a newline.
std::string metrics_csv(const std::vector<EpochMetrics>& rows);
/// Parses metrics_csv's output (and the 13, 14 and 20 columns written before skipped_steps,
/// before the dynamics columns and before the validation columns). Throws std::runtime_error
/// naming the line on bad input.
std::vector<EpochMetrics> parse_metrics_csv(const std::string& text);
/// The rows of the metrics.csv at `path`: read by util::read_file (a regular file, never more
/// than its size) after its first bytes were found to be the header's ("epoch,"). Throws
/// std::runtime_error naming the path.
std::vector<EpochMetrics> read_metrics_csv(const std::string& path);

}  // namespace run
}  // namespace swd
