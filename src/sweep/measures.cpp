// The measures' table (measures.h).
#include "swd/sweep/measures.h"

#include <stdexcept>

namespace swd {
namespace sweep {

const std::vector<MeasureInfo>& measure_table() {
  static const std::vector<MeasureInfo> table = {
      {Measure::FinalTestError, "final_test_error", "final test error", true},
      {Measure::BestTestError, "best_test_error", "best test error", true},
      {Measure::FinalTrainLoss, "final_train_loss", "final training loss", false},
      {Measure::FinalGradNorm, "final_grad_norm", "final gradient norm", false},
      {Measure::FinalWeightNorm, "final_weight_norm", "final weight norm", false},
      {Measure::FinalDecayBudget, "final_decay_budget", "decay budget (e-folds)", false}};
  return table;
}

const MeasureInfo& measure_info(Measure measure) {
  for (const auto& m : measure_table()) {
    if (m.measure == measure) return m;
  }
  throw std::logic_error("measure without a row in measure_table()");
}

const MeasureInfo* measure_named(const std::string& name) {
  for (const auto& m : measure_table()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

}  // namespace sweep
}  // namespace swd
