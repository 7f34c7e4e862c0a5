#pragma once
// The state of a sweep's run folders, what a (re)run does with each, and the runs.csv index.
//
// A run folder holds run.json (the sweep's settings for it), what `swd train` writes
// (config.json, metrics.csv, checkpoint.pt), train.log (its output) and exit.json (written by
// the sweep when the process ends: its exit status and wall time).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "swd/run/metrics.h"
#include "swd/sweep/plan.h"

namespace swd {
namespace sweep {

/// What a sweep does with a run folder.
enum class RunAction {
  Skip,    ///< finished: metrics.csv has every epoch and the process exited 0
  Start,   ///< nothing trained yet (absent, or left before its first epoch ended)
  Resume,  ///< a checkpoint of an unfinished (or unconfirmed) run: `swd train --resume`
  Blocked  ///< cannot be continued without losing data, or holds other settings: left alone
};

struct RunFolderState {
  RunAction action = RunAction::Start;
  std::string reason;                   ///< why, for Blocked (and a note for the others)
  std::optional<int> exit_status;       ///< from exit.json
  double wall_seconds = 0;              ///< from exit.json
  std::vector<run::EpochMetrics> epochs;  ///< the rows of metrics.csv that could be read
  bool has_checkpoint = false;
};

/// Looks at `<sweep_dir>/<run.folder>` (reads only).
RunFolderState inspect_run(const std::string& sweep_dir, const RunPlan& run);

/// "done", "failed" (the last attempt exited non-zero), "unfinished" (stopped before its last
/// epoch), "pending" (nothing trained) or "blocked": the status column of runs.csv.
std::string status_name(const RunFolderState& state);

/// Prepares an attempt at a run whose action is Start or Resume: creates the folder, removes the
/// last attempt's exit.json, and for a Start writes run.json and removes what a previous
/// attempt left before its first epoch ended (config.json, metrics.csv without rows).
void prepare_attempt(const std::string& sweep_dir, const RunPlan& run, RunAction action);

/// Records the end of an attempt in exit.json.
void write_exit_record(const std::string& run_dir, int exit_status, double wall_seconds);

/// The summary columns of runs.csv, after the grid columns (underscores: no `swd train` key
/// has one, so a grid column never takes one of these names).
const std::vector<std::string>& runs_csv_result_columns();

/// runs.csv: one row per run in expansion order: run (folder), status, the grid value of every
/// axis (one column per axis, named by its key), then runs_csv_result_columns():
/// epochs_planned, epochs_done, final_test_error, best_test_error, best_epoch, final_train_loss,
/// final_grad_norm, final_weight_norm, seconds (sum of the epochs' times), overrides (the
/// settings the overrides set, "key=value;..."). Errors are fractions, as in metrics.csv.
std::string runs_csv(const SweepSpec& spec, const std::vector<RunPlan>& runs,
                     const std::vector<RunFolderState>& states);

/// Inspects every run and writes <sweep_dir>/runs.csv atomically.
void write_runs_csv(const std::string& sweep_dir, const SweepSpec& spec,
                    const std::vector<RunPlan>& runs);

/// Folders under <sweep_dir>/runs/ that are not runs of this sweep (an edited config's old
/// runs); the sweep reports them and leaves them alone.
std::vector<std::string> foreign_run_folders(const std::string& sweep_dir,
                                             const std::vector<RunPlan>& runs);

}  // namespace sweep
}  // namespace swd
