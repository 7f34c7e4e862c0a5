#pragma once
// The small pieces the report's figure planners share (figures.cpp, dynamics_figures.cpp):
// grouping the sweep's groups into lines and panels, and their labels and file names.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "swd/report/figures.h"
#include "swd/report/results.h"
#include "swd/run/metrics.h"

namespace swd {
namespace report {
namespace detail {

inline constexpr size_t kMaxLines = 12;
inline constexpr size_t kMaxFiguresPerMeasure = 4;  // curve figures (panels) per measure

/// A per-epoch measure that curve figures draw: the file name's stem, the title, the y label,
/// a log y axis or not, and how to read it from an epoch's metrics.
struct EpochMeasure {
  const char* name;
  const char* title;
  const char* ylabel;
  bool logy;
  double (*get)(const run::EpochMetrics&);
};

inline double number(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

/// The numeric values of `axis`, ascending: tics at the grid's own values, when few.
inline std::vector<double> grid_values(const SweepResults& results, const std::string& axis) {
  std::vector<double> values;
  for (const auto& v : results.values_of(axis)) values.push_back(number(v));
  std::sort(values.begin(), values.end());
  if (values.size() > 12) values.clear();
  return values;
}

/// The distinct combinations of `axes` (names in group_axes) over the groups, first seen
/// first, and for each group the index of its combination.
struct Combos {
  std::vector<std::vector<std::string>> values;
  std::vector<size_t> of_group;
};

inline Combos combos(const SweepResults& results, const std::vector<std::string>& axes) {
  Combos c;
  for (const auto& g : results.groups) {
    std::vector<std::string> v;
    for (const auto& axis : axes) v.push_back(g.key[results.group_axis(axis)]);
    auto it = std::find(c.values.begin(), c.values.end(), v);
    c.of_group.push_back(static_cast<size_t>(it - c.values.begin()));
    if (it == c.values.end()) c.values.push_back(v);
  }
  return c;
}

inline std::vector<std::string> group_axes_without(const SweepResults& results,
                                            const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (const auto& axis : results.group_axes) {
    if (std::find(drop.begin(), drop.end(), axis) == drop.end()) out.push_back(axis);
  }
  return out;
}

inline std::string label(const std::vector<std::string>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (size_t i = 0; i < axes.size(); ++i) {
    text += (i ? ", " : "") + value_label(axes[i], values[i]);
  }
  return text.empty() ? "all runs" : text;
}

inline std::string slug(const std::vector<std::string>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (size_t i = 0; i < axes.size(); ++i) text += "-" + axes[i] + "=" + values[i];
  for (auto& ch : text) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '=') ch = '_';
  }
  return text;
}

/// The learning-dynamics figures (dynamics_figures.cpp), added to `figures`.
void add_dynamics_figures(const SweepResults& results, std::vector<Figure>& figures,
                          std::vector<std::string>& notes);

/// The mean over a group's runs of `get` at each epoch all its runs reached and measured
/// (a NaN, e.g. a test column left empty between evaluations, leaves the epoch out), with
/// the 95% CI of the mean (Student t) as a band when there are several runs (figures.cpp).
Series mean_curve(const SweepResults& results, const Group& group,
                  double (*get)(const run::EpochMetrics&));

}  // namespace detail
}  // namespace report
}  // namespace swd
