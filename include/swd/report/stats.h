#pragma once
// The statistics of a report: mean, sample standard deviation and a Student-t 95% confidence
// interval of the mean over seeds, and the paired difference of two settings over the seeds
// both ran (same seed = same initialisation, data order and subset).

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace swd {
namespace report {

/// The 0.975 quantile of Student's t distribution with `dof` degrees of freedom (dof >= 1):
/// the factor of a two-sided 95% interval. A table for dof 1..30, the Cornish-Fisher
/// expansion (Abramowitz & Stegun 26.7.5, four terms) beyond; NaN for dof < 1.
double t_quantile_975(int64_t dof);

struct Stat {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std = std::numeric_limits<double>::quiet_NaN();  ///< sample (n - 1); NaN for n < 2
  /// 95% confidence interval of the mean, mean -+ t(0.975, n - 1) * std / sqrt(n); NaN for n < 2.
  double lo = std::numeric_limits<double>::quiet_NaN();
  double hi = std::numeric_limits<double>::quiet_NaN();
  int64_t n = 0;
  /// The standard error std / sqrt(n); NaN for n < 2.
  double se() const;
};

/// Mean, sample standard deviation and t-based 95% CI of `values`.
Stat mean_std(const std::vector<double>& values);

/// A paired comparison of A against B: the differences a[i] - b[i] (same seed), their mean,
/// std and 95% CI.
struct Paired {
  Stat diff;  ///< of a - b
  /// diff.mean in standard errors: the paired t statistic, mean / (std / sqrt(n)); NaN for
  /// n < 2, +-inf when every difference is the same non-zero value.
  double se_units() const;
  /// -1: A lower (the CI lies below 0), +1: A higher (above 0), 0: the CI contains 0 or n < 2.
  int sign() const;
};
Paired paired(const std::vector<double>& a, const std::vector<double>& b);

/// The two-sided p-value of Student's t statistic `t` with `dof` degrees of freedom,
/// P(|T| >= |t|) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2) (the regularised incomplete beta
/// function, by its continued fraction, DLMF 8.17.22). 0 for t = +-inf; NaN for dof < 1 or a
/// NaN t.
double t_two_sided_p(double t, int64_t dof);

/// The paired t test's two-sided p-value for A - B = 0: t_two_sided_p(se_units(), n - 1);
/// NaN for n < 2.
double p_value(const Paired& p);

/// Holm's step-down adjustment for m tests (Holm 1979, "A simple sequentially rejective
/// multiple test procedure"): with the p-values sorted p_(1) <= ... <= p_(m), the adjusted
/// p_(i) is max over j <= i of min(1, (m - j + 1) p_(j)); test i is rejected at level alpha
/// when its adjusted p-value is <= alpha, which is the step-down rule (reject while
/// p_(j) <= alpha / (m - j + 1)). Returned in the order given; a NaN p-value (a test without
/// data) counts as 1: it stays in m and is never rejected.
std::vector<double> holm_adjust(const std::vector<double>& p_values);

/// "A better", "B better" (lower is better: errors), or "no difference detected (CI [lo, hi])"
/// with the CI in `unit` ("pp": percentage points of a fraction, "" as is); "n = 1: no CI"
/// when there is one pair only.
std::string verdict(const Paired& p, const std::string& a, const std::string& b,
                    bool lower_is_better, bool percent);

}  // namespace report
}  // namespace swd
