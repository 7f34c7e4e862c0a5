#include "swd/train/metrics.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace swd {
namespace train {

namespace {
std::string number(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}
std::string optional_number(const std::optional<double>& v) { return v ? number(*v) : ""; }
}  // namespace

std::string metrics_csv_header() {
  return "epoch,lr,weight_decay,train_loss,train_error,test_loss,test_error,grad_norm,"
         "grad_norm_sq,weight_norm,sqrt_vbar,decay_per_step,seconds";
}

std::string metrics_csv_row(const EpochMetrics& m) {
  return std::to_string(m.epoch) + "," + number(m.lr) + "," + number(m.weight_decay) + "," +
         number(m.train_loss) + "," + number(m.train_error) + "," + number(m.test_loss) + "," +
         number(m.test_error) + "," + number(m.grad_norm) + "," + number(m.grad_norm_sq) + "," +
         number(m.weight_norm) + "," + optional_number(m.sqrt_vbar) + "," +
         optional_number(m.decay_per_step) + "," + number(m.seconds);
}

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::string text = metrics_csv_header() + "\n";
  for (const auto& r : rows) text += metrics_csv_row(r) + "\n";
  return text;
}

std::vector<EpochMetrics> parse_metrics_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::vector<EpochMetrics> rows;
  if (!std::getline(in, line) || line != metrics_csv_header()) {
    throw std::runtime_error("metrics: unexpected header '" + line + "'");
  }
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    std::string cell;
    while (std::getline(cells_in, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    if (cells.size() != 13) {
      throw std::runtime_error("metrics: line " + std::to_string(line_number) + " has " +
                               std::to_string(cells.size()) + " cells, expected 13");
    }
    try {
      EpochMetrics m;
      m.epoch = std::stoll(cells[0]);
      double* plain[] = {&m.lr, &m.weight_decay, &m.train_loss, &m.train_error, &m.test_loss,
                         &m.test_error, &m.grad_norm, &m.grad_norm_sq, &m.weight_norm};
      for (size_t i = 0; i < 9; ++i) *plain[i] = std::stod(cells[i + 1]);
      if (!cells[10].empty()) m.sqrt_vbar = std::stod(cells[10]);
      if (!cells[11].empty()) m.decay_per_step = std::stod(cells[11]);
      m.seconds = std::stod(cells[12]);
      rows.push_back(m);
    } catch (const std::logic_error&) {
      throw std::runtime_error("metrics: line " + std::to_string(line_number) +
                               " holds a value that is not a number");
    }
  }
  return rows;
}

}  // namespace train
}  // namespace swd
