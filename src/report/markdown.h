#pragma once
// The small pieces report.md is written with: numbers as the tables show them, and table
// rows whose cells no value can break out of. Shared by report.cpp and sections.cpp.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "swd/report/compare.h"
#include "swd/report/results.h"

namespace swd {
namespace report {
namespace md {

inline std::string format(const char* pattern, double a, double b = 0) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, a, b);
  return text;
}

/// "12.34 (0.56)" in percent; the std only where there are two runs or more.
inline std::string percent(const Stat& s) {
  return s.n > 1 ? format("%.2f (%.2f)", 100 * s.mean, 100 * s.std) : format("%.2f", 100 * s.mean);
}
/// "12.34 (0.56) [11.65, 13.03]": mean (std) [95% CI] in percent.
inline std::string percent_ci(const Stat& s) {
  return s.n > 1 ? percent(s) + format(" [%.2f, %.2f]", 100 * s.lo, 100 * s.hi) : percent(s);
}
inline std::string general(const Stat& s) {
  return s.n > 1 ? format("%.4g (%.2g)", s.mean, s.std) : format("%.4g", s.mean);
}

/// A markdown table cell: '|' escaped and line breaks made spaces, so that no value from
/// runs.csv or a sweep file can end a cell or a row.
inline std::string cell_text(const std::string& text) {
  std::string out;
  for (char ch : one_line(text)) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

inline std::string row(const std::vector<std::string>& cells) {
  std::string text = "|";
  for (const auto& c : cells) text += " " + cell_text(c) + " |";
  return text + "\n";
}
inline std::string rule(size_t columns) {
  std::string text = "|";
  for (size_t i = 0; i < columns; ++i) text += "---|";
  return text + "\n";
}

/// Whether a group's runs were given another weight decay than the one the grid names.
inline bool applied_differs(const SweepResults& r, const Group& g) {
  const std::string applied = applied_weight_decay(r, g), nominal = nominal_weight_decay(r, g);
  return !applied.empty() && !nominal.empty() &&
         std::strtod(applied.c_str(), nullptr) != std::strtod(nominal.c_str(), nullptr);
}

/// Whether the runs were given more than one weight decay (config.json).
inline bool applied_varies(const SweepResults& r) {
  std::string first;
  for (const auto& run : r.runs) {
    const std::string wd = setting_of(run.config, "weight-decay");
    if (first.empty()) first = wd;
    if (wd != first) return true;
  }
  return false;
}

/// "+1.23 [+0.45, +2.01]": a paired difference and its 95% CI, in percent or as is.
inline std::string difference(const Stat& d, bool in_percent) {
  const double k = in_percent ? 100 : 1;
  const char* pattern = in_percent ? "%+.2f" : "%+.3g";
  if (d.n < 2) return d.n == 1 ? format(pattern, k * d.mean) : "-";
  return format(pattern, k * d.mean) + " [" + format(pattern, k * d.lo) + ", " +
         format(pattern, k * d.hi) + "]";
}
inline std::string in_se(const Paired& p) {
  const double t = p.se_units();
  return std::isnan(t) ? "-" : std::isinf(t) ? (t > 0 ? "+inf" : "-inf") : format("%+.1f", t);
}

inline std::string p_text(double p) {
  if (std::isnan(p)) return "-";
  return p < 1e-4 ? std::string("< 0.0001") : format("%.4f", p);
}

/// The section report.md opens with: the primary tests when the sweep fixed some, else each
/// value of the pivot axis against each other (sections.cpp); "" when there is neither.
std::string answer_section(const SweepResults& r, const std::vector<PrimaryResult>& primary);
/// One row per group: its axes, the other settings that differ, the weight decay applied.
std::string differing_section(const SweepResults& r);
/// The settings every run shares, those that apply to some run; last in report.md.
std::string shared_section(const SweepResults& r);

}  // namespace md
}  // namespace report
}  // namespace swd
