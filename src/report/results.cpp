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
#include "swd/train/optimizer_factory.h"
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

bool selected_on_validation(const RunResult& run) { return run::chosen_on_validation(run.epochs); }

double measure_of(const RunResult& run, Measure measure) {
  const auto& last = run.epochs.back();
  switch (measure) {
    case Measure::FinalTestError: return last.test_error;
    case Measure::BestTestError: {  // at the best epoch: on validation with --val-split
      const size_t best = run::best_epoch(run.epochs);
      return best < run.epochs.size() ? run.epochs[best].test_error : last.test_error;
    }
    case Measure::FinalTrainLoss: return last.train_loss;
    case Measure::FinalGradNorm: return last.grad_norm;
    case Measure::FinalWeightNorm: return last.weight_norm;
    case Measure::FinalDecayBudget: return last.decay_budget;
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
  std::string named;
  for (size_t r : group.runs) {
    const std::string wd = setting_of(results.runs[r].settings, "weight-decay");
    if (wd.empty() || (!named.empty() && wd != named)) {
      named.clear();
      break;
    }
    named = wd;
  }
  return named.empty() ? setting_of(results.sweep_settings, "weight-decay") : named;
}

bool setting_applies(const std::string& key, const Settings& run) {
  auto is = [&](const char* k, const char* v) { return setting_of(run, k) == v; };
  if (key == "momentum" || key == "dampening" || key == "nesterov" || key == "betas" || key == "eps") {
    try {
      const auto& row = train::family_defaults(train::parse_optimizer_name(setting_of(run, "optimizer")).family);
      return key == "betas" || key == "eps" ? row.uses_betas : row.uses_momentum;
    } catch (const std::exception&) {
      return true;
    }
  }
  if (key.rfind("synthetic-", 0) == 0) return is("dataset", "synthetic");
  if (key == "base-batch-size") return !is("scale-rule", "none");
  if (key == "subset-seed") return !is("train-subset", "0");
  if (key == "milestones" || key == "gamma") return is("lr-schedule", "step") || is("wd-schedule", "step");
  return true;
}

std::vector<std::string> differing_settings(const SweepResults& results) {
  std::vector<std::string> keys;
  for (const auto& run : results.runs) {
    for (const auto& [key, value] : run.settings) {
      if (key == "seed" || results.group_axis(key) >= 0 ||
          std::find(keys.begin(), keys.end(), key) != keys.end()) {
        continue;
      }
      const bool shared = std::any_of(results.shared.begin(), results.shared.end(),
                                      [&](const auto& kv) { return kv.first == key; });
      if (!shared) keys.push_back(key);
    }
  }
  return keys;
}

std::string summary_csv(const SweepResults& results) {
  std::vector<std::string> header = results.group_axes;
  header.push_back("n");
  for (const auto& info : measure_table()) {
    for (const char* suffix : {"_mean", "_std", "_ci95_lo", "_ci95_hi"}) {
      header.push_back(std::string(info.name) + suffix);
    }
  }
  std::string text = util::csv_line(header) + "\n";
  for (const auto& g : results.groups) {
    std::vector<std::string> row = g.key;
    row.push_back(std::to_string(g.runs.size()));
    for (const auto& info : measure_table()) {
      const Measure m = info.measure;
      const Stat s = g.stat(results.runs, m);
      if (std::isnan(s.mean)) {  // not measured (a decay budget of runs made before it)
        row.insert(row.end(), 4, "");
        continue;
      }
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
