#pragma once
// Hand-made sweep folders for the report's tests: runs.csv, sweep.json, and each run's
// metrics.csv and config.json, with final test errors chosen so that the statistics can be
// checked by hand.

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_support.h"
#include "swd/run/metrics.h"
#include "swd/sweep/runs.h"
#include "swd/util/csv.h"

namespace swd_test {

/// One run of a hand-made sweep: its grid values (in the sweep's axis order) and its final
/// test error (the epochs before it are 0.5); config.json gets `config` plus the grid values.
struct HandRun {
  std::vector<std::string> values;
  double final_error;
  nlohmann::json config = nlohmann::json::object();
  std::string status = "done";
};

/// A sweep folder: runs.csv, sweep.json, and for each run metrics.csv (2 epochs) and
/// config.json.
inline std::string make_sweep(const std::string& name, const std::vector<std::string>& axes,
                       const std::vector<HandRun>& runs, const nlohmann::json& sweep) {
  const auto dir = fresh_dir(name);
  std::vector<std::string> header = {"run", "status"};
  header.insert(header.end(), axes.begin(), axes.end());
  for (const auto& c : swd::sweep::runs_csv_result_columns()) header.push_back(c);
  std::string index = swd::util::csv_line(header) + "\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string folder = "runs/r" + std::to_string(i);
    std::filesystem::create_directories(dir + "/" + folder);
    std::vector<swd::run::EpochMetrics> rows(2);
    for (int e = 0; e < 2; ++e) {
      rows[e].epoch = e + 1;
      rows[e].test_error = e == 1 ? runs[i].final_error : 0.5;
      rows[e].train_loss = 1.0 / (e + 1);
      rows[e].grad_norm = 1 + runs[i].final_error;
      rows[e].weight_norm = 10;
    }
    std::ofstream(dir + "/" + folder + "/metrics.csv") << swd::run::metrics_csv(rows);
    nlohmann::json config = runs[i].config;
    config["epochs"] = 2;
    config["out"] = dir + "/" + folder;
    config["derived"] = {{"lr", 0.1}};
    for (size_t a = 0; a < axes.size(); ++a) {
      if (!config.contains(axes[a])) config[axes[a]] = runs[i].values[a];
    }
    std::ofstream(dir + "/" + folder + "/config.json") << config.dump(2);
    std::vector<std::string> row = {folder, runs[i].status};
    row.insert(row.end(), runs[i].values.begin(), runs[i].values.end());
    row.resize(header.size());
    index += swd::util::csv_line(row) + "\n";
  }
  std::ofstream(dir + "/runs.csv") << index;
  std::ofstream(dir + "/sweep.json") << sweep.dump(2);
  return dir;
}

}  // namespace swd_test
