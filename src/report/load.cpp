// Reading results back: sweep folders (runs.csv, sweep.json) and run folders (config.json,
// metrics.csv), one or several together; the settings the runs are compared by; groups over
// seeds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "swd/report/results.h"
#include "swd/sweep/plan.h"
#include "swd/sweep/runs.h"
#include "swd/train/optimizer_factory.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

bool is_record_key(const std::string& key) {
  // What a start records and how it logs, not what it computes. threads, workers and
  // progress are the sweep's non-identity keys (swd/sweep/plan.h); the launch settings of
  // several processes are never written to config.json.
  static const std::set<std::string> records = {"provenance", "out", "resume", "log-every",
                                                "checkpoint-every", "data-dir", "tensorboard",
                                                "eval-every", "dynamics-every",
                                                "derived"};
  return !sweep::is_identity_key(key) || records.count(key) > 0;
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

/// The settings of a JSON object, values as people read them; nested objects and records
/// (is_record_key) are left out.
Settings settings_of(const nlohmann::json& doc) {
  Settings out;
  if (!doc.is_object()) return out;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_object() || is_record_key(key)) continue;
    out.emplace_back(key, sweep::display_value(value.dump()));
  }
  return out;
}

void put(Settings& settings, const std::string& key, const std::string& value) {
  for (auto& kv : settings) {
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  }
  settings.emplace_back(key, value);
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

/// A run's metrics.csv; `what` says why it must have epochs.
std::vector<run::EpochMetrics> read_metrics(const std::string& folder, const std::string& name,
                                              const std::string& what) {
  const std::string path = folder + "/metrics.csv";
  std::vector<run::EpochMetrics> epochs;
  try {
    epochs = run::read_metrics_csv(path);  // a regular file, read within its size
  } catch (const std::exception& e) {
    throw std::runtime_error(name + " " + what + " but its metrics cannot be read (" + e.what() + ")");
  }
  if (epochs.empty()) throw std::runtime_error(path + " has no epochs but " + what);
  return epochs;
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

/// The weight decay a run outside a sweep is placed at: the one it was given, except for
/// decoupled Adam (AdamW, AMSGradW), whose weight decay swd takes as lambda / lr (the paper's
/// convention, train/optimizer_factory.cpp): there lambda = weight decay x lr, and the one
/// applied is an annotation (config.json keeps it).
std::string named_weight_decay(const Settings& config) {
  const std::string wd = setting_of(config, "weight-decay"), lr = setting_of(config, "lr");
  if (wd.empty() || lr.empty()) return wd;
  try {
    const auto choice = train::parse_optimizer_name(setting_of(config, "optimizer"));
    if (choice.family != "adam" || choice.decay != optim::Decay::Decoupled) return wd;
  } catch (const std::exception&) {
    return wd;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.12g", std::stod(wd) * std::stod(lr));  // 5.0 x 0.001 = 0.005
  return util::shortest_number(std::stod(text));
}

/// The weight decay a sweep's run is placed at when weight-decay is not a grid column: the
/// value the sweep file names for it ([set], else the matching overrides', else [base]),
/// before weight-decay-over-lr divides it by the lr (sweep/plan.cpp); config.json's when the
/// file names none.
std::string named_in_sweep(const nlohmann::json& doc, const Settings& run) {
  const std::string applied = setting_of(run, "weight-decay");
  if (!doc.is_object()) return applied;
  auto value_in = [&](const char* table) -> std::string {
    if (!doc.contains(table) || !doc[table].is_object()) return "";
    for (const auto& kv : settings_of(doc[table])) {
      if (sweep::normalise_key(kv.first) == "weight-decay") return kv.second;
    }
    return "";
  };
  if (const std::string set = value_in("set"); !set.empty()) return set;
  std::string named = value_in("base");
  bool over_lr = false;
  if (doc.contains("override") && doc["override"].is_object()) {
    for (const auto& [name, table] : doc["override"].items()) {
      const auto [key, value] = sweep::match_of(name);
      if (!table.is_object() || !sweep::same_value(setting_of(run, key), value)) continue;
      for (const auto& [k, v] : table.items()) {
        const std::string key_ = sweep::normalise_key(k);
        if (key_ == "weight-decay") named = sweep::display_value(v.dump());
        if (key_ == "weight-decay-over-lr" && v.is_boolean()) over_lr = over_lr || v.get<bool>();
      }
    }
  }
  if (named.empty() && over_lr) named = util::shortest_number(train::kDefaultWeightDecay);
  return named.empty() ? applied : named;
}

/// sweep.json: the title, the settings of [base] and [set], [report] pairs and [analysis].
void read_sweep_json(const fs::path& file, SweepResults& results, std::vector<std::string>& titles) {
  std::error_code error;
  if (!fs::exists(file, error)) return;
  const auto doc = nlohmann::json::parse(util::read_file(file.string()), nullptr, false);
  if (!doc.is_object()) return;
  if (doc.contains("title") && doc["title"].is_string()) titles.push_back(doc["title"].get<std::string>());
  for (const char* table : {"base", "set"}) {
    if (!doc.contains(table)) continue;
    for (const auto& kv : settings_of(doc[table])) put(results.sweep_settings, kv.first, kv.second);
  }
  if (doc.contains("analysis")) {
    try {
      for (const auto& t : sweep::parse_analysis(doc["analysis"].dump(), file.string())) {
        const bool seen = std::any_of(results.primary.begin(), results.primary.end(),
                                      [&](const auto& p) { return p.text() == t.text(); });
        if (!seen) results.primary.push_back(t);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error(e.what());
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
    const PairSpec spec{a.first, a.second, b.second};
    if (std::find(results.pairs.begin(), results.pairs.end(), spec) == results.pairs.end()) {
      results.pairs.push_back(spec);
    }
  }
}

/// One place runs come from: a sweep folder (all its runs, or those named) or a run folder.
struct Source {
  std::string dir;
  bool sweep = false;
  std::set<std::string> only;  ///< a sweep's runs.csv folders to read; empty: all
};

/// A run folder's sweep, when it is one of a sweep's runs: <sweep>/runs/<name> with
/// <sweep>/runs.csv listing runs/<name>. "" otherwise.
std::string sweep_of_run(const std::string& folder, std::string& relative) {
  std::error_code error;
  const fs::path run = fs::weakly_canonical(folder, error);
  if (error || run.parent_path().filename() != "runs") return "";
  const fs::path sweep = run.parent_path().parent_path();
  const fs::path index = sweep / "runs.csv";
  if (!fs::exists(index, error)) return "";
  relative = "runs/" + run.filename().string();
  try {
    const auto table = util::parse_csv(util::read_file(index.string()), index.string());
    for (const auto& row : table.rows) {
      if (!row.empty() && row[0] == relative) return sweep.string();
    }
  } catch (const std::exception&) {
  }
  return "";
}

/// One run as it was read: its result, whether it finished, and the grid columns of its
/// sweep (empty outside a sweep) with its source's index.
struct Item {
  RunResult run;
  bool finished = false;
  size_t source = 0;
  std::string not_finished;
  std::string real_path;  ///< of a finished run's folder: no folder may count twice
};

void read_sweep_source(const Source& s, size_t index, bool relative_names, std::vector<Item>& items,
                       std::vector<std::string>& grid_keys, std::vector<std::vector<std::string>>& source_grid) {
  const fs::path root(s.dir);
  const std::string index_path = (root / "runs.csv").string();
  const auto table = util::parse_csv(util::read_file(index_path), index_path);
  const int run_col = table.column("run");
  const int status_col = table.column("status");
  const int first_result = table.column(sweep::runs_csv_result_columns().front());
  if (run_col != 0 || status_col != 1 || first_result < 2) {
    throw std::runtime_error(index_path + ": unexpected header (expected run,status, the grid "
                             "columns, then " + sweep::runs_csv_result_columns().front() + ",...)");
  }
  const std::vector<std::string> grid(table.header.begin() + 2, table.header.begin() + first_result);
  std::error_code error;
  const auto sweep_doc = fs::exists(root / "sweep.json", error)
                             ? nlohmann::json::parse(util::read_file((root / "sweep.json").string()), nullptr, false)
                             : nlohmann::json();
  source_grid.push_back(grid);
  for (const auto& key : grid) {
    if (std::find(grid_keys.begin(), grid_keys.end(), key) == grid_keys.end()) grid_keys.push_back(key);
  }
  // A duplicated row (by its normal form, without touching the disk), or a finished run's
  // folder reached twice (by its real path): an error naming it.
  FoldersSeen rows_seen, done_seen;
  for (const auto& row : table.rows) {
    const std::string normal = (root / row[run_col]).lexically_normal().string();
    if (const auto earlier = rows_seen.add(normal, row[run_col]); !earlier.empty()) {
      throw std::runtime_error(index_path + " lists the run " + twice(row[run_col], earlier));
    }
    if (!s.only.empty() && !s.only.count(row[run_col])) continue;
    Item item;
    item.source = index;
    item.run.folder = relative_names ? row[run_col] : (root / row[run_col]).string();
    Settings grid_values;
    for (size_t a = 0; a < grid.size(); ++a) grid_values.emplace_back(grid[a], row[2 + a]);
    if (row[status_col] != "done") {
      item.not_finished = item.run.folder + " (" + row[status_col] + ")";
      item.run.settings = grid_values;
      items.push_back(item);
      continue;
    }
    const std::string folder = path_inside(root, row[run_col], index_path);
    item.real_path = real_path(folder);
    if (const auto earlier = done_seen.add(item.real_path, row[run_col]); !earlier.empty()) {
      throw std::runtime_error(index_path + " lists the run " + twice(row[run_col], earlier));
    }
    item.run.epochs = read_metrics(folder, item.run.folder, "is marked done in runs.csv");
    item.run.config = read_config(folder);
    item.run.settings = item.run.config;
    for (const auto& [key, value] : grid_values) put(item.run.settings, key, value);  // as named
    if (std::find(grid.begin(), grid.end(), "weight-decay") == grid.end() && !item.run.config.empty()) {
      put(item.run.settings, "weight-decay", named_in_sweep(sweep_doc, item.run.settings));
    }
    item.finished = true;
    items.push_back(item);
  }
}

Item read_run_source(const Source& s, size_t index) {
  Item item;
  item.source = index;
  item.run.folder = s.dir;
  item.real_path = real_path(s.dir);
  item.run.config = read_config(s.dir);
  if (item.run.config.empty()) {
    throw std::runtime_error(s.dir + " has no config.json (expected the folder of a swd train run, "
                             "or of a swd sweep with runs.csv)");
  }
  item.run.settings = item.run.config;
  const std::string wd = named_weight_decay(item.run.config);
  if (!wd.empty()) put(item.run.settings, "weight-decay", wd);
  item.run.epochs = read_metrics(s.dir, s.dir, "was given to swd report");
  const std::string planned = setting_of(item.run.config, "epochs");
  const std::string done = std::to_string(item.run.epochs.back().epoch);
  item.finished = planned.empty() || done == planned;
  if (!item.finished) item.not_finished = s.dir + " (" + done + " of " + planned + " epochs)";
  return item;
}

/// Whether `key`'s value is a function of `by`'s over the finished runs.
bool determined_by(const std::vector<Item>& items, const std::string& key, const std::string& by) {
  std::map<std::string, std::string> seen;
  for (const auto& item : items) {
    if (!item.finished) continue;
    const std::string v = setting_of(item.run.settings, by), k = setting_of(item.run.settings, key);
    const auto [it, fresh] = seen.emplace(v, k);
    if (!fresh && it->second != k) return false;
  }
  return true;
}

/// The axes of runs from several places: the grid columns of their sweeps whose values
/// differ, then the other settings that differ, except those that vary inside one sweep
/// without being a grid column there (an override's: AdamW's lr) and those that differ only
/// together with the optimizer (or model, dataset, scaling rule, batch size: the same for
/// runs outside a sweep), unless they tell apart runs alike in every other axis; and seed, the
/// axis runs pair over.
std::vector<std::string> axes_of(const std::vector<Item>& items, const std::vector<std::string>& grid_keys,
                                 const std::vector<std::vector<std::string>>& source_grid) {
  std::vector<std::string> keys = grid_keys;
  for (const auto& item : items) {
    for (const auto& kv : item.run.settings) {
      if (std::find(keys.begin(), keys.end(), kv.first) == keys.end()) keys.push_back(kv.first);
    }
  }
  auto differs = [&](const std::string& key, bool within_source, size_t source) {
    std::set<std::string> values;
    for (const auto& item : items) {
      if (within_source && item.source != source) continue;
      if (!item.finished && !std::count(grid_keys.begin(), grid_keys.end(), key)) continue;
      values.insert(setting_of(item.run.settings, key));
    }
    return values.size() > 1;
  };
  static const std::vector<std::string> kDeterminants = {"optimizer", "model", "dataset", "scale-rule",
                                                         "batch-size"};
  std::set<std::string> kept, dropped;
  for (const auto& key : keys) {
    if (key == "seed" || !differs(key, false, 0)) continue;
    const bool grid = std::count(grid_keys.begin(), grid_keys.end(), key) > 0;
    bool keep = true;
    for (size_t s = 0; s < source_grid.size() && keep && !grid; ++s) {
      keep = !differs(key, true, s);
    }
    const auto rank = std::find(kDeterminants.begin(), kDeterminants.end(), key) - kDeterminants.begin();
    for (long d = 0; d < rank && keep && !grid && d < static_cast<long>(kDeterminants.size()); ++d) {
      const auto& by = kDeterminants[d];
      if (differs(by, false, 0) && determined_by(items, key, by)) keep = false;
    }
    (keep ? kept : dropped).insert(key);
  }
  // A setting dropped above is an axis after all where it tells apart two finished runs that
  // agree on every kept axis and the seed (two sweeps reported together, one of which sets a
  // warm-up by override): without it they would be one run counted twice.
  auto row_of = [&](const Item& item) {
    std::vector<std::string> row;
    for (const auto& key : keys) {
      if (kept.count(key) || key == "seed") row.push_back(setting_of(item.run.settings, key));
    }
    return row;
  };
  auto separating = [&]() -> std::string {  // a dropped key two such runs differ in, or ""
    std::map<std::vector<std::string>, const Item*> first;
    for (const auto& item : items) {
      if (dropped.empty()) break;
      if (!item.finished) continue;
      const auto [it, fresh] = first.emplace(row_of(item), &item);
      if (fresh) continue;
      for (const auto& key : dropped) {
        if (setting_of(item.run.settings, key) != setting_of(it->second->run.settings, key)) return key;
      }
    }
    return "";
  };
  for (std::string key = separating(); !key.empty(); key = separating()) {
    kept.insert(key);
    dropped.erase(key);
  }
  std::vector<std::string> axes;
  for (const auto& key : keys) {
    if (kept.count(key)) axes.push_back(key);
  }
  const bool has_seed = std::any_of(items.begin(), items.end(), [](const Item& i) {
    return !setting_of(i.run.settings, "seed").empty();
  });
  if (has_seed) axes.push_back("seed");
  return axes;
}

/// The axes' values (first seen first), the runs' groups (runs alike in every axis but
/// seed) and the settings every finished run shares.
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
    if (run.config.empty()) continue;
    if (first) {
      results.shared = run.settings;
      first = false;
    } else {
      Settings kept;
      for (const auto& kv : results.shared) {
        if (setting_of(run.settings, kv.first) == kv.second) kept.push_back(kv);
      }
      results.shared = kept;
    }
  }
}

/// "B repeats A (...)": how the repeated run's final test error compares with the first's.
std::string repeat_note(const RunResult& again, const RunResult& first) {
  const double a = measure_of(again, Measure::FinalTestError), b = measure_of(first, Measure::FinalTestError);
  const bool same = a == b || (std::isnan(a) && std::isnan(b));
  char numbers[96];
  std::snprintf(numbers, sizeof numbers, "final test error %.2f%% there, %.2f%% here", 100 * b, 100 * a);
  return one_line(again.folder) + " repeats " + one_line(first.folder) + " (the same settings and seed; " +
         (same ? std::string("the same final test error") : std::string(numbers)) + ")";
}

}  // namespace

/// A key that a later swd added to config.json (val-split, say) is missing from the runs an
/// earlier one wrote: those runs had its default, which is what they are given here. Without
/// it, runs that differ only in the swd that wrote them would seem to differ in that setting.
void fill_keys_added_later(std::vector<Item>& items) {
  std::set<std::string> keys;
  for (const auto& item : items) {
    for (const auto& kv : item.run.config) keys.insert(kv.first);
  }
  static const Settings defaults =
      settings_of(nlohmann::json::parse(train::config_to_json(train::TrainConfig{})));
  for (auto& item : items) {
    if (item.run.config.empty()) continue;  // no config.json at all: nothing to complete
    std::set<std::string> has;
    for (const auto& kv : item.run.config) has.insert(kv.first);
    for (const auto& [key, value] : defaults) {
      if (!keys.count(key) || has.count(key)) continue;
      item.run.config.emplace_back(key, value);
      if (setting_of(item.run.settings, key).empty()) item.run.settings.emplace_back(key, value);
    }
  }
}

SweepResults load_folders(const std::vector<std::string>& paths) {
  if (paths.empty()) throw std::invalid_argument("swd report: no folder given");
  std::vector<Source> sources;
  std::map<std::string, size_t> sweep_index;
  FoldersSeen given;  // run folders given twice, however spelled, are refused
  for (const auto& path : paths) {
    std::error_code error;
    std::string relative;
    if (!fs::exists(fs::path(path) / "runs.csv", error)) {
      if (const auto earlier = given.add(real_path(path), path); !earlier.empty()) {
        throw std::runtime_error("swd report: given the run folder " + twice(path, earlier));
      }
    }
    if (fs::exists(fs::path(path) / "runs.csv", error)) {
      const std::string key = fs::weakly_canonical(path, error).string();
      if (sweep_index.count(key)) {
        sources[sweep_index[key]].only.clear();
      } else {
        sweep_index[key] = sources.size();
        sources.push_back({path, true, {}});
      }
    } else if (const std::string sweep = sweep_of_run(path, relative); !sweep.empty()) {
      const auto it = sweep_index.find(sweep);
      if (it == sweep_index.end()) {
        sweep_index[sweep] = sources.size();
        sources.push_back({sweep, true, {relative}});
      } else if (!sources[it->second].only.empty()) {
        sources[it->second].only.insert(relative);
      }
    } else {
      sources.push_back({path, false, {}});
    }
  }
  const bool one_sweep = sources.size() == 1 && sources[0].sweep && sources[0].only.empty();
  SweepResults results;
  std::vector<Item> items;
  std::vector<std::string> grid_keys, titles;
  std::vector<std::vector<std::string>> source_grid;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].sweep) {
      read_sweep_source(sources[i], i, one_sweep, items, grid_keys, source_grid);
      read_sweep_json(fs::path(sources[i].dir) / "sweep.json", results, titles);
    } else {
      items.push_back(read_run_source(sources[i], i));
      source_grid.emplace_back();
    }
  }
  fill_keys_added_later(items);
  // One whole sweep: its grid columns are the axes, as runs.csv has them.
  results.axes = one_sweep ? grid_keys : axes_of(items, grid_keys, source_grid);
  if (one_sweep && !titles.empty()) {
    results.title = titles.front();
  } else if (std::all_of(sources.begin(), sources.end(), [](const Source& s) { return s.sweep; }) &&
             titles.size() == sources.size()) {
    for (size_t i = 0; i < titles.size(); ++i) results.title += (i ? " + " : "") + titles[i];
  } else if (!one_sweep) {
    results.title = "Report of " + std::to_string(items.size()) + " runs";
  }
  // A finished run reached twice (the same folder given twice, or given and in a sweep given
  // too, however spelled) would count as two seeds: an error naming it.
  FoldersSeen done_seen;
  for (const auto& item : items) {
    if (!item.finished) continue;
    if (const auto earlier = done_seen.add(item.real_path, item.run.folder); !earlier.empty()) {
      throw std::runtime_error("swd report: given the run " + twice(item.run.folder, earlier));
    }
  }
  // A finished run whose settings and seed repeat an earlier finished run's (two sweeps that
  // share an arm, reported together) is the same measurement again: counted once, as the run
  // given first, and named in the report, so that no seed is paired twice.
  std::vector<std::vector<std::string>> rows;
  std::map<std::vector<std::string>, size_t> first_done;  // axis values -> index in results.runs
  results.total_runs = items.size();
  for (auto& item : items) {
    std::vector<std::string> row;
    for (const auto& axis : results.axes) row.push_back(setting_of(item.run.settings, axis));
    item.run.axis_values = row;
    if (item.finished) {
      const auto [it, fresh] = first_done.emplace(row, results.runs.size());
      if (!fresh) {
        results.repeats.push_back(repeat_note(item.run, results.runs[it->second]));
        --results.total_runs;
        continue;
      }
    }
    rows.push_back(row);
    if (!item.finished) {
      results.not_finished.push_back(item.not_finished);
    } else {
      if (item.run.config.empty()) ++results.runs_without_config;
      results.runs.push_back(std::move(item.run));
    }
  }
  group_runs(results, rows);
  return results;
}

