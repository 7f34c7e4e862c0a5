#pragma once
// A sweep: a grid of `swd train` runs described in one TOML or JSON file.
//
//   title = "SWD vs L2 vs decoupled"      # optional: the report's heading
//   [base]                                # any swd train key: the value of every run
//   dataset = "fashion-mnist"
//   lr-schedule = "step"
//   [grid]                                # any swd train key: a list; runs = the product
//   optimizer = ["sgd", "adam", "adamw", "adams"]
//   lr = [0.001]
//   weight-decay = [5e-4]
//   seed = [0, 1, 2]
//   [override.adamw]                      # runs whose optimizer is adamw
//   weight-decay-over-lr = true           # weight-decay := weight-decay / lr (the paper's AdamW)
//   [override."model=cnn"]                # runs whose model is cnn (any KEY=VALUE)
//   lr = 0.0005
//   [set]                                 # like `swd sweep --set KEY=VALUE`: wins over all
//   [report]                              # what `swd report` compares, besides the paper's
//   pairs = [["adams", "sgd"], ["scale-rule=wd", "scale-rule=lr"]]   # paired over seeds
//   [analysis]                            # the tests fixed before the runs (analysis.h)
//   primary = ["adams - adamw < 0 on final_test_error at weight-decay = 5e-3"]
//
// Each run's settings are base, then its grid point, then the matching overrides, then [set]
// and `swd sweep --set KEY=VALUE`, then weight-decay-over-lr (with the optimizer's default lr
// when the run sets none). Keys take dashes or underscores; `out` and `resume` are the
// sweep's to choose.
//
// A run's folder is runs/<the grid values that vary, KEY=VALUE joined by _>-<hash of its
// settings>, e.g. runs/optimizer=adamw_seed=1-3f2a91c0: the same settings always land in the
// same folder, and changed settings never reuse one.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "swd/sweep/analysis.h"

namespace swd {
namespace sweep {

/// One setting: a `swd train` key (with dashes) and its value as JSON text: 0.001, "adamw",
/// true, [0.9,0.999].
struct Setting {
  std::string key;
  std::string json;
};

/// A value as people read it: strings without quotes, lists as "a,b", numbers shortest.
std::string display_value(const std::string& json);

struct Axis {
  std::string key;
  std::vector<std::string> values;  ///< JSON texts, in file order, no two alike
};

struct Override {
  std::string name;         ///< as written: "adamw" or "model=cnn"
  std::string match_key;    ///< "optimizer" for a bare name
  std::string match_value;  ///< display form of the value to match
  std::vector<Setting> settings;
  bool weight_decay_over_lr = false;
};

/// The setting a name matches: "adamw" is optimizer = adamw, "model=cnn" is model = cnn
/// (key with dashes). Used by [override.NAME] and [report] pairs.
std::pair<std::string, std::string> match_of(const std::string& name);

struct SweepSpec {
  std::string title;
  /// [report] pairs: two names each (match_of), the same key, A - B compared over seeds.
  std::vector<std::pair<std::string, std::string>> report_pairs;
  std::vector<Setting> base;
  std::vector<Axis> grid;
  std::vector<Override> overrides;
  std::vector<Setting> forced;  ///< [set] and --set: one value in every run, after the overrides
  std::vector<PrimaryTest> primary;  ///< [analysis] primary: the tests fixed in advance
};

/// Reads a .toml or .json sweep file. Throws train::ConfigError naming the file, the table and
/// the bad key or value (unknown keys included).
SweepSpec read_sweep_file(const std::string& path);
/// The same from JSON text; `what` names the source in messages.
SweepSpec parse_sweep_json(const std::string& json_text, const std::string& what);

/// Checks one `swd train` setting (value as JSON text) as the trainer would; throws
/// ConfigError naming `where`. `out` and `resume` are the sweep's to choose.
void check_train_setting(const std::string& key, const std::string& value_json,
                         const std::string& where);
/// Text as a JSON value (its JSON text): numbers, booleans and lists as such, anything else
/// as a string ("5e-3" -> 0.005, "adamw" -> "adamw").
std::string json_from_text(const std::string& text);
/// `key` with underscores made dashes (keys take either).
std::string normalise_key(std::string key);

/// `swd sweep --set KEY=VALUE`: every run gets this value (a grid axis of KEY is dropped).
/// VALUE is read as JSON when it parses (numbers, true, [..]) and as a string otherwise.
void force_setting(SweepSpec& spec, const std::string& assignment);

/// The keys that do not change a run's numbers: they are left out of its identity (folder
/// hash), so a rerun with another --jobs finds the same folders.
bool is_identity_key(const std::string& key);

struct RunPlan {
  size_t index = 0;                 ///< position in the expansion, from 0
  std::string folder;               ///< relative to the sweep folder: runs/<slug>-<hash>
  std::vector<Setting> point;       ///< the run's value of every grid axis, in grid order
  std::vector<Setting> settings;    ///< what `swd train --config` gets (run.json)
  std::vector<Setting> overridden;  ///< the settings the overrides set or changed
  int64_t epochs = 0;               ///< resolved (default included)
  /// lr and weight decay as swd train resolves them (train::resolve_hyper: defaults,
  /// weight-decay-over-lr and the large-batch rule applied), and how the weight decay was
  /// derived.
  double lr = 0, weight_decay = 0;
  std::string weight_decay_from;
  bool sets_threads = false;        ///< the sweep chose `threads` itself
  bool decides_primary = false;     ///< in an arm of an [analysis] primary test (in_arm)
};

/// The most runs a sweep may have: each is a process and a folder, and a grid past this is
/// a typo more often than a plan. expand refuses more before making any.
constexpr size_t kMaxSweepRuns = 100000;

/// Every run of the sweep, in grid order (the last axis varies fastest). Each run's settings
/// are checked as `swd train` would; a bad one throws ConfigError naming the run. A grid of
/// more than kMaxSweepRuns runs throws ConfigError naming its size at once. Time and memory
/// are linear in the runs.
std::vector<RunPlan> expand(const SweepSpec& spec);

/// The run's settings as a JSON object (the run.json given to `swd train --config`).
std::string run_json(const RunPlan& run);
/// The sweep as JSON (sweep.json in the sweep folder: what produced the runs).
std::string sweep_json(const SweepSpec& spec);
/// sweep_json plus its "provenance" list: that of `earlier` (the sweep.json text of an earlier
/// start in the same folder, or "") with this start's record appended (swd/provenance.h).
std::string sweep_json_with_provenance(const SweepSpec& spec, const std::string& earlier);

}  // namespace sweep
}  // namespace swd
