// Reading a sweep folder back: runs.csv, the runs' metrics, groups over seeds.
#include "swd/report/results.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "swd/sweep/plan.h"
#include "swd/sweep/runs.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

std::string setting_of(const Settings& settings, const std::string& key) {
  for (const auto& [k, v] : settings) {
    if (k == key) return v;
  }
  return "";
}

double measure_of(const RunResult& run, Measure measure) {
  const auto& last = run.epochs.back();
  switch (measure) {
    case Measure::FinalTestError: return last.test_error;
    case Measure::BestTestError: {
      double best = last.test_error;
      for (const auto& m : run.epochs) best = std::min(best, m.test_error);
      return best;
    }
    case Measure::FinalTrainLoss: return last.train_loss;
    case Measure::FinalGradNorm: return last.grad_norm;
    case Measure::FinalWeightNorm: return last.weight_norm;
  }
  return 0;
}

Stat Group::stat(const std::vector<RunResult>& all, Measure measure) const {
  std::vector<double> values;
  for (size_t r : runs) values.push_back(measure_of(all[r], measure));
  return mean_std(values);
}

std::vector<std::string> SweepResults::values_of(const std::string& axis) const {
  for (size_t a = 0; a < axes.size(); ++a) {
    if (axes[a] == axis) return values[a];
  }
  return {};
}

int SweepResults::group_axis(const std::string& axis) const {
  for (size_t a = 0; a < group_axes.size(); ++a) {
    if (group_axes[a] == axis) return static_cast<int>(a);
  }
  return -1;
}

namespace {

/// root/relative, refused unless it stays inside root: runs.csv is untrusted input, and a
/// run's folder must not lead the report to read files elsewhere (an absolute path, "..", or
/// a link out of the folder).
std::string path_inside(const fs::path& root, const std::string& relative,
                        const std::string& index_path) {
  const fs::path rel(relative);
  bool plain = !relative.empty() && rel.is_relative() && !rel.has_root_name();
  for (const auto& part : rel) plain = plain && part != "..";
  std::error_code error;
  const fs::path base = fs::weakly_canonical(root, error);
  const fs::path full = fs::weakly_canonical(root / rel, error);
  if (plain && !error) {
    const auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
    plain = b == base.end() && f != full.end();
  }
  if (!plain) {
    throw std::runtime_error(index_path + ": run folder '" + one_line(relative) +
                             "' is not a folder inside " + root.string());
  }
  return (root / rel).string();
}

/// The settings of a JSON object, values as people read them; nested objects (the derived
/// record, provenance) and the keys that only say where a run was written are left out.
Settings settings_of(const nlohmann::json& doc) {
  Settings out;
  if (!doc.is_object()) return out;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_object() || key == "out" || key == "resume") continue;
    out.emplace_back(key, sweep::display_value(value.dump()));
  }
  return out;
}

/// A run folder's config.json as settings; empty when the file is not there.
Settings read_config(const std::string& folder) {
  const std::string path = folder + "/config.json";
  std::error_code error;
  if (!fs::exists(path, error)) return {};
  const auto doc = nlohmann::json::parse(util::read_file(path), nullptr, false);
  if (!doc.is_object()) throw std::runtime_error(path + " is not a JSON object");
  return settings_of(doc);
}

/// Run folders by real path: two entries for one folder, however spelled, would count one
/// run as two seeds (an SD of 0, a CI of zero width).
class FoldersSeen {
 public:
  /// The name the folder `key` (a path in one normal form) was given first when it was seen
  /// before; "" otherwise.
  std::string add(const std::string& key, const std::string& shown) {
    const auto [it, fresh] = first_name_.emplace(key, shown);
    return fresh ? "" : it->second;
  }

 private:
  std::unordered_map<std::string, std::string> first_name_;  ///< key -> the name given
};