SweepResults load_results(const std::string& dir) {
  std::error_code error;
  if (!fs::exists(fs::path(dir) / "runs.csv", error)) {
    throw std::runtime_error("no runs.csv in " + dir + " (expected the folder of a swd sweep)");
  }
  return load_folders({dir});
}

SweepResults load_run_folders(const std::vector<std::string>& folders) { return load_folders(folders); }

PairSpec parse_pair(const std::string& text) {
  const auto comma = text.find(',');
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    throw std::invalid_argument("--pair " + one_line(text) + ": expected A,B (e.g. adams,adamw or "
                                "scale-rule=wd,scale-rule=lr)");
  }
  const auto a = sweep::match_of(text.substr(0, comma)), b = sweep::match_of(text.substr(comma + 1));
  if (a.first != b.first || a.second.empty() || b.second.empty()) {
    throw std::invalid_argument("--pair " + one_line(text) + ": A and B must name two values of one "
                                "setting (e.g. adams,adamw or scale-rule=wd,scale-rule=lr)");
  }
  const std::string va = sweep::display_value(sweep::json_from_text(a.second));
  const std::string vb = sweep::display_value(sweep::json_from_text(b.second));
  if (va == vb) throw std::invalid_argument("--pair " + one_line(text) + ": A and B are the same value");
  for (const auto& v : {va, vb}) sweep::check_train_setting(a.first, sweep::json_from_text(v), "--pair " + one_line(text));
  return {a.first, va, vb};
}

}  // namespace report
}  // namespace swd
