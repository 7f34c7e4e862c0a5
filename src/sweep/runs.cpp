// Run folders: what is in them, what a sweep does with them, and the runs.csv index.
#include "swd/sweep/runs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "swd/util/csv.h"
#include "swd/util/io.h"

namespace swd {
namespace sweep {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

/// The settings that decide a run's numbers, as a JSON object.
Json identity_of(const Json& settings) {
  Json out = Json::object();
  for (const auto& [key, value] : settings.items()) {
    if (is_identity_key(key)) out[key] = value;
  }
  return out;
}

std::optional<Json> read_json(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  try {
    Json doc = Json::parse(util::read_file(path.string()), nullptr, false);
    if (!doc.is_discarded()) return doc;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

RunFolderState inspect_run(const std::string& sweep_dir, const RunPlan& run) {
  RunFolderState state;
  const fs::path dir = fs::path(sweep_dir) / run.folder;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return state;

  if (const auto record = read_json(dir / "exit.json")) {
    if (record->contains("exit_status") && (*record)["exit_status"].is_number_integer()) {
      state.exit_status = (*record)["exit_status"].get<int>();
    }
    if (record->contains("wall_seconds") && (*record)["wall_seconds"].is_number()) {
      state.wall_seconds = (*record)["wall_seconds"].get<double>();
    }
  }
  state.has_checkpoint = fs::exists(dir / "checkpoint.pt", error);
  bool metrics_unreadable = false;
  if (fs::exists(dir / "metrics.csv", error)) {
    try {
      state.epochs = run::read_metrics_csv((dir / "metrics.csv").string());
    } catch (const std::exception&) {
      metrics_unreadable = true;
    }
  }
  const auto saved = read_json(dir / "run.json");
  const int64_t done = static_cast<int64_t>(state.epochs.size());
  const bool complete = done == run.epochs && state.epochs.back().epoch == run.epochs;

  if (!saved && fs::exists(dir / "run.json", error)) {  // there, but not a JSON document
    state.action = RunAction::Blocked;
    state.reason = "its run.json cannot be read (not valid JSON); move the folder away to run "
                   "it again";
  } else if (saved && (!saved->is_object() ||
                       identity_of(*saved) != identity_of(Json::parse(run_json(run))))) {
    state.action = RunAction::Blocked;
    state.reason = "its run.json holds other settings than this sweep gives it; move the "
                   "folder away to run it again";
  } else if (complete && state.exit_status == 0) {
    state.action = RunAction::Skip;
  } else if (state.has_checkpoint && !fs::exists(dir / "config.json", error)) {
    state.action = RunAction::Blocked;
    state.reason = "checkpoint.pt without config.json; move the folder away to run it again";
  } else if (state.has_checkpoint) {
    state.action = RunAction::Resume;
    state.reason = complete ? "every epoch is in metrics.csv but the exit was not recorded"
                            : std::to_string(done) + " of " + std::to_string(run.epochs) +
                                  " epochs done";
  } else if (done > 0 || metrics_unreadable) {
    state.action = RunAction::Blocked;
    state.reason = metrics_unreadable
                       ? "metrics.csv cannot be read and there is no checkpoint.pt; move the "
                         "folder away to run it again"
                       : "metrics.csv has " + std::to_string(done) + " epochs but there is no "
                         "checkpoint.pt to continue from; move the folder away to run it again";
  } else {
    state.action = RunAction::Start;
  }
  return state;
}

std::string status_name(const RunFolderState& state) {
  if (state.action == RunAction::Skip) return "done";
  if (state.action == RunAction::Blocked) return "blocked";
  if (state.exit_status && *state.exit_status != 0) return "failed";
  return state.epochs.empty() ? "pending" : "unfinished";
}

void prepare_attempt(const std::string& sweep_dir, const RunPlan& run, RunAction action) {
  const fs::path dir = fs::path(sweep_dir) / run.folder;
  std::error_code error;
  // The sweep makes runs/ and the run folders: a link planted there would lead its writes
  // elsewhere (swd/util/io.h).
  for (const fs::path& folder : {dir.parent_path(), dir}) {
    if (fs::is_symlink(folder, error)) {
      throw std::runtime_error("refusing to write into " + folder.string() + ": it is a symbolic "
                               "link (swd never writes through a link; remove it)");
    }
  }
  fs::create_directories(dir, error);
  if (error) throw std::runtime_error("cannot create " + dir.string() + ": " + error.message());
  fs::remove(dir / "exit.json", error);
  if (action != RunAction::Start) return;
  for (const char* leftover : {"config.json", "metrics.csv"}) fs::remove(dir / leftover, error);
  util::write_file_atomically((dir / "run.json").string(), run_json(run));
}

void write_exit_record(const std::string& run_dir, int exit_status, double wall_seconds) {
  const Json record = {{"exit_status", exit_status}, {"wall_seconds", wall_seconds}};
  util::write_file_atomically((fs::path(run_dir) / "exit.json").string(), record.dump(2) + "\n");
}

const std::vector<std::string>& runs_csv_result_columns() {
  static const std::vector<std::string> columns = {
      "epochs_planned",  "epochs_done",     "final_test_error",  "best_test_error",
      "best_epoch",      "final_train_loss", "final_grad_norm",  "final_weight_norm",
      "seconds",         "overrides"};
  return columns;
}

std::string runs_csv(const SweepSpec& spec, const std::vector<RunPlan>& runs,
                     const std::vector<RunFolderState>& states) {
  std::vector<std::string> header = {"run", "status"};
  for (const auto& axis : spec.grid) header.push_back(axis.key);
  for (const auto& c : runs_csv_result_columns()) header.push_back(c);
  std::string text = util::csv_line(header) + "\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const auto& state = states.at(i);
    std::vector<std::string> row = {run.folder, status_name(state)};
    for (const auto& p : run.point) row.push_back(display_value(p.json));
    row.push_back(std::to_string(run.epochs));
    row.push_back(std::to_string(state.epochs.size()));
    if (state.epochs.empty()) {
      row.insert(row.end(), 7, "");
    } else {
      const auto& last = state.epochs.back();
      // at the best epoch: on validation with --val-split, else the lowest test error
      const size_t best_index = run::best_epoch(state.epochs);
      const auto best = state.epochs.begin() + static_cast<std::ptrdiff_t>(
                                                   best_index < state.epochs.size() ? best_index : 0);
      double seconds = 0;
      for (const auto& m : state.epochs) seconds += m.seconds;
      for (double v : {last.test_error, best->test_error}) row.push_back(util::shortest_number(v));
      row.push_back(std::to_string(best->epoch));
      for (double v : {last.train_loss, last.grad_norm, last.weight_norm, seconds}) {
        row.push_back(std::isnan(v) ? "" : util::shortest_number(v));  // undefined: every step skipped
      }
    }
    std::string overrides;
    for (const auto& s : run.overridden) {
      overrides += (overrides.empty() ? "" : ";") + s.key + "=" + display_value(s.json);
    }
    row.push_back(overrides);
    text += util::csv_line(row) + "\n";
  }
  return text;
}

void write_runs_csv(const std::string& sweep_dir, const SweepSpec& spec,
                    const std::vector<RunPlan>& runs) {
  std::vector<RunFolderState> states;
  for (const auto& run : runs) states.push_back(inspect_run(sweep_dir, run));
  util::write_file_atomically((fs::path(sweep_dir) / "runs.csv").string(),
                               runs_csv(spec, runs, states));
}

std::vector<std::string> foreign_run_folders(const std::string& sweep_dir,
                                             const std::vector<RunPlan>& runs) {
  std::set<std::string> ours;
  for (const auto& run : runs) ours.insert(fs::path(run.folder).filename().string());
  std::vector<std::string> foreign;
  std::error_code error;
  const fs::path root = fs::path(sweep_dir) / "runs";
  if (!fs::is_directory(root, error)) return foreign;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && ours.count(name) == 0) foreign.push_back("runs/" + name);
  }
  std::sort(foreign.begin(), foreign.end());
  return foreign;
}

}  // namespace sweep
}  // namespace swd
