// The report's learning-dynamics figures (docs/DYNAMICS.md), where the runs have measured them:
//   dynamics-angular-update  per epoch, one line per group: the mean over seeds of the tracked
//                            weights' angular update per step, a 95% CI band, and the
//                            equilibrium (E1) predicts at the group's decay rate as a line
//   dynamics-tracked-norm    the tracked weights' norm per epoch, likewise
//   dynamics-decay-budget    the decay budget (e-folds) per epoch, likewise
//   regime-map               each paired comparison of final test error (A - B over seeds,
//                            95% CI) against the decay budget of its cell, log axis: one line
//                            per pair, one figure per model when the model varies; left
//                            out (with a note) where the budgets span less than 3x
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "figure_parts.h"
#include "swd/report/compare.h"
#include "swd/report/figures.h"
#include "swd/train/dynamics.h"
#include "swd/train/optimizer_factory.h"

namespace swd {
namespace report {
namespace detail {

namespace {

const EpochMeasure kDynamics[] = {
    {"angular-update", "Angular update per step", "angular update per step (radians)", true,
     [](const run::EpochMetrics& m) { return m.angular_update; }},
    {"tracked-norm", "Norm of the tracked weights", "norm of the tracked weights |w|", false,
     [](const run::EpochMetrics& m) { return m.tracked_norm; }},
    {"decay-budget", "Decay budget", "decay budget (e-folds)", true,
     [](const run::EpochMetrics& m) { return m.decay_budget; }},
};

/// mu of (E1) for a group's runs, from the first run's settings (config.json records every
/// optimizer setting resolved); NaN when they do not say.
double averaging_of(const SweepResults& results, const Group& group) {
  const Settings& settings = results.runs[group.runs.front()].config;
  try {
    const auto choice = train::parse_optimizer_name(setting_of(settings, "optimizer"));
    const std::string momentum = setting_of(settings, "momentum"), betas = setting_of(settings, "betas");
    return train::update_averaging(choice.family, momentum.empty() ? NAN : number(momentum),
                                   betas.empty() ? NAN : number(betas));  // "0.9,0.999": the first
  } catch (const std::exception&) {
    return NAN;
  }
}

/// (E1) at each epoch of `s` with the group's mean decay rate there.
Series predicted_angle(const SweepResults& results, const Group& group) {
  Series decay = mean_curve(results, group, [](const run::EpochMetrics& m) { return m.decay_rate; });
  const double mu = averaging_of(results, group);
  Series s;
  for (size_t i = 0; i < decay.x.size(); ++i) {
    const double theta = train::equilibrium_angular_update(decay.y[i], mu);
    if (!(theta > 0)) continue;
    s.x.push_back(decay.x[i]);
    s.y.push_back(theta);
  }
  return s;
}

bool any_measured(const SweepResults& results, double (*get)(const run::EpochMetrics&)) {
  for (const auto& run : results.runs) {
    for (const auto& m : run.epochs) {
      if (std::isfinite(get(m))) return true;
    }
  }
  return false;
}

void add_curves_of_dynamics(const SweepResults& results, std::vector<Figure>& figures,
                            std::vector<std::string>& notes) {
  if (!any_measured(results, kDynamics[0].get)) return;  // runs made before the dynamics
  const std::string pivot = pivot_axis(results);
  const auto rest = group_axes_without(results, {pivot});
  const Combos panels = combos(results, rest);
  size_t longest = 0;
  for (const auto& run : results.runs) longest = std::max(longest, run.epochs.size());
  if (longest < 2) return;  // a one-epoch curve is a point (the tables give the numbers)
  if (panels.values.size() > kMaxFiguresPerMeasure || (pivot.empty() && results.groups.size() > kMaxLines / 2)) {
    notes.push_back("dynamics curves left out: they would take " + std::to_string(panels.values.size()) +
                    " figures per measure; the decay budget is in the tables");
    return;
  }
  for (const auto& d : kDynamics) {
    for (size_t p = 0; p < panels.values.size(); ++p) {
      Figure f;
      f.name = std::string("dynamics-") + d.name + slug(rest, panels.values[p]);
      f.title = std::string(d.title) + " per epoch" + (rest.empty() ? "" : " -- " + label(rest, panels.values[p])) +
                " (mean over seeds, band: 95% CI of the mean)";
      f.xlabel = "epoch";
      f.ylabel = d.ylabel;
      f.integer_x = true;
      f.logy = d.logy;
      for (size_t g = 0; g < results.groups.size(); ++g) {
        if (panels.of_group[g] != p) continue;
        const Group& group = results.groups[g];
        const std::string name = pivot.empty() ? label(results.group_axes, group.key)
                                               : value_label(pivot, group.key[results.group_axis(pivot)]);
        Series s = mean_curve(results, group, d.get);
        if (s.x.empty()) continue;
        s.label = name;
        f.series.push_back(s);
        if (std::string(d.name) == "angular-update") {
          Series e1 = predicted_angle(results, group);
          if (e1.x.empty()) continue;
          e1.label = name + ": equilibrium (E1)";
          f.series.push_back(e1);
        }
      }
      if (f.series.empty()) continue;
      f.caption = std::string(d.title) + " of the tracked (scale-invariant) weights against epoch" +
                  (rest.empty() ? "" : " for " + label(rest, panels.values[p])) + "; one line per " +
                  (pivot.empty() ? "group" : axis_title(pivot)) +
                  ", mean over seeds, the band the 95% confidence interval of the mean" +
                  (std::string(d.name) == "angular-update"
                       ? "; each group's second line is the equilibrium sqrt(2 d (1 - mu) / (1 + mu)) "
                         "that docs/DYNAMICS.md (E1) predicts at the decay rate d the runs applied."
                       : ".");
      figures.push_back(f);
    }
  }
}

/// The group whose values are `key` (in group_axes order), or nullptr.
const Group* group_with(const SweepResults& results, const std::vector<std::string>& key) {
  for (const auto& g : results.groups) {
    if (g.key == key) return &g;
  }
  return nullptr;
}

/// How far apart (a ratio) the lowest and highest budget of a regime map must be.
constexpr double kRegimeSpan = 3;

/// The regime map: paired differences of final test error against the decay budget.
void add_regime_map(const SweepResults& results, std::vector<Figure>& figures, std::vector<std::string>& notes) {
  if (!any_measured(results, [](const run::EpochMetrics& m) { return m.decay_budget; })) return;
  struct Point {
    std::string panel, line;
    double budget, diff, half;
  };
  std::vector<Point> points;
  std::set<std::string> panel_values;
  for (const auto& c : paired_comparisons(results)) {
    if (c.measure != Measure::FinalTestError || c.result.diff.n < 2) continue;
    // The two groups of the comparison: the pair's values on its axis, the rest as given.
    std::vector<std::string> key_a, key_b;
    std::string panel;
    for (const auto& axis : results.group_axes) {
      if (axis == c.pair.axis) {
        key_a.push_back(c.pair.a);
        key_b.push_back(c.pair.b);
        continue;
      }
      const auto at = std::find(c.rest_axes.begin(), c.rest_axes.end(), axis);
      if (at == c.rest_axes.end()) break;
      const std::string value = c.rest[static_cast<size_t>(at - c.rest_axes.begin())];
      key_a.push_back(value);
      key_b.push_back(value);
      if (axis == "model") panel = value;
    }
    const Group* a = group_with(results, key_a);
    const Group* b = group_with(results, key_b);
    if (a == nullptr || b == nullptr) continue;
    // The cell's budget: the mean over both groups' runs that decay (A and B apply different
    // decay rates where they differ in the decay mode; the x of a point is where the pair ran).
    // A run without weight decay, the control of a lambda - 0 pair, has budget 0 and does not
    // count: lambda 5e-2 - 0 is placed at lambda 5e-2's budget, not at half of it.
    std::vector<double> budgets;
    for (const Group* g : {a, b}) {
      for (size_t r : g->runs) {
        const double budget = measure_of(results.runs[r], Measure::FinalDecayBudget);
        if (budget != 0) budgets.push_back(budget);
      }
    }
    if (budgets.empty()) continue;
    const Stat budget = mean_std(budgets);
    if (!(budget.mean > 0)) continue;
    points.push_back({panel, c.pair.a + " - " + c.pair.b, budget.mean, 100 * c.result.diff.mean,
                      100 * (c.result.diff.hi - c.result.diff.mean)});
    panel_values.insert(panel);
  }
  // A map needs budgets apart: cells within 3x of each other (a batch-size sweep that scales
  // lambda to keep the budget, one lambda under three decay modes) differ in something else,
  // and a line across them would read as a trend in the budget. The paired tables show them.
  if (points.empty()) return;
  double lowest = INFINITY, highest = 0;
  for (const auto& p : points) {
    lowest = std::min(lowest, p.budget);
    highest = std::max(highest, p.budget);
  }
  if (highest < kRegimeSpan * lowest) {
    char range[160];
    std::snprintf(range, sizeof range, "regime-map left out: the cells' decay budgets span %.3g to %.3g e-folds, "
                  "less than %gx (the paired comparisons above give each pair)", lowest, highest, kRegimeSpan);
    notes.push_back(range);
    return;
  }
  for (const auto& panel : panel_values) {
    Figure f;
    f.name = "regime-map" + (panel.empty() ? std::string() : "-model=" + panel);
    f.title = "Paired difference in final test error against the decay budget" +
              (panel.empty() ? std::string() : " -- model " + panel) + " (mean and 95% CI over seeds)";
    f.xlabel = "decay budget of the cell (e-folds, mean over its runs that decay)";
    f.ylabel = "A - B, final test error (percentage points)";
    f.logx = true;
    f.dodge = true;
    std::map<std::string, size_t> line_of;
    double lo = INFINITY, hi = 0;
    std::vector<Point> mine;
    for (const auto& p : points) {
      if (p.panel == panel) mine.push_back(p);
    }
    // One line per pair, in the order the comparisons come (the paper's pairs first), so that
    // a pair keeps its colour from one sweep's map to the next; each line's points by budget.
    for (const auto& p : mine) {
      if (!line_of.count(p.line)) {
        line_of[p.line] = f.series.size();
        f.series.push_back({p.line, {}, {}, {}, {}, {}});
      }
    }
    std::stable_sort(mine.begin(), mine.end(),
                     [](const Point& x, const Point& y) { return x.budget < y.budget; });
    for (const auto& p : mine) {
      auto& s = f.series[line_of[p.line]];
      s.x.push_back(p.budget);
      s.y.push_back(p.diff);
      s.err.push_back(p.half);
      lo = std::min(lo, p.budget);
      hi = std::max(hi, p.budget);
    }
    if (f.series.size() > kMaxLines) {
      notes.push_back(f.name + " left out: " + std::to_string(f.series.size()) + " pairs are too many lines");
      continue;
    }
    f.series.push_back({"no difference", {lo, hi}, {0, 0}, {}, {}, {}});
    f.caption = "The regime map: for each pair A - B and each cell of the sweep, the mean over seeds "
                "of the paired difference in final test error (percentage points; below 0: A "
                "better) with its 95% confidence interval, placed at the cell's decay budget "
                "(docs/DYNAMICS.md; log axis): the mean over the runs of A and B that decay (a run "
                "without weight decay has budget 0). A cell's budget is set by its weight decay and "
                "its length together.";
    figures.push_back(f);
  }
}

}  // namespace

void add_dynamics_figures(const SweepResults& results, std::vector<Figure>& figures,
                          std::vector<std::string>& notes) {
  add_curves_of_dynamics(results, figures, notes);
  add_regime_map(results, figures, notes);
}

}  // namespace detail
}  // namespace report
}  // namespace swd
