#pragma once
// Paired comparisons over seeds: for two values A and B of one setting (adams against adam,
// wd x k against lr x k), the runs that agree on every other setting and on their seed are
// paired, and the differences A - B summarised (mean, std, 95% CI, standard errors) with a
// verdict. Same seed = same initialisation, data order and training subset, so pairing
// removes the spread between seeds from the comparison.

#include <string>
#include <vector>

#include "swd/report/results.h"
#include "swd/report/stats.h"

namespace swd {
namespace report {

/// Groups a and b of `results` paired by seed: `measure` of a - b over the seeds both ran
/// (their seeds, in a's order, into `seeds` if given).
Paired paired_groups(const SweepResults& results, const Group& a, const Group& b, Measure measure,
                     std::vector<std::string>* seeds = nullptr);

/// The paper's comparisons: stable weight decay against its counterpart (sgds-sgd,
/// adams-adam, adams-adamw, amsgrads-amsgrad, adais-adai: optimizer values) and the
/// weight-decay scaling rule against the others (scale-rule wd-lr, wd-none).
std::vector<PairSpec> paper_pairs();

struct Comparison {
  PairSpec pair;
  std::vector<std::string> rest_axes;  ///< the other settings that vary
  std::vector<std::string> rest;       ///< their values for this comparison
  Measure measure = Measure::FinalTestError;
  std::vector<std::string> seeds;      ///< the seeds both ran, in A's order
  Paired result;
};

/// The paper's pairs and the sweep's (results.pairs), each for every combination of the other
/// varying settings where both A and B finished, for the final test error and the final
/// gradient norm. Pairs whose values the results lack are left out.
std::vector<Comparison> paired_comparisons(const SweepResults& results);

/// paired.csv: pair, the other settings, measure, n, the mean, std and 95% CI of A - B, the
/// mean in standard errors, and the verdict.
std::string paired_csv(const std::vector<Comparison>& comparisons);

/// The verdict of a comparison: for errors "A better" / "B better" / "no difference detected
/// (CI [lo, hi])" in percentage points; for other measures "A lower" / "A higher".
std::string comparison_verdict(const Comparison& c);

}  // namespace report
}  // namespace swd
