#include "swd/run/metrics.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "swd/util/io.h"
#include "swd/util/number.h"

namespace swd {
namespace run {

namespace {
using util::shortest_number;  // 0.0005, not 0.00050000000000000001
std::string optional_number(const std::optional<double>& v) { return v ? shortest_number(*v) : ""; }
/// A mean over no samples or steps is undefined (NaN here): an empty cell, as is a value a
/// blown-up model made NaN (a test loss of infinite logits).
std::string mean_number(double v) { return std::isnan(v) ? "" : shortest_number(v); }
double mean_from(const std::string& cell) {
  return cell.empty() ? std::numeric_limits<double>::quiet_NaN() : std::stod(cell);
}
// The headers before skipped_steps and before the dynamics columns were added (still read:
// checkpoints and runs made then).
constexpr const char* kHeader13 =
    "epoch,lr,weight_decay,train_loss,train_error,test_loss,test_error,grad_norm,"
    "grad_norm_sq,weight_norm,sqrt_vbar,decay_per_step,seconds";
const std::string kHeader14 = std::string(kHeader13) + ",skipped_steps";
constexpr const char* kDynamicsColumns =
    ",tracked_norm,angular_update,relative_update,effective_lr,decay_rate,decay_budget";
const std::string kHeader20 = kHeader14 + kDynamicsColumns;
constexpr const char* kValidationColumns = ",val_loss,val_error";
}  // namespace

bool chosen_on_validation(const std::vector<EpochMetrics>& rows) {
  for (const auto& m : rows) {
    if (!std::isnan(m.val_error)) return true;
  }
  return false;
}

std::size_t best_epoch(const std::vector<EpochMetrics>& rows) {
  const bool validation = chosen_on_validation(rows);
  std::size_t best = rows.size();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double v = validation ? rows[i].val_error : rows[i].test_error;
    const double b = best < rows.size() ? (validation ? rows[best].val_error : rows[best].test_error) : 0;
    if (!std::isnan(v) && (best == rows.size() || v < b)) best = i;  // NaN: not evaluated
  }
  return best;
}

std::string metrics_csv_header() {
  return kHeader20 + kValidationColumns;  // new columns go last: readers by position
}

std::string metrics_csv_row(const EpochMetrics& m) {
  return std::to_string(m.epoch) + "," + mean_number(m.lr) + "," + mean_number(m.weight_decay) +
         "," + mean_number(m.train_loss) + "," + mean_number(m.train_error) + "," +
         mean_number(m.test_loss) + "," + mean_number(m.test_error) + "," +
         mean_number(m.grad_norm) + "," + mean_number(m.grad_norm_sq) + "," +
         mean_number(m.weight_norm) + "," +
         optional_number(m.sqrt_vbar) + "," + optional_number(m.decay_per_step) + "," +
         shortest_number(m.seconds) + "," + std::to_string(m.skipped_steps) + "," +
         mean_number(m.tracked_norm) + "," + mean_number(m.angular_update) + "," +
         mean_number(m.relative_update) + "," + mean_number(m.effective_lr) + "," +
         mean_number(m.decay_rate) + "," + mean_number(m.decay_budget) + "," +
         mean_number(m.val_loss) + "," + mean_number(m.val_error);
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
  if (!std::getline(in, line) ||
      (line != metrics_csv_header() && line != kHeader20 && line != kHeader14 && line != kHeader13)) {
    throw std::runtime_error("metrics: unexpected header '" + line.substr(0, 200) + "'");
  }
  const size_t columns = line == kHeader13 ? 13 : line == kHeader14 ? 14 : line == kHeader20 ? 20 : 22;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    std::string cell;
    while (std::getline(cells_in, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    if (cells.size() != columns) {
      throw std::runtime_error("metrics: line " + std::to_string(line_number) + " has " +
                               std::to_string(cells.size()) + " cells, expected " +
                               std::to_string(columns));
    }
    try {
      EpochMetrics m;
      m.epoch = std::stoll(cells[0]);
      double* values[] = {&m.lr,        &m.weight_decay, &m.train_loss,   &m.train_error, &m.test_loss,
                          &m.test_error, &m.grad_norm,    &m.grad_norm_sq, &m.weight_norm};
      for (size_t i = 0; i < 9; ++i) *values[i] = mean_from(cells[i + 1]);
      if (!cells[10].empty()) m.sqrt_vbar = std::stod(cells[10]);
      if (!cells[11].empty()) m.decay_per_step = std::stod(cells[11]);
      m.seconds = std::stod(cells[12]);
      if (columns >= 14) m.skipped_steps = std::stoll(cells[13]);
      if (columns >= 20) {
        m.tracked_norm = mean_from(cells[14]);
        m.angular_update = mean_from(cells[15]);
        m.relative_update = mean_from(cells[16]);
        m.effective_lr = mean_from(cells[17]);
        m.decay_rate = mean_from(cells[18]);
        m.decay_budget = mean_from(cells[19]);
      }
      if (columns >= 22) {
        m.val_loss = mean_from(cells[20]);
        m.val_error = mean_from(cells[21]);
      }
      rows.push_back(m);
    } catch (const std::logic_error&) {
      throw std::runtime_error("metrics: line " + std::to_string(line_number) +
                               " holds a value that is not a number");
    }
  }
  return rows;
}

std::vector<EpochMetrics> read_metrics_csv(const std::string& path) {
  const std::string text = util::read_file(path, {"epoch,", "a metrics.csv file", 0});
  try {
    return parse_metrics_csv(text);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace run
}  // namespace swd