/// The folder's real path (links and ".." resolved), the key of FoldersSeen.
std::string real_path(const fs::path& folder) {
  std::error_code error;
  const fs::path real = fs::weakly_canonical(folder, error);
  return error ? fs::absolute(folder, error).lexically_normal().string() : real.string();
}

std::string twice(const std::string& shown, const std::string& earlier) {
  return one_line(shown) + " twice" + (earlier == shown ? "" : " (also as " + one_line(earlier) + ")") +
         " (expected each run once: a run counted twice looks like two seeds)";
}

/// The axes' values (first seen first), the runs' groups (runs alike but for their seed) and
/// the config.json settings every finished run shares. Linear in the rows (hashed look-ups).
void group_runs(SweepResults& results, const std::vector<std::vector<std::string>>& all_rows) {
  results.values.assign(results.axes.size(), {});
  std::vector<std::unordered_set<std::string>> seen_values(results.axes.size());
  for (const auto& row : all_rows) {
    for (size_t a = 0; a < results.axes.size(); ++a) {
      if (seen_values[a].insert(row[a]).second) results.values[a].push_back(row[a]);
    }
  }
  std::vector<size_t> group_columns;
  for (size_t a = 0; a < results.axes.size(); ++a) {
    if (results.values[a].size() > 1 && results.axes[a] != "seed") {
      results.group_axes.push_back(results.axes[a]);
      group_columns.push_back(a);
    }
  }
  bool first = true;
  std::map<std::vector<std::string>, size_t> group_of;  // key -> index in results.groups
  for (size_t r = 0; r < results.runs.size(); ++r) {
    const auto& run = results.runs[r];
    std::vector<std::string> key;
    for (size_t a : group_columns) key.push_back(run.axis_values[a]);
    const auto [it, fresh] = group_of.emplace(key, results.groups.size());
    if (fresh) results.groups.push_back({key, {}});
    results.groups[it->second].runs.push_back(r);
    if (run.config.empty()) {
      ++results.runs_without_config;
    } else if (first) {
      results.shared = run.config;
      first = false;
    } else {
      Settings kept;
      for (const auto& kv : results.shared) {
        if (setting_of(run.config, kv.first) == kv.second) kept.push_back(kv);
      }
      results.shared = kept;
    }
  }
}

/// A run's metrics.csv; `what` says why it must have epochs.
std::vector<train::EpochMetrics> read_metrics(const std::string& folder, const std::string& name,
                                              const std::string& what) {
  const std::string path = folder + "/metrics.csv";
  std::vector<train::EpochMetrics> epochs;
  try {
    epochs = train::read_metrics_csv(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(name + " " + what + " but its metrics cannot be read (" + e.what() + ")");
  }
  if (epochs.empty()) throw std::runtime_error(path + " has no epochs but " + what);
  return epochs;
}

/// sweep.json: the title, the settings of [base] and [set], and [report] pairs.
void read_sweep_json(const fs::path& file, SweepResults& results) {
  std::error_code error;
  if (!fs::exists(file, error)) return;
  const auto doc = nlohmann::json::parse(util::read_file(file.string()), nullptr, false);
  if (!doc.is_object()) return;
  if (doc.contains("title") && doc["title"].is_string()) {
    results.title = doc["title"].get<std::string>();
  }
  for (const char* table : {"base", "set"}) {
    if (!doc.contains(table)) continue;
    for (const auto& kv : settings_of(doc[table])) {
      auto it = std::find_if(results.sweep_settings.begin(), results.sweep_settings.end(),
                             [&](const auto& s) { return s.first == kv.first; });
      if (it == results.sweep_settings.end()) {
        results.sweep_settings.push_back(kv);
      } else {
        it->second = kv.second;
      }
    }
  }
  if (!doc.contains("report") || !doc["report"].is_object() || !doc["report"].contains("pairs")) return;
  for (const auto& pair : doc["report"]["pairs"]) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      throw std::runtime_error(file.string() + ": [report] pairs holds " + pair.dump() +
                               " (expected two names, e.g. [\"adams\", \"adamw\"])");
    }
    const auto a = sweep::match_of(pair[0].get<std::string>());
    const auto b = sweep::match_of(pair[1].get<std::string>());
    if (a.first != b.first) {
      throw std::runtime_error(file.string() + ": [report] pairs " + pair.dump() +
                               " compares two different settings (" + a.first + ", " + b.first + ")");
    }
    results.pairs.push_back({a.first, a.second, b.second});
  }
}

}  // namespace

