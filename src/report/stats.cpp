// Mean, sample standard deviation, Student-t confidence intervals and paired differences.
#include "swd/report/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace swd {
namespace report {

double t_quantile_975(int64_t dof) {
  // t(0.975, dof) for dof = 1..30, to 9 decimals (any table of Student's t: dof 1 is
  // tan(0.475 pi), dof 2 is 0.95 * sqrt(2 / 0.0975); tests/report_stats_test.cpp checks every
  // entry against the t CDF integrated numerically).
  static const double kTable[30] = {
      12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
      2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
      2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
      2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
      2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
  if (dof < 1) return std::numeric_limits<double>::quiet_NaN();
  if (dof <= 30) return kTable[dof - 1];
  // Cornish-Fisher expansion of the t quantile around the normal one, z = Phi^-1(0.975)
  // (Abramowitz & Stegun 26.7.5): t = z + g1/n + g2/n^2 + g3/n^3 + g4/n^4.
  const double z = 1.959963984540054, n = static_cast<double>(dof);
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  const double g1 = (z3 + z) / 4;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
  return z + g1 / n + g2 / (n * n) + g3 / (n * n * n) + g4 / (n * n * n * n);
}

double Stat::se() const { return n > 1 ? std / std::sqrt(static_cast<double>(n)) : NAN; }

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
    // Two-sided 95% interval of the mean: mean -+ t(0.975, n - 1) * std / sqrt(n).
    const double half = t_quantile_975(s.n - 1) * s.se();
    s.lo = s.mean - half;
    s.hi = s.mean + half;
  }
  return s;
}

double Paired::se_units() const {
  if (diff.n < 2) return NAN;
  if (diff.std == 0) return diff.mean == 0 ? 0.0 : std::copysign(INFINITY, diff.mean);
  return diff.mean / diff.se();
}

int Paired::sign() const {
  if (diff.n < 2) return 0;
  if (diff.hi < 0) return -1;
  if (diff.lo > 0) return 1;
  return 0;
}

namespace {

/// The continued fraction of the incomplete beta function I_x(a, b) (DLMF 8.17.22), by the
/// modified Lentz method; converges fast for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < tiny ? tiny : d);
  double f = d;
  for (int m = 1; m <= 10000; ++m) {
    for (int half = 0; half < 2; ++half) {
      // d_(2m) = m (b - m) x / ((a + 2m - 1)(a + 2m)),
      // d_(2m+1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
      const double coefficient = half == 0 ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                           : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
      d = 1 + coefficient * d;
      d = 1 / (std::fabs(d) < tiny ? tiny : d);
      c = 1 + coefficient / c;
      if (std::fabs(c) < tiny) c = tiny;
      const double delta = c * d;
      f *= delta;
      if (half == 1 && std::fabs(delta - 1) < 1e-15) return f;
    }
  }
  return f;
}

/// The regularised incomplete beta function I_x(a, b) for a, b > 0, 0 <= x <= 1.
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  // I_x(a, b) = 1 - I_(1-x)(b, a): use the side where the fraction converges.
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double t_two_sided_p(double t, int64_t dof) {
  if (dof < 1 || std::isnan(t)) return NAN;
  if (std::isinf(t)) return 0;
  const double v = static_cast<double>(dof);
  return incomplete_beta(v / 2, 0.5, v / (v + t * t));
}

double p_value(const Paired& p) {
  return p.diff.n < 2 ? NAN : t_two_sided_p(p.se_units(), p.diff.n - 1);
}

std::vector<double> holm_adjust(const std::vector<double>& p_values) {
  const size_t m = p_values.size();
  std::vector<double> p(m);
  for (size_t i = 0; i < m; ++i) p[i] = std::isnan(p_values[i]) ? 1.0 : p_values[i];
  std::vector<size_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> adjusted(m);
  double running = 0;  // max over j <= i of min(1, (m - j + 1) p_(j)), j counted from 1
  for (size_t k = 0; k < m; ++k) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - k) * p[order[k]]));
    adjusted[order[k]] = running;
  }
  return adjusted;
}

Paired paired(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d.push_back(a[i] - b[i]);
  return {mean_std(d)};
}

std::string verdict(const Paired& p, const std::string& a, const std::string& b,
                    bool lower_is_better, bool percent) {
  if (p.diff.n < 2) return "n = " + std::to_string(p.diff.n) + ": no CI";
  const int sign = p.sign();
  if (sign != 0) {
    if (!lower_is_better) return a + (sign < 0 ? " lower" : " higher");
    return (sign < 0 ? a : b) + " better";
  }
  const double scale = percent ? 100 : 1;
  char text[96];
  std::snprintf(text, sizeof text, percent ? "no difference detected (CI [%+.2f, %+.2f])"
                                           : "no difference detected (CI [%+.3g, %+.3g])",
                scale * p.diff.lo, scale * p.diff.hi);
  return text;
}

}  // namespace report
}  // namespace swd
