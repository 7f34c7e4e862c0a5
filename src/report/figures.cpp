// Which figures a sweep's results call for, and their data.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "swd/report/compare.h"
#include "swd/report/figures.h"
#include "swd/util/csv.h"
#include "figure_parts.h"

namespace swd {
namespace report {

using namespace detail;  // the figure helpers shared with dynamics_figures.cpp

namespace detail {

// figure_parts.h: one mean curve for the learning curves and the dynamics curves
Series mean_curve(const SweepResults& results, const Group& group,
                  double (*get)(const run::EpochMetrics&)) {
  Series s;
  size_t epochs = SIZE_MAX;
  for (size_t r : group.runs) epochs = std::min(epochs, results.runs[r].epochs.size());
  for (size_t e = 0; e < epochs; ++e) {
    std::vector<double> values;
    for (size_t r : group.runs) values.push_back(get(results.runs[r].epochs[e]));
    if (!std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); })) continue;
    const Stat stat = mean_std(values);
    s.x.push_back(static_cast<double>(results.runs[group.runs[0]].epochs[e].epoch));
    s.y.push_back(stat.mean);
    if (group.runs.size() > 1) {
      s.band_lo.push_back(stat.lo);
      s.band_hi.push_back(stat.hi);
    }
  }
  return s;
}

}  // namespace detail