SweepResults load_results(const std::string& dir) {
  const fs::path root(dir);
  const std::string index_path = (root / "runs.csv").string();
  std::error_code error;
  if (!fs::exists(index_path, error)) {
    throw std::runtime_error("no runs.csv in " + dir + " (expected the folder of a swd sweep)");
  }
  const auto table = util::parse_csv(util::read_file(index_path), index_path);
  const int run_col = table.column("run");
  const int status_col = table.column("status");
  const int first_result = table.column(sweep::runs_csv_result_columns().front());
  if (run_col != 0 || status_col != 1 || first_result < 2) {
    throw std::runtime_error(index_path + ": unexpected header (expected run,status, the grid "
                             "columns, then " + sweep::runs_csv_result_columns().front() + ",...)");
  }
  SweepResults results;
  results.total_runs = table.rows.size();
  results.axes.assign(table.header.begin() + 2, table.header.begin() + first_result);
  std::vector<std::vector<std::string>> grid_rows;
  // A duplicated row (by its normal form, without touching the disk), or a finished run's
  // folder reached twice (by its real path): an error naming it.
  FoldersSeen rows_seen, done_seen;
  for (const auto& row : table.rows) {
    const std::string normal = (root / row[run_col]).lexically_normal().string();
    if (const auto earlier = rows_seen.add(normal, row[run_col]); !earlier.empty()) {
      throw std::runtime_error(index_path + " lists the run " + twice(row[run_col], earlier));
    }
    grid_rows.emplace_back(row.begin() + 2, row.begin() + first_result);
    if (row[status_col] != "done") {
      results.not_finished.push_back(row[run_col] + " (" + row[status_col] + ")");
      continue;
    }
    RunResult run;
    run.folder = row[run_col];
    run.axis_values = grid_rows.back();
    const std::string folder = path_inside(root, run.folder, index_path);
    if (const auto earlier = done_seen.add(real_path(folder), run.folder); !earlier.empty()) {
      throw std::runtime_error(index_path + " lists the run " + twice(run.folder, earlier));
    }
    run.epochs = read_metrics(folder, run.folder, "is marked done in runs.csv");
    run.config = read_config(folder);
    results.runs.push_back(std::move(run));
  }
  group_runs(results, grid_rows);
  read_sweep_json(root / "sweep.json", results);
  return results;
}

SweepResults load_run_folders(const std::vector<std::string>& folders) {
  SweepResults results;
  results.total_runs = folders.size();
  results.title = "Report of " + std::to_string(folders.size()) + " runs";
  std::vector<Settings> configs;
  FoldersSeen seen;
  for (const auto& folder : folders) {
    if (const auto earlier = seen.add(real_path(folder), folder); !earlier.empty()) {
      throw std::runtime_error("swd report: given the run folder " + twice(folder, earlier));
    }
    configs.push_back(read_config(folder));
    if (configs.back().empty()) {
      throw std::runtime_error(folder + " has no config.json (expected the folder of a swd train run)");
    }
  }
  // The axes: every setting whose value is not the same in all the runs, in the first run's
  // order (a setting one run lacks counts as differing).
  for (const auto& [key, value] : configs.front()) {
    for (const auto& c : configs) {
      if (setting_of(c, key) != value) {
        results.axes.push_back(key);
        break;
      }
    }
  }
  std::vector<std::vector<std::string>> grid_rows;
  for (size_t i = 0; i < folders.size(); ++i) {
    std::vector<std::string> row;
    for (const auto& axis : results.axes) row.push_back(setting_of(configs[i], axis));
    grid_rows.push_back(row);
    RunResult run;
    run.folder = folders[i];
    run.axis_values = row;
    run.config = configs[i];
    run.epochs = read_metrics(folders[i], folders[i], "was given to swd report");
    const std::string planned = setting_of(run.config, "epochs");
    const std::string done = std::to_string(run.epochs.back().epoch);
    if (!planned.empty() && done != planned) {
      results.not_finished.push_back(folders[i] + " (" + done + " of " + planned + " epochs)");
      continue;
    }
    results.runs.push_back(std::move(run));
  }
  group_runs(results, grid_rows);
  return results;
}

