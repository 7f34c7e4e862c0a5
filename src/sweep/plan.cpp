// Sweep files (TOML or JSON) to the list of runs: checking, expansion, folder names.
#include "swd/sweep/plan.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <toml++/toml.h>

#include "swd/config/config.h"
#include "swd/provenance.h"
#include "swd/schedule/schedule.h"
#include "swd/train/optimizer_factory.h"
#include "swd/util/suggest.h"
#include "../config/config_text.h"

namespace swd {
namespace sweep {

using Json = nlohmann::ordered_json;
using train::ConfigError;

namespace {

const char* const kOverLr = "weight-decay-over-lr";

std::string normalise(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

// ---- TOML to JSON, keeping the file's order of keys ------------------------------------
Json toml_to_json(const toml::node& node, const std::string& where) {
  if (const auto* table = node.as_table()) {
    std::vector<std::pair<const toml::key*, const toml::node*>> items;
    for (const auto& [key, value] : *table) items.emplace_back(&key, &value);
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      const auto& pa = a.first->source().begin;
      const auto& pb = b.first->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    Json out = Json::object();
    for (const auto& [key, value] : items) {
      out[std::string(key->str())] = toml_to_json(*value, where + "." + std::string(key->str()));
    }
    return out;
  }
  if (const auto* array = node.as_array()) {
    Json out = Json::array();
    for (const auto& item : *array) out.push_back(toml_to_json(item, where));
    return out;
  }
  if (node.is_string()) return *node.value<std::string>();
  if (node.is_boolean()) return *node.value<bool>();
  if (node.is_integer()) return *node.value<int64_t>();
  if (node.is_floating_point()) return *node.value<double>();
  throw ConfigError(where + ": dates and times are not settings");
}

Json read_document(const std::string& path) {
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  if (ext != ".json" && ext != ".toml") {
    throw ConfigError("sweep file " + path + ": unknown extension '" + train::detail::cut(ext) +
                      "' (expected .toml or .json)");
  }
  // A regular file of at most 1 MiB, JSON nested at most 8 deep, no key twice.
  const std::string text = train::detail::read_config_text(path);
  if (ext == ".json") {
    train::detail::parse_config_json(text, "sweep file " + path);  // the checks above
    return Json::parse(text);  // keeps the file's order
  }
  std::istringstream in(text);
  try {
    return toml_to_json(toml::parse(in, path), path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "sweep file " << path << " is not valid TOML: " << e.description() << " (line "
        << e.source().begin.line << ")";
    throw ConfigError(msg.str());
  }
}

// ---- checks ------------------------------------------------------------------------------
/// Checks one `swd train` setting as the trainer would; the message names `where`.
void check_setting(const std::string& key, const Json& value, const std::string& where) {
  if (key == kOverLr) {
    throw ConfigError(where + ": " + kOverLr + " belongs in an [override.NAME] table (the sweep "
                      "divides the weight decay of the runs it matches by their lr)");
  }
  if (key == "out" || key == "resume") {
    throw ConfigError(where + ": " + key + " is chosen by the sweep (each run gets its own "
                      "folder; swd sweep --out names the sweep's folder)");
  }
  try {
    train::config_from_json(Json{{key, value}}.dump());
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
}

const Json& require_object(const Json& doc, const std::string& name, const std::string& where) {
  if (!doc.is_object()) throw ConfigError(where + ": [" + name + "] must be a table");
  return doc;
}

void set(std::vector<Setting>& settings, const std::string& key, const std::string& json) {
  for (auto& s : settings) {
    if (s.key == key) {
      s.json = json;
      return;
    }
  }
  settings.push_back({key, json});
}

const Setting* find(const std::vector<Setting>& settings, const std::string& key) {
  for (const auto& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

/// The settings of a flat table, checked; keys normalised and unique.
std::vector<Setting> read_settings(const Json& table, const std::string& where,
                                   bool allow_over_lr, bool* over_lr) {
  std::vector<Setting> out;
  for (const auto& [raw_key, value] : table.items()) {
    const std::string key = normalise(raw_key);
    if (find(out, key)) throw ConfigError(where + ": " + key + " is given twice");
    if (allow_over_lr && key == kOverLr) {
      if (!value.is_boolean()) {
        throw ConfigError(where + ": invalid value " + value.dump() + " for " + kOverLr +
                          " (expected true or false)");
      }
      *over_lr = value.get<bool>();
      continue;
    }
    check_setting(key, value, where);
    out.push_back({key, value.dump()});
  }
  return out;
}

std::vector<Axis> read_grid(const Json& table, const std::string& where,
                            const std::vector<Setting>& base) {
  std::vector<Axis> grid;
  for (const auto& [raw_key, values] : table.items()) {
    Axis axis{normalise(raw_key), {}};
    const std::string here = where + " [grid] " + axis.key;
    if (find(base, axis.key)) {
      throw ConfigError(where + ": " + axis.key + " is both in [base] and [grid] (keep one)");
    }
    for (const auto& other : grid) {
      if (other.key == axis.key) throw ConfigError(here + " is given twice");
    }
    if (!values.is_array() || values.empty()) {
      throw ConfigError(here + ": expected a non-empty list of values, got " + values.dump());
    }
    std::unordered_set<std::string> shown;  // the values as displayed: linear in the values
    for (const auto& v : values) {
      check_setting(axis.key, v, where + " [grid]");
      const std::string text = v.dump();
      if (!shown.insert(display_value(text)).second) {
        throw ConfigError(here + " lists " + display_value(text) + " twice");
      }
      axis.values.push_back(text);
    }
    grid.push_back(axis);
  }
  return grid;
}

/// Text as a JSON value: numbers, booleans and lists as such, anything else as a string.
Json value_from_text(const std::string& text) {
  Json value = Json::parse(text, nullptr, false);
  return value.is_discarded() || value.is_object() ? Json(text) : value;
}

Override read_override(const std::string& name, const Json& table, const std::string& where) {
  Override o;
  o.name = name;
  const std::string here = where + " [override." + name + "]";
  std::tie(o.match_key, o.match_value) = match_of(name);
  // The matched value must be one the key can take: a typo would silently match nothing.
  check_setting(o.match_key, value_from_text(o.match_value), here);
  if (!table.is_object()) throw ConfigError(here + " must be a table of settings");
  o.settings = read_settings(table, here, true, &o.weight_decay_over_lr);
  return o;
}

/// [report]: pairs = [["A", "B"], ...], each name a value the key can take, both of one key.
std::vector<std::pair<std::string, std::string>> read_report(const Json& table, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& [key, value] : require_object(table, "report", what).items()) {
    if (key != "pairs") {
      throw ConfigError(what + " [report]: unknown key '" + key + "' (expected pairs)");
    }
    if (!value.is_array()) throw ConfigError(what + " [report] pairs: expected a list of pairs");
    for (const auto& pair : value) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        throw ConfigError(what + " [report] pairs: " + pair.dump() + " is not a pair of names "
                          "(expected e.g. [\"adams\", \"adamw\"] or [\"scale-rule=wd\", \"scale-rule=lr\"])");
      }
      const auto a = match_of(pair[0].get<std::string>()), b = match_of(pair[1].get<std::string>());
      if (a.first != b.first || a.second == b.second) {
        throw ConfigError(what + " [report] pairs: " + pair.dump() + " must name two values of "
                          "one setting");
      }
      for (const auto& side : {a, b}) {
        check_setting(side.first, value_from_text(side.second), what + " [report] pairs");
      }
      pairs.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  return pairs;
}

// ---- names -------------------------------------------------------------------------------
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

std::string identity_hash(const std::vector<Setting>& settings) {
  std::map<std::string, std::string> sorted;
  for (const auto& s : settings) {
    if (is_identity_key(s.key)) sorted[s.key] = s.json;
  }
  std::string text;
  for (const auto& [key, json] : sorted) text += key + "=" + json + "\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  return std::string(hex).substr(0, 8);
}

std::string folder_safe(const std::string& text) {
  std::string out;
  for (char ch : text) {
    // No comma: the folder is a cell of runs.csv, best read without quotes.
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                    ch == '+' || ch == '=' || ch == '_';
    out += ok ? ch : '_';
  }
  return out;
}

}  // namespace

void check_train_setting(const std::string& key, const std::string& value_json,
                         const std::string& where) {
  check_setting(key, Json::parse(value_json), where);
}

std::string json_from_text(const std::string& text) { return value_from_text(text).dump(); }

std::string normalise_key(std::string key) { return normalise(std::move(key)); }

std::pair<std::string, std::string> match_of(const std::string& name) {
  const auto eq = name.find('=');
  if (eq == std::string::npos) return {"optimizer", name};
  return {normalise(name.substr(0, eq)), name.substr(eq + 1)};
}

std::string display_value(const std::string& json) {
  const Json v = Json::parse(json, nullptr, false);
  if (v.is_discarded()) return json;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + display_value(v[i].dump());
    return out;
  }
  return v.dump();
}

bool is_identity_key(const std::string& key) {
  return key != "threads" && key != "workers" && key != "progress" && key != "tensorboard";
}

SweepSpec parse_sweep_json(const std::string& json_text, const std::string& what) {
  const Json doc = Json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) throw ConfigError("sweep file " + what + " is not valid JSON");
  if (!doc.is_object()) throw ConfigError(what + ": a sweep file holds a table");
  SweepSpec spec;
  for (const auto& [key, value] : doc.items()) {
    if (key == "title") {
      if (!value.is_string()) throw ConfigError(what + ": title must be a string");
      spec.title = value.get<std::string>();
    } else if (key == "base") {
      spec.base = read_settings(require_object(value, key, what), what + " [base]", false, nullptr);
    } else if (key == "set") {
      spec.forced = read_settings(require_object(value, key, what), what + " [set]", false, nullptr);
    } else if (key == "report") {
      spec.report_pairs = read_report(value, what);
    } else if (key == "analysis") {
      spec.primary = parse_analysis(require_object(value, key, what).dump(), what);
    } else if (key != "grid" && key != "override" && key != "provenance") {  // a record
      throw ConfigError(what + ": unknown sweep key '" + key + "'" +
                        util::did_you_mean(key, {"title", "base", "grid", "override", "set", "report", "analysis"}) +
                        " (expected title, base, grid, "
                        "override, set, report or analysis; swd train settings go in [base] or "
                        "[grid])");
    }
  }
  if (doc.contains("grid")) {
    spec.grid = read_grid(require_object(doc["grid"], "grid", what), what, spec.base);
  }
  if (doc.contains("override")) {
    for (const auto& [name, table] : require_object(doc["override"], "override", what).items()) {
      spec.overrides.push_back(read_override(name, table, what));
    }
  }
  return spec;
}

SweepSpec read_sweep_file(const std::string& path) {
  return parse_sweep_json(read_document(path).dump(), path);
}

void force_setting(SweepSpec& spec, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError("--set expects KEY=VALUE, got '" + assignment + "'");
  }
  const std::string key = normalise(assignment.substr(0, eq));
  const std::string text = assignment.substr(eq + 1);
  const Json value = value_from_text(text);
  check_setting(key, value, "--set");
  auto not_key = [&](const auto& item) { return item.key == key; };
  spec.grid.erase(std::remove_if(spec.grid.begin(), spec.grid.end(), not_key), spec.grid.end());
  spec.base.erase(std::remove_if(spec.base.begin(), spec.base.end(), not_key), spec.base.end());
  set(spec.forced, key, value.dump());
}

std::vector<RunPlan> expand(const SweepSpec& spec) {
  double product = 1;  // in floating point: no overflow, whatever the axes
  std::string shape;
  for (const auto& axis : spec.grid) {
    product *= static_cast<double>(axis.values.size());
    shape += (shape.empty() ? "" : " x ") + std::to_string(axis.values.size()) + " " + axis.key;
  }
  if (product > static_cast<double>(kMaxSweepRuns)) {
    char runs_text[32];
    std::snprintf(runs_text, sizeof runs_text, "%.0f", product);
    throw ConfigError("the grid has " + std::string(runs_text) + " runs (" + shape + "), more "
                      "than the limit of " + std::to_string(kMaxSweepRuns) + " runs a sweep "
                      "may have (split it into several sweeps)");
  }
  const size_t total = static_cast<size_t>(product);
  std::vector<RunPlan> runs;
  std::vector<std::vector<std::pair<std::string, std::string>>> run_values;  // for [analysis]
  runs.reserve(total);
  for (size_t index = 0; index < total; ++index) {
    RunPlan run;
    run.index = index;
    run.settings = spec.base;
    std::string slug;
    size_t rest = index;
    std::vector<size_t> choice(spec.grid.size());
    for (size_t a = spec.grid.size(); a-- > 0;) {  // the last axis varies fastest
      choice[a] = rest % spec.grid[a].values.size();
      rest /= spec.grid[a].values.size();
    }
    for (size_t a = 0; a < spec.grid.size(); ++a) {
      const auto& axis = spec.grid[a];
      const Setting s{axis.key, axis.values[choice[a]]};
      run.point.push_back(s);
      run.settings.push_back(s);
      if (axis.values.size() > 1) {
        slug += (slug.empty() ? "" : "_") + axis.key + "=" + display_value(s.json);
      }
    }
    if (slug.empty()) slug = "run";
    const std::string name = slug;
    // Overrides match the settings of base and grid; two that set one key differently clash.
    std::map<std::string, std::string> set_by;
    bool over_lr = false;
    for (const auto& o : spec.overrides) {
      const Setting* have = find(run.settings, o.match_key);
      if (!have || display_value(have->json) != o.match_value) continue;
      for (const auto& s : o.settings) {
        const Setting* before = find(run.overridden, s.key);
        if (before && before->json != s.json) {
          throw ConfigError("run " + name + ": overrides " + set_by[s.key] + " and " + o.name +
                            " both set " + s.key);
        }
        set_by[s.key] = o.name;
        set(run.settings, s.key, s.json);
        set(run.overridden, s.key, s.json);
      }
      over_lr = over_lr || o.weight_decay_over_lr;
    }
    for (const auto& s : spec.forced) {
      set(run.settings, s.key, s.json);
      run.overridden.erase(std::remove_if(run.overridden.begin(), run.overridden.end(),
                                          [&](const Setting& o) { return o.key == s.key; }),
                           run.overridden.end());
    }
    // The weight decay the sweep names, before weight-decay-over-lr: [analysis] tests, like
    // the report, place a run at this one.
    const Setting* named_wd = find(run.settings, "weight-decay");
    const std::string nominal_wd = named_wd ? named_wd->json : "";
    std::string over_lr_from;  // how weight-decay-over-lr derived the run's weight decay
    if (over_lr) {
      // weight decay := lambda / lr, as swd train's weight-decay-over-lr resolves it (the one
      // resolver, train::resolve_hyper): lambda the run's weight-decay (default
      // kDefaultWeightDecay), lr the run's (default: its optimizer's). run.json gets the
      // divided value, before any large-batch rule (swd train applies that).
      std::string divided;
      try {
        auto config = train::config_from_json(run_json(run));
        config.weight_decay_over_lr = true;
        const auto divided_hyper = train::resolve_hyper(config);
        divided = Json(divided_hyper.base_weight_decay).dump();
        over_lr_from = divided_hyper.groups.front().weight_decay_from;
      } catch (const std::exception& e) {
        throw ConfigError("run " + name + ": " + e.what());
      }
      set(run.settings, "weight-decay", divided);
      set(run.overridden, "weight-decay", divided);
    }
    train::TrainConfig config;
    train::RunHyper hyper;  // lr and weight decay as swd train will resolve them
    try {
      config = train::config_from_json(run_json(run));
      schedule::check_milestones(config.milestones, static_cast<double>(config.epochs));
      hyper = train::resolve_hyper(config);
    } catch (const std::exception& e) {  // ConfigError and invalid_argument among them
      throw ConfigError("run " + name + ": " + e.what());
    }
    if (!spec.primary.empty()) {
      Json resolved = Json::parse(train::config_to_json(config));
      if (!nominal_wd.empty()) resolved["weight-decay"] = Json::parse(nominal_wd);
      std::vector<std::pair<std::string, std::string>> values;
      for (const auto& [key, value] : resolved.items()) {
        if (!value.is_object()) values.emplace_back(key, display_value(value.dump()));
      }
      run.decides_primary = decides_a_test(spec.primary, values);
      run_values.push_back(values);
    }
    run.epochs = config.epochs;
    run.lr = hyper.optimizer.lr;
    run.weight_decay = hyper.optimizer.weight_decay;
    run.weight_decay_from = over_lr ? over_lr_from : hyper.groups.front().weight_decay_from;
    run.sets_threads = find(run.settings, "threads") != nullptr;
    run.folder = "runs/" + folder_safe(slug).substr(0, 160) + "-" + identity_hash(run.settings);
    runs.push_back(std::move(run));
  }
  check_tests_match_runs(spec.primary, run_values);
  return runs;
}

std::string run_json(const RunPlan& run) {
  Json doc = Json::object();
  for (const auto& s : run.settings) doc[s.key] = Json::parse(s.json);
  return doc.dump(2) + "\n";
}

std::string sweep_json(const SweepSpec& spec) {
  auto table = [](const std::vector<Setting>& settings) {
    Json t = Json::object();
    for (const auto& s : settings) t[s.key] = Json::parse(s.json);
    return t;
  };
  Json doc = Json::object();
  doc["title"] = spec.title;
  doc["base"] = table(spec.base);
  doc["grid"] = Json::object();
  for (const auto& axis : spec.grid) {
    auto& list = doc["grid"][axis.key] = Json::array();
    for (const auto& v : axis.values) list.push_back(Json::parse(v));
  }
  doc["override"] = Json::object();
  for (const auto& o : spec.overrides) {
    Json t = table(o.settings);
    if (o.weight_decay_over_lr) t[kOverLr] = true;
    doc["override"][o.name] = t;
  }
  doc["set"] = table(spec.forced);
  if (!spec.report_pairs.empty()) {
    auto& pairs = doc["report"]["pairs"] = Json::array();
    for (const auto& [a, b] : spec.report_pairs) pairs.push_back({a, b});
  }
  if (!spec.primary.empty()) doc["analysis"] = Json::parse(analysis_json(spec.primary));
  return doc.dump(2) + "\n";
}

std::string sweep_json_with_provenance(const SweepSpec& spec, const std::string& earlier) {
  Json doc = Json::parse(sweep_json(spec));
  const Json before = Json::parse(earlier, nullptr, false);
  const bool has = before.is_object() && before.contains("provenance");
  doc["provenance"] = Json::parse(append_provenance(has ? before["provenance"].dump() : "",
                                                    provenance_json()));
  return doc.dump(2) + "\n";
}

}  // namespace sweep
}  // namespace swd