namespace {

const EpochMeasure kCurves[] = {
    {"test-error", "Test error", "test error (%)", false, [](const run::EpochMetrics& m) { return 100 * m.test_error; }},
    {"train-loss", "Training loss", "training loss (cross-entropy)", true, [](const run::EpochMetrics& m) { return m.train_loss; }},
    {"grad-norm", "Gradient norm", "gradient norm ||grad L|| (mean over the epoch)", true, [](const run::EpochMetrics& m) { return m.grad_norm; }},
    {"weight-norm", "Weight norm", "weight norm ||theta|| (end of epoch)", false, [](const run::EpochMetrics& m) { return m.weight_norm; }},
};

/// " (applied: 0.5)" or " (applied: 1000 x wd)" when the weight decay the runs of `groups`
/// were given is not the one they are placed at (weight-decay-over-lr); "" otherwise.
std::string applied_note(const SweepResults& results, const std::vector<const Group*>& groups) {
  std::string applied_value;
  double ratio = NAN;
  bool differs = false, one_value = true, one_ratio = true;
  for (const Group* g : groups) {
    const std::string applied = applied_weight_decay(results, *g);
    const std::string nominal = nominal_weight_decay(results, *g);
    if (applied.empty() || nominal.empty() || number(applied) == number(nominal)) continue;
    const double r = number(applied) / number(nominal);
    if (differs) {
      one_value = one_value && applied == applied_value;
      one_ratio = one_ratio && std::fabs(r - ratio) <= 1e-9 * std::fabs(ratio);
    }
    differs = true;
    applied_value = applied;
    ratio = r;
  }
  if (!differs) return "";
  if (one_value) return " (weight decay applied: " + applied_value + ")";
  if (one_ratio) return " (weight decay applied: " + util::shortest_number(ratio) + " x the one shown)";
  return " (another weight decay applied: see the tables)";
}

void add_curves(const SweepResults& results, std::vector<Figure>& figures,
                std::vector<std::string>& notes) {
  const std::string pivot = pivot_axis(results);
  const auto rest = group_axes_without(results, {pivot});
  const Combos panels = combos(results, rest);
  if (pivot.empty() && results.groups.size() > kMaxLines) {
    notes.push_back("curves left out: " + std::to_string(results.groups.size()) +
                    " groups of runs are too many lines for one figure");
    return;
  }
  size_t longest = 0;
  for (const auto& run : results.runs) longest = std::max(longest, run.epochs.size());
  if (longest < 2) {
    notes.push_back("curves left out: the runs have one epoch (a curve would be a single point)");
    return;
  }
  if (panels.values.size() > kMaxFiguresPerMeasure) {
    std::string axes;
    for (const auto& axis : rest) axes += (axes.empty() ? "" : ", ") + axis_title(axis);
    notes.push_back("curves left out: they would take " + std::to_string(panels.values.size()) +
                    " figures per measure (one per " + axes + ")");
    return;
  }
  for (const auto& c : kCurves) {
    std::vector<Figure> of_measure;
    size_t points = 0;  // the most any line of this measure has
    for (size_t p = 0; p < panels.values.size(); ++p) {
      Figure f;
      f.name = std::string("curves-") + c.name + slug(rest, panels.values[p]);
      f.ylabel = c.ylabel;
      f.title = std::string(c.title) + " per epoch" +
                (rest.empty() ? "" : " -- " + label(rest, panels.values[p])) +
                " (mean over seeds, band: 95% CI of the mean)";
      f.xlabel = "epoch";
      f.integer_x = true;
      f.logy = c.logy;
      for (size_t g = 0; g < results.groups.size(); ++g) {
        if (panels.of_group[g] != p) continue;
        Series s = mean_curve(results, results.groups[g], c.get);
        s.label = (pivot.empty() ? label(results.group_axes, results.groups[g].key)
                                 : value_label(pivot, results.groups[g].key[results.group_axis(pivot)])) +
                  applied_note(results, {&results.groups[g]});
        points = std::max(points, s.x.size());
        f.series.push_back(s);
      }
      f.caption = std::string(c.title) + " against epoch" +
                  (rest.empty() ? "" : " for " + label(rest, panels.values[p])) +
                  "; one line per " + (pivot.empty() ? "group" : axis_title(pivot)) +
                  ", mean over seeds; the shaded band is the 95% confidence interval of the mean "
                  "(Student t, n - 1 degrees of freedom).";
      of_measure.push_back(f);
    }
    if (points < 2) {  // the test error of runs evaluated only after their last epoch (eval-every)
      notes.push_back(std::string(c.name) + " curves left out: each run measured it once at most (eval-every), "
                      "so a curve would be a single point; the tables give the numbers");
      continue;
    }
    figures.insert(figures.end(), of_measure.begin(), of_measure.end());
  }
}

/// Final test error against a numeric axis, one line per combination of the other axes.
void add_error_against(const SweepResults& results, const std::string& axis,
                       std::vector<Figure>& figures, std::vector<std::string>& notes) {
  if (results.group_axis(axis) < 0) return;
  const auto others = group_axes_without(results, {axis});
  const Combos lines = combos(results, others);
  if (lines.values.size() > kMaxLines) {
    notes.push_back("error-vs-" + axis + " left out: " + std::to_string(lines.values.size()) +
                    " lines are too many for one figure");
    return;
  }
  Figure f;
  f.name = "error-vs-" + axis;
  f.title = "final test error against " + axis_title(axis) + " (mean and 95% CI over seeds)";
  f.xlabel = axis_title(axis);
  f.ylabel = "final test error (%)";
  f.logx = true;
  f.log_base = axis == "batch-size" ? 2 : 10;
  f.xtics = grid_values(results, axis);
  const int col = results.group_axis(axis);
  bool broken = false;  // some line lacks a grid value between two it has
  for (size_t l = 0; l < lines.values.size(); ++l) {
    std::vector<std::pair<double, Stat>> points;
    std::vector<const Group*> members;
    for (size_t g = 0; g < results.groups.size(); ++g) {
      if (lines.of_group[g] != l) continue;
      const double x = number(results.groups[g].key[col]);
      points.emplace_back(x, results.groups[g].stat(results.runs, Measure::FinalTestError));
      members.push_back(&results.groups[g]);
    }
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Series s;
    s.label = label(others, lines.values[l]) + applied_note(results, members);
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& [x, stat] = points[i];
      // A grid value this line has no finished run at (a sweep still running) breaks the line
      // (a NaN point: gnuplot_data writes a gap) instead of joining its neighbours across it.
      const bool gap = i > 0 && std::any_of(f.xtics.begin(), f.xtics.end(), [&](double v) {
        return v > points[i - 1].first && v < x;
      });
      if (gap) {
        s.x.push_back(x);
        s.y.push_back(NAN);
        s.err.push_back(0.0);
        broken = true;
      }
      s.x.push_back(x);
      s.y.push_back(100 * stat.mean);
      s.err.push_back(stat.n > 1 ? 100 * (stat.hi - stat.mean) : 0.0);
    }
    f.series.push_back(s);
  }
  // A grid with 0 and positive values spanning 4x or more: 0 drawn a factor 4 left of the
  // smallest positive value, so that the axis can be logarithmic.
  double smallest = INFINITY, largest = 0;
  for (const auto& s : f.series) {
    for (double x : s.x) {
      if (x > 0) smallest = std::min(smallest, x), largest = std::max(largest, x);
    }
  }
  const bool has_zero = std::any_of(f.series.begin(), f.series.end(), [](const Series& s) {
    return std::find(s.x.begin(), s.x.end(), 0.0) != s.x.end();
  });
  if (has_zero && largest >= 4 * smallest) {
    f.zero_at = smallest / 4;
    for (auto& s : f.series) std::replace(s.x.begin(), s.x.end(), 0.0, f.zero_at);
    std::replace(f.xtics.begin(), f.xtics.end(), 0.0, f.zero_at);
    f.caption_note = " On the log axis, " + axis_title(axis) + " 0 is drawn at the left, a factor 4 below the smallest other value.";
  }
  f.dodge = f.series.size() > 1;
  f.caption = "Final test error against " + axis_title(axis) + ", one line per " +
              (others.empty() ? std::string("sweep") : label(others, others)) +
              "; error bars: 95% confidence interval of the mean over seeds (Student t)" +
              (f.dodge ? "; the lines are shifted slightly sideways so that their error bars do "
                         "not hide each other." : ".") +
              (broken ? " A line is broken where it has no finished run." : "") + f.caption_note;
  figures.push_back(f);
}

}  // namespace

