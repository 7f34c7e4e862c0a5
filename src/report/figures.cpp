// Which figures a sweep's results call for, and their data.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "swd/report/compare.h"
#include "swd/report/figures.h"
#include "swd/util/csv.h"

namespace swd {
namespace report {

namespace {

constexpr size_t kMaxCurveFigures = 4;  // per measure
constexpr size_t kMaxLines = 12;

double number(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

/// The numeric values of `axis`, ascending: tics at the grid's own values, when few.
std::vector<double> grid_values(const SweepResults& results, const std::string& axis) {
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

Combos combos(const SweepResults& results, const std::vector<std::string>& axes) {
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

std::vector<std::string> group_axes_without(const SweepResults& results,
                                            const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (const auto& axis : results.group_axes) {
    if (std::find(drop.begin(), drop.end(), axis) == drop.end()) out.push_back(axis);
  }
  return out;
}

std::string label(const std::vector<std::string>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (size_t i = 0; i < axes.size(); ++i) {
    text += (i ? ", " : "") + value_label(axes[i], values[i]);
  }
  return text.empty() ? "all runs" : text;
}

std::string slug(const std::vector<std::string>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (size_t i = 0; i < axes.size(); ++i) text += "-" + axes[i] + "=" + values[i];
  for (auto& ch : text) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '=') ch = '_';
  }
  return text;
}

struct CurveMeasure {
  const char* name;
  const char* title;
  const char* ylabel;
  bool logy;
  double (*get)(const train::EpochMetrics&);
};

const CurveMeasure kCurves[] = {
    {"test-error", "Test error", "test error (%)", false, [](const train::EpochMetrics& m) { return 100 * m.test_error; }},
    {"train-loss", "Training loss", "training loss (cross-entropy)", true, [](const train::EpochMetrics& m) { return m.train_loss; }},
    {"grad-norm", "Gradient norm", "gradient norm ||grad L|| (mean over the epoch)", true, [](const train::EpochMetrics& m) { return m.grad_norm; }},
    {"weight-norm", "Weight norm", "weight norm ||theta|| (end of epoch)", false, [](const train::EpochMetrics& m) { return m.weight_norm; }},
};

/// The mean over a group's runs of `get` at each epoch (epochs all its runs reached), with
/// the lowest and highest run as a band when there are several.
Series mean_curve(const SweepResults& results, const Group& group, const CurveMeasure& c) {
  Series s;
  size_t epochs = SIZE_MAX;
  for (size_t r : group.runs) epochs = std::min(epochs, results.runs[r].epochs.size());
  for (size_t e = 0; e < epochs; ++e) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t r : group.runs) {
      const double v = c.get(results.runs[r].epochs[e]);
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    s.x.push_back(static_cast<double>(results.runs[group.runs[0]].epochs[e].epoch));
    s.y.push_back(sum / group.runs.size());
    if (group.runs.size() > 1) {
      s.band_lo.push_back(lo);
      s.band_hi.push_back(hi);
    }
  }
  return s;
}

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
  if (panels.values.size() > kMaxCurveFigures) {
    std::string axes;
    for (const auto& axis : rest) axes += (axes.empty() ? "" : ", ") + axis_title(axis);
    notes.push_back("curves left out: they would take " + std::to_string(panels.values.size()) +
                    " figures per measure (one per " + axes + ")");
    return;
  }
  for (const auto& c : kCurves) {
    for (size_t p = 0; p < panels.values.size(); ++p) {
      Figure f;
      f.name = std::string("curves-") + c.name + slug(rest, panels.values[p]);
      f.ylabel = c.ylabel;
      f.title = std::string(c.title) + " per epoch" +
                (rest.empty() ? "" : " -- " + label(rest, panels.values[p])) +
                " (mean over seeds, band: lowest to highest)";
      f.xlabel = "epoch";
      f.integer_x = true;
      f.logy = c.logy;
      for (size_t g = 0; g < results.groups.size(); ++g) {
        if (panels.of_group[g] != p) continue;
        Series s = mean_curve(results, results.groups[g], c);
        s.label = (pivot.empty() ? label(results.group_axes, results.groups[g].key)
                                 : value_label(pivot, results.groups[g].key[results.group_axis(pivot)])) +
                  applied_note(results, {&results.groups[g]});
        f.series.push_back(s);
      }
      f.caption = std::string(c.title) + " against epoch" +
                  (rest.empty() ? "" : " for " + label(rest, panels.values[p])) +
                  "; one line per " + (pivot.empty() ? "group" : axis_title(pivot)) +
                  ", mean over seeds; the shaded band spans the lowest to the highest seed.";
      figures.push_back(f);
    }
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
    for (const auto& [x, stat] : points) {
      s.x.push_back(x);
      s.y.push_back(100 * stat.mean);
      s.err.push_back(stat.n > 1 ? 100 * (stat.hi - stat.mean) : 0.0);
    }
    f.series.push_back(s);
  }
  f.caption = "Final test error against " + axis_title(axis) + ", one line per " +
              (others.empty() ? std::string("sweep") : label(others, others)) +
              "; error bars: 95% confidence interval of the mean over seeds (Student t).";
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
      // Overlap of two 95% CIs: [lo, hi] intervals that share a point. Undefined for n < 2.
      for (const Group* g : at_length) {
        const Stat s = g->stat(results.runs, Measure::FinalTestError);
        if (s.n > 1 && best_stat.n > 1 && s.lo <= best_stat.hi && best_stat.lo <= s.hi) {
          row.overlapping.push_back(g->key[wd]);
        }
      }
      std::sort(row.overlapping.begin(), row.overlapping.end(),
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

std::vector<Figure> plan_figures(const SweepResults& results, std::vector<std::string>& notes) {
  std::vector<Figure> figures;
  if (results.groups.empty()) return figures;
  add_curves(results, figures, notes);
  add_error_against(results, "weight-decay", figures, notes);
  add_error_against(results, "batch-size", figures, notes);
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
