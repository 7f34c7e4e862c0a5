#pragma once
// A sweep's results, read back from its folder: runs.csv says which runs there are, their
// grid values and status; each finished run's metrics.csv gives the numbers. Runs that differ
// only in their seed form a group, summarised by mean and sample standard deviation.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "swd/train/metrics.h"

namespace swd {
namespace report {

struct Stat {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std = std::numeric_limits<double>::quiet_NaN();  ///< sample (n - 1); NaN for n < 2
  int64_t n = 0;
};

/// Mean and sample standard deviation of `values`.
Stat mean_std(const std::vector<double>& values);

struct RunResult {
  std::string folder;                    ///< relative to the sweep folder
  std::vector<std::string> axis_values;  ///< parallel to SweepResults::axes
  std::vector<train::EpochMetrics> epochs;
};

/// The numbers every group summarises, each from a run's last epoch unless named "best".
enum class Measure { FinalTestError, BestTestError, FinalTrainLoss, FinalGradNorm, FinalWeightNorm };
double measure_of(const RunResult& run, Measure measure);

struct Group {
  std::vector<std::string> key;  ///< the value of each of SweepResults::group_axes
  std::vector<size_t> runs;      ///< indices into SweepResults::runs
  Stat stat(const std::vector<RunResult>& all, Measure measure) const;
};

struct SweepResults {
  std::string title;
  std::vector<std::string> axes;                 ///< the grid columns of runs.csv
  std::vector<std::vector<std::string>> values;  ///< per axis: its values, first seen first
  std::vector<std::string> group_axes;           ///< the axes with several values, but seed
  std::vector<RunResult> runs;                   ///< the finished runs
  std::vector<std::string> not_finished;         ///< "folder (status)" of the others
  std::vector<Group> groups;                     ///< first seen first
  size_t total_runs = 0;

  /// The values of `axis` (empty when it is not an axis).
  std::vector<std::string> values_of(const std::string& axis) const;
  /// Index of `axis` in group_axes, or -1.
  int group_axis(const std::string& axis) const;
};

/// Reads <dir>/runs.csv, the metrics.csv of each run whose status is "done", and the title in
/// <dir>/sweep.json if there is one. Throws std::runtime_error naming the file at fault.
SweepResults load_results(const std::string& dir);

/// summary.csv: one row per group, its axis values, n, then the mean and std of every Measure.
std::string summary_csv(const SweepResults& results);

// ---- words for axes and values, shared by tables and figures ------------------------------
/// `text` with every control character (line breaks included) replaced by a space. Every
/// string from runs.csv or a sweep file (titles, labels, keys) goes through it before it
/// reaches a gnuplot script or a line of report.md: runs.csv, run folders and sweep files
/// are untrusted input.
std::string one_line(const std::string& text);
/// "weight decay", "batch size", "training length (epochs)"...
std::string axis_title(const std::string& axis);
/// "adamw", "wd x k (weight-decay scaling)", "10 epochs", "batch 256"...
std::string value_label(const std::string& axis, const std::string& value);
/// The axis compared side by side: "optimizer" if it varies, else "scale-rule" if it varies,
/// else "".
std::string pivot_axis(const SweepResults& results);

}  // namespace report
}  // namespace swd