std::vector<BestWeightDecay> best_weight_decay_per_length(const SweepResults& results) {
  std::vector<BestWeightDecay> rows;
  const int wd = results.group_axis("weight-decay");
  const int ep = results.group_axis("epochs");
  if (wd < 0) return rows;
  const auto others = group_axes_without(results, {"weight-decay", "epochs"});
  const Combos lines = combos(results, others);
  // One training length when epochs does not vary: the runs' own.
  std::vector<std::string> lengths = ep >= 0 ? results.values_of("epochs")
                                             : std::vector<std::string>{setting_of(results.shared, "epochs")};
  std::sort(lengths.begin(), lengths.end(), [](const auto& a, const auto& b) { return number(a) < number(b); });
  std::vector<std::string> decays = results.values_of("weight-decay");
  const std::string smallest = *std::min_element(decays.begin(), decays.end(), [](const auto& a, const auto& b) {
    return number(a) < number(b);
  });
  for (size_t l = 0; l < lines.values.size(); ++l) {
    for (const auto& length : lengths) {
      std::vector<const Group*> at_length;
      for (size_t g = 0; g < results.groups.size(); ++g) {
        if (lines.of_group[g] == l && (ep < 0 || results.groups[g].key[ep] == length)) {
          at_length.push_back(&results.groups[g]);
        }
      }
      if (at_length.empty()) continue;
      const Group* best = nullptr;
      Stat best_stat;
      for (const Group* g : at_length) {
        const Stat s = g->stat(results.runs, Measure::FinalTestError);
        if (!best || s.mean < best_stat.mean) best = g, best_stat = s;
      }
      BestWeightDecay row{length, label(others, lines.values[l]), best->key[wd], best_stat.mean,
                          best_stat, {}, smallest, {}};
      // Paired over the seeds both ran, not by the overlap of two unpaired intervals (which
      // ignores that a seed's runs share their initialisation and data order): g is not
      // detectably worse when the 95% CI of g - best contains 0. Undefined for n < 2.
      for (const Group* g : at_length) {
        if (g == best) {
          if (best_stat.n > 1) row.not_worse.push_back(g->key[wd]);
          continue;
        }
        const Paired d = paired_groups(results, *g, *best, Measure::FinalTestError);
        if (d.diff.n > 1 && d.sign() == 0) row.not_worse.push_back(g->key[wd]);
      }
      std::sort(row.not_worse.begin(), row.not_worse.end(),
                [](const auto& a, const auto& b) { return number(a) < number(b); });
      for (const Group* g : at_length) {
        if (g->key[wd] == smallest && g != best) {
          row.smallest_minus_best = paired_groups(results, *g, *best, Measure::FinalTestError);
        }
      }
      rows.push_back(row);
    }
  }
  return rows;
}