std::string applied_weight_decay(const SweepResults& results, const Group& group) {
  std::string applied;
  for (size_t r : group.runs) {
    const std::string wd = setting_of(results.runs[r].config, "weight-decay");
    if (wd.empty() || (!applied.empty() && wd != applied)) return "";
    applied = wd;
  }
  return applied;
}

std::string nominal_weight_decay(const SweepResults& results, const Group& group) {
  const int axis = results.group_axis("weight-decay");
  if (axis >= 0) return group.key[axis];
  return setting_of(results.sweep_settings, "weight-decay");
}

std::string summary_csv(const SweepResults& results) {
  const std::pair<Measure, const char*> measures[] = {
      {Measure::FinalTestError, "final_test_error"},   {Measure::BestTestError, "best_test_error"},
      {Measure::FinalTrainLoss, "final_train_loss"},   {Measure::FinalGradNorm, "final_grad_norm"},
      {Measure::FinalWeightNorm, "final_weight_norm"}};
  std::vector<std::string> header = results.group_axes;
  header.push_back("n");
  for (const auto& [m, name] : measures) {
    header.push_back(std::string(name) + "_mean");
    header.push_back(std::string(name) + "_std");
    header.push_back(std::string(name) + "_ci95_lo");
    header.push_back(std::string(name) + "_ci95_hi");
  }
  std::string text = util::csv_line(header) + "\n";
  for (const auto& g : results.groups) {
    std::vector<std::string> row = g.key;
    row.push_back(std::to_string(g.runs.size()));
    for (const auto& [m, name] : measures) {
      const Stat s = g.stat(results.runs, m);
      row.push_back(util::shortest_number(s.mean));
      for (double v : {s.std, s.lo, s.hi}) row.push_back(s.n > 1 ? util::shortest_number(v) : "");
    }
    text += util::csv_line(row) + "\n";
  }
  return text;
}

std::string one_line(const std::string& text) {
  std::string out = text;
  for (auto& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  return out;
}

std::string axis_title(const std::string& axis) {
  if (axis == "weight-decay") return "weight decay";
  if (axis == "batch-size") return "batch size";
  if (axis == "epochs") return "training length (epochs)";
  if (axis == "lr") return "learning rate";
  if (axis == "scale-rule") return "scaling rule";
  std::string words = axis;
  std::replace(words.begin(), words.end(), '-', ' ');
  return words;
}

std::string value_label(const std::string& axis, const std::string& value) {
  if (axis == "optimizer" || axis == "model" || axis == "dataset") return value;
  if (axis == "scale-rule") {
    if (value == "none") return "no scaling";
    if (value == "lr") return "lr x k (learning-rate scaling)";
    if (value == "wd") return "wd x k (weight-decay scaling)";
  }
  if (axis == "epochs") return value + " epochs";
  if (axis == "batch-size") return "batch " + value;
  if (axis == "weight-decay") return "wd " + value;
  return axis + " " + value;
}

std::string pivot_axis(const SweepResults& results) {
  for (const char* axis : {"optimizer", "scale-rule"}) {
    if (results.group_axis(axis) >= 0) return axis;
  }
  return "";
}

}  // namespace report
}  // namespace swd
