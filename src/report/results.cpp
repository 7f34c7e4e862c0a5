// Reading a sweep folder back: runs.csv, the runs' metrics, groups over seeds.
#include "swd/report/results.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "swd/sweep/csv.h"
#include "swd/sweep/runs.h"
#include "swd/train/files.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

Stat mean_std(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / values.size();
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / (values.size() - 1));
  }
  return s;
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

}  // namespace

SweepResults load_results(const std::string& dir) {
  const fs::path root(dir);
  const std::string index_path = (root / "runs.csv").string();
  std::error_code error;
  if (!fs::exists(index_path, error)) {
    throw std::runtime_error("no runs.csv in " + dir + " (expected the folder of a swd sweep)");
  }
  const auto table = sweep::parse_csv(train::read_file(index_path), index_path);
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
  results.values.resize(results.axes.size());
  for (const auto& row : table.rows) {
    for (size_t a = 0; a < results.axes.size(); ++a) {
      auto& seen = results.values[a];
      if (std::find(seen.begin(), seen.end(), row[2 + a]) == seen.end()) seen.push_back(row[2 + a]);
    }
  }
  std::vector<size_t> group_columns;
  for (size_t a = 0; a < results.axes.size(); ++a) {
    if (results.values[a].size() > 1 && results.axes[a] != "seed") {
      results.group_axes.push_back(results.axes[a]);
      group_columns.push_back(a);
    }
  }
  for (const auto& row : table.rows) {
    if (row[status_col] != "done") {
      results.not_finished.push_back(row[run_col] + " (" + row[status_col] + ")");
      continue;
    }
    RunResult run;
    run.folder = row[run_col];
    run.axis_values.assign(row.begin() + 2, row.begin() + first_result);
    const std::string metrics_path = path_inside(root, run.folder, index_path) + "/metrics.csv";
    try {
      run.epochs = train::parse_metrics_csv(train::read_file(metrics_path));
    } catch (const std::exception& e) {
      throw std::runtime_error(run.folder + " is marked done in runs.csv but its metrics cannot "
                               "be read (" + e.what() + ")");
    }
    if (run.epochs.empty()) {
      throw std::runtime_error(metrics_path + " has no epochs but runs.csv marks the run done");
    }
    std::vector<std::string> key;
    for (size_t a : group_columns) key.push_back(run.axis_values[a]);
    results.runs.push_back(std::move(run));
    auto group = std::find_if(results.groups.begin(), results.groups.end(),
                              [&](const Group& g) { return g.key == key; });
    if (group == results.groups.end()) {
      results.groups.push_back({key, {}});
      group = results.groups.end() - 1;
    }
    group->runs.push_back(results.runs.size() - 1);
  }
  if (const auto sweep_file = root / "sweep.json"; fs::exists(sweep_file, error)) {
    const auto doc = nlohmann::json::parse(train::read_file(sweep_file.string()), nullptr, false);
    if (doc.is_object() && doc.contains("title") && doc["title"].is_string()) {
      results.title = doc["title"].get<std::string>();
    }
  }
  return results;
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
  }
  std::string text = sweep::csv_line(header) + "\n";
  for (const auto& g : results.groups) {
    std::vector<std::string> row = g.key;
    row.push_back(std::to_string(g.runs.size()));
    for (const auto& [m, name] : measures) {
      const Stat s = g.stat(results.runs, m);
      row.push_back(sweep::shortest_number(s.mean));
      row.push_back(s.n > 1 ? sweep::shortest_number(s.std) : "");
    }
    text += sweep::csv_line(row) + "\n";
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