namespace {

constexpr size_t kMaxForestRows = 40;

/// A forest row's pair: "adams - adamw", or "weight-decay: 0.005 - 0.0005" where the axis is
/// to be named (once: a row label is read beside the plot, and a long one squeezes it; an
/// optimizer needs no name).
std::string pair_label(const std::string& axis, const std::string& a, const std::string& b, bool name_axis) {
  return (name_axis && axis != "optimizer" ? axis + ": " : std::string()) + a + " - " + b;
}

/// The forest plot of the answer: the primary tests on an error measure, else each
/// optimizer against each other, else the paper's and the sweep's pairs; final test error,
/// A - B in percentage points with its 95% CI.
void add_forest(const SweepResults& results, std::vector<Figure>& figures, std::vector<std::string>& notes) {
  struct Row {
    std::string label;
    Paired p;
  };
  std::vector<Row> rows;
  std::string what;
  for (const auto& r : primary_results(results)) {
    if (!measure_named(r.test.metric)->is_error || r.result.diff.n < 2) continue;
    rows.push_back({pair_label(r.test.axis, r.test.a, r.test.b, true) + (r.test.predicted < 0 ? " (< 0 predicted)" : " (> 0 predicted)") +
                        (r.where().empty() ? "" : ", " + r.where()),
                    r.result});
    what = "the primary tests (fixed in advance; the " + std::string(r.test.metric) + ")";
  }
  if (rows.empty()) {
    auto comparisons = pivot_comparisons(results);
    what = "each " + axis_title(pivot_axis(results)) + " against each other";
    if (comparisons.empty()) {
      for (const auto& c : paired_comparisons(results)) {
        if (c.measure == Measure::FinalTestError) comparisons.push_back(c);
      }
      what = "the paired comparisons";
    } else {  // the pairs the sweep file or --pair asks for on another axis come too
      std::vector<PairSpec> asked;
      for (const auto& p : results.pairs) {
        if (p.axis != comparisons.front().pair.axis) asked.push_back(p);
      }
      const auto more = comparisons_of(results, asked, {Measure::FinalTestError});
      comparisons.insert(comparisons.end(), more.begin(), more.end());
      if (!more.empty()) what += ", then the pairs asked for ([report] pairs, --pair)";
    }
    const std::string pivot = comparisons.empty() ? "" : comparisons.front().pair.axis;
    for (const auto& c : comparisons) {
      if (c.result.diff.n < 2) continue;
      std::string rest;
      for (size_t i = 0; i < c.rest_axes.size(); ++i) rest += ", " + value_label(c.rest_axes[i], c.rest[i]);
      // A pair on another axis than the first rows' names its axis ("warmup-epochs: 0.33 - 0.0").
      rows.push_back({pair_label(c.pair.axis, c.pair.a, c.pair.b, c.pair.axis != pivot) + rest, c.result});
    }
  }
  if (rows.empty()) return;
  if (rows.size() > kMaxForestRows) {
    notes.push_back("paired-differences left out: " + std::to_string(rows.size()) + " rows are too many for one figure");
    return;
  }
  Figure f;
  f.name = "paired-differences";
  f.forest = true;
  f.title = "Paired A - B, final test error (95% CI)";
  f.xlabel = "A - B, final test error (percentage points; below 0: A better)";
  f.ylabel = "";
  Series detected{"95% CI excludes 0", {}, {}, {}, {}, {}};
  Series open{"95% CI contains 0", {}, {}, {}, {}, {}};
  for (size_t i = 0; i < rows.size(); ++i) {
    Series& s = rows[i].p.sign() != 0 ? detected : open;
    s.x.push_back(100 * rows[i].p.diff.mean);
    s.y.push_back(static_cast<double>(i));
    s.err.push_back(100 * (rows[i].p.diff.hi - rows[i].p.diff.mean));
    f.row_labels.push_back(rows[i].label);
  }
  for (auto* s : {&detected, &open}) {
    if (!s->x.empty()) f.series.push_back(*s);
  }
  f.caption = "A forest plot of " + what + ": for each row the mean of A - B over the seeds both ran "
              "(same seed: same initialisation, data order and subset), in percentage points, with "
              "its 95% confidence interval (Student t); left of the dashed line A is better.";
  figures.push_back(f);
}

}  // namespace

std::vector<Figure> plan_figures(const SweepResults& results, std::vector<std::string>& notes) {
  std::vector<Figure> figures;
  if (results.groups.empty()) return figures;
  add_forest(results, figures, notes);
  add_curves(results, figures, notes);
  add_error_against(results, "weight-decay", figures, notes);
  add_error_against(results, "batch-size", figures, notes);
  add_dynamics_figures(results, figures, notes);
  const auto best = best_weight_decay_per_length(results);
  if (!best.empty() && results.group_axis("epochs") >= 0) {
    Figure f;
    f.name = "best-weight-decay-vs-epochs";
    f.title = "weight decay with the lowest mean final test error, per training length";
    f.xlabel = "training length (epochs)";
    f.ylabel = "best weight decay";
    f.logx = f.logy = true;
    f.log_base = 2;
    f.xtics = grid_values(results, "epochs");
    f.ytics = grid_values(results, "weight-decay");
    std::map<std::string, size_t> line_of;
    for (const auto& row : best) {
      if (!line_of.count(row.line)) {
        line_of[row.line] = f.series.size();
        f.series.push_back({row.line, {}, {}, {}, {}, {}});
      }
      auto& s = f.series[line_of[row.line]];
      s.x.push_back(number(row.epochs));
      s.y.push_back(number(row.weight_decay));
    }
    f.caption = "For each training length, the weight decay of the grid with the lowest mean "
                "final test error.";
    figures.push_back(f);
  }
  // Axis names and values come from runs.csv: file names keep only plain characters.
  for (auto& f : figures) f.name = safe_file_stem(f.name);
  return figures;
}

}  // namespace report
}  // namespace swd
