#pragma once
// The numbers a sweep's runs are summarised by, and their names: a sweep file's [analysis]
// tests name one (analysis.h), and `swd report` summarises every group by each of them
// (report/results.h). One row per measure.

#include <string>
#include <vector>

namespace swd {
namespace sweep {

/// The numbers every group summarises, each from a run's last epoch unless named "best".
enum class Measure {
  FinalTestError, BestTestError, FinalTrainLoss, FinalGradNorm, FinalWeightNorm,
  FinalDecayBudget,  ///< the tracked weights' decay budget in e-folds (docs/DYNAMICS.md); NaN in runs made before it
};

/// A measure's name in summary.csv, paired.csv and [analysis] tests, its words for tables,
/// and whether it is an error rate (a fraction: lower is better, shown in percent). One row
/// per Measure: a new measure is a new enum value, a row here and a case in
/// report::measure_of.
struct MeasureInfo {
  Measure measure;
  const char* name;   ///< "final_test_error"
  const char* words;  ///< "final test error"
  bool is_error;
};
const std::vector<MeasureInfo>& measure_table();
const MeasureInfo& measure_info(Measure measure);
/// The measure named `name` (MeasureInfo::name), or nullptr.
const MeasureInfo* measure_named(const std::string& name);

}  // namespace sweep
}  // namespace swd
