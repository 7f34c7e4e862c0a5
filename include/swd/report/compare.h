#pragma once
// Paired comparisons over seeds: for two values A and B of one setting (adams against adam,
// wd x k against lr x k), the runs that agree on every other setting and on their seed are
// paired, and the differences A - B summarised (mean, std, 95% CI, standard errors) with a
// verdict. Same seed = same initialisation, data order and training subset, so pairing
// removes the spread between seeds from the comparison.

#include <limits>
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

/// The comparisons of `pairs`, each at every combination of the other varying settings
/// where both finished, for each of `measures` (paired_comparisons' building block).
std::vector<Comparison> comparisons_of(const SweepResults& results, const std::vector<PairSpec>& pairs,
                                       const std::vector<Measure>& measures);

/// The answer a report leads with when the sweep fixed no primary tests: each value of the
/// pivot axis (optimizer, else scaling rule) against each other at the same other settings,
/// paired over seeds; A is the earlier value unless the pair is a paper or [report] pair the
/// other way round (adams - adam).
std::vector<Comparison> pivot_comparisons(const SweepResults& results,
                                          Measure measure = Measure::FinalTestError);

/// paired.csv: pair, the other settings, measure, n, the mean, std and 95% CI of A - B, the
/// mean in standard errors, and the verdict.
std::string paired_csv(const std::vector<Comparison>& comparisons);

/// The verdict of a comparison: for errors "A better" / "B better" / "no difference detected
/// (CI [lo, hi])" in percentage points; for other measures "A lower" / "A higher".
std::string comparison_verdict(const Comparison& c);

/// One [analysis] primary test at one combination of the settings that vary and that its
/// `at` leaves open (`open_axes`, `open`): groups A and B paired over seeds.
struct PrimaryResult {
  sweep::PrimaryTest test;
  std::vector<std::string> open_axes, open;
  std::vector<std::string> seeds;  ///< the seeds both ran, in A's order
  Paired result;                   ///< of A - B; n 0 when no finished runs match
  double p = std::numeric_limits<double>::quiet_NaN();       ///< paired t test, two-sided
  double p_holm = std::numeric_limits<double>::quiet_NaN();  ///< Holm-adjusted over the report's tests
  size_t holm_m = 0;  ///< the number of tests Holm adjusts over
  size_t planned_seeds = 0;  ///< the seeds the sweep plans (its seed column), 0: no seed axis

  /// Whether fewer seeds than planned are paired yet: an interim look, whose verdict waits and
  /// which Holm counts as p = 1 (the test's n is fixed by the sweep file).
  bool interim() const { return result.diff.n > 0 && static_cast<size_t>(result.diff.n) < planned_seeds; }
  /// At the 95% level, this test alone: "supported" (the CI lies on the predicted side of
  /// 0), "contradicted" (on the other side), "inconclusive" (it contains 0, or n < 2), "no
  /// data" (no finished runs of A and B with a seed in common) or, while interim(), "interim
  /// (3 of 5 seeds)".
  std::string verdict() const;
  /// The same after Holm's adjustment: supported or contradicted when p_holm <= 0.05.
  std::string verdict_holm() const;
  /// "at weight-decay=0.005, epochs=20" (the test's at and the open settings), or "".
  std::string where() const;
};

/// Every primary test of results.primary, in order, each at every combination of the open
/// settings where both groups finished (one result with n 0 where none did), with p-values
/// Holm-adjusted over all of them.
std::vector<PrimaryResult> primary_results(const SweepResults& results);

/// primary.csv: one row per primary result.
std::string primary_csv(const std::vector<PrimaryResult>& results);

}  // namespace report
}  // namespace swd
