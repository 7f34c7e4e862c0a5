#pragma once
// A sweep's results, read back from its folder: runs.csv says which runs there are, their
// grid values and status; each finished run's metrics.csv gives the numbers and its
// config.json the settings it ran with. Runs that differ only in their seed form a group,
// summarised by mean, sample standard deviation and a 95% confidence interval (stats.h).
// Nothing else is read, so a folder that keeps runs.csv, sweep.json and every run's
// metrics.csv and config.json reports the same, byte for byte.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "swd/report/stats.h"
#include "swd/run/metrics.h"
#include "swd/sweep/analysis.h"
#include "swd/sweep/measures.h"

namespace swd {
namespace report {

/// Settings as (key, value as people read it), in file order.
using Settings = std::vector<std::pair<std::string, std::string>>;
/// The value of `key` in `settings`, or "".
std::string setting_of(const Settings& settings, const std::string& key);

struct RunResult {
  std::string folder;                    ///< relative to the sweep folder
  std::vector<std::string> axis_values;  ///< parallel to SweepResults::axes
  std::vector<run::EpochMetrics> epochs;
  Settings config;  ///< its config.json (top-level settings but records); empty when there is none
  /// The settings the report compares it by: config.json's, with its sweep's grid values and
  /// the weight decay as named (before weight-decay-over-lr; AdamW's lambda = weight decay x lr
  /// outside a sweep), records left out.
  Settings settings;
};

/// Records of a start, never settings of the experiment: provenance, out, resume, progress,
/// threads, workers, log-every, checkpoint-every, data-dir, tensorboard, derived. Never axes,
/// never in the settings tables.
bool is_record_key(const std::string& key);

/// Two values of one axis compared run by run over seeds: a - b. Named in a sweep file's
/// `[report] pairs` as ["adams", "adamw"] (an optimizer) or ["scale-rule=wd", "scale-rule=lr"].
struct PairSpec {
  std::string axis, a, b;
  bool operator==(const PairSpec& o) const { return axis == o.axis && a == o.a && b == o.b; }
};

/// The measures (sweep/measures.h: a sweep file's [analysis] names them too).
using sweep::Measure;
using sweep::MeasureInfo;
using sweep::measure_info;
using sweep::measure_named;
using sweep::measure_table;

/// BestTestError is the test error at the run's best epoch: that of the lowest validation
/// error when the run held samples out (--val-split), else that of the lowest test error.
double measure_of(const RunResult& run, Measure measure);
/// Whether the run's best epoch is chosen on validation (metrics.csv has val_error).
bool selected_on_validation(const RunResult& run);

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
  std::vector<std::string> repeats;  ///< finished runs repeating an earlier one's settings and seed: counted once
  std::vector<Group> groups;                     ///< first seen first
  size_t total_runs = 0;
  std::vector<PairSpec> pairs;  ///< sweep.json's [report] pairs (the paper's are added later)
  std::vector<sweep::PrimaryTest> primary;  ///< sweep.json's [analysis] primary tests
  Settings sweep_settings;      ///< sweep.json's [base] and [set]: the values chosen for all
  Settings shared;              ///< the settings (RunResult::settings) every finished run shares
  size_t runs_without_config = 0;  ///< finished runs whose config.json is missing

  /// The values of `axis` (empty when it is not an axis).
  std::vector<std::string> values_of(const std::string& axis) const;
  /// Index of `axis` in group_axes, or -1.
  int group_axis(const std::string& axis) const;
};

/// Reads <dir>/runs.csv, the metrics.csv and config.json of each run whose status is "done",
/// and the title, settings and pairs of <dir>/sweep.json if there is one. Throws
/// std::runtime_error naming the file at fault.
SweepResults load_results(const std::string& dir);

/// The same for several folders together (`swd report A B ... --out DIR`): sweep folders
/// (all their runs) and run folders (a run of a sweep is read through its sweep's runs.csv,
/// so that it is placed at its grid values). The axes are the grid columns whose values
/// differ, then the settings that differ between the runs, except records
/// (is_record_key), settings an override gave some runs of one sweep, and settings that
/// differ only together with the optimizer (model, dataset, scaling rule, batch size): those
/// describe the groups and are not axes. Runs alike in every axis but seed form a group and
/// pair over seeds; the sweeps' [report] pairs and [analysis] tests are merged. A run outside
/// a sweep is finished when metrics.csv holds its config's epochs. Throws std::runtime_error
/// naming a folder that is neither (no runs.csv, no config.json) or whose metrics cannot be read.
SweepResults load_folders(const std::vector<std::string>& paths);
/// load_folders, kept for callers that pass run folders.
SweepResults load_run_folders(const std::vector<std::string>& folders);

/// `swd report --pair A,B`: two names of one setting as in [report] pairs ("adams,adamw",
/// "scale-rule=wd,scale-rule=lr"), each checked as a value the setting can take. Throws
/// std::invalid_argument naming the text and what was expected.
PairSpec parse_pair(const std::string& text);

/// The weight decay a group's runs were given (their config.json's weight-decay: after
/// weight-decay-over-lr, before a batch-size scaling rule), or "" when unknown.
std::string applied_weight_decay(const SweepResults& results, const Group& group);
/// The weight decay the grid or sweep file names for `group` (its weight-decay axis value,
/// else sweep.json's), or "".
std::string nominal_weight_decay(const SweepResults& results, const Group& group);

/// Whether `key` means something for a run with settings `run`: momentum, dampening and
/// nesterov only for the SGD family, betas and eps only for Adam and Adai
/// (train::defaults_table's uses_momentum / uses_betas), the synthetic-* keys only for the
/// synthetic dataset, base-batch-size only with a scaling rule, subset-seed only with a
/// training subset, milestones and gamma only with a step schedule.
bool setting_applies(const std::string& key, const Settings& run);

/// The settings besides the group axes and seed whose values differ between the finished
/// runs (an override's lr, a setting that moves with the optimizer), in first-seen order.
std::vector<std::string> differing_settings(const SweepResults& results);

/// summary.csv: one row per group, its axis values, n, then per Measure its mean, std and
/// 95% CI (<measure>_ci95_lo, <measure>_ci95_hi; empty for n < 2).
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
