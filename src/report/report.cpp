// report.md: the tables, then the figures; and the order in which a report's files are written.
#include "swd/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

#include "swd/report/compare.h"
#include "swd/util/io.h"
#include "swd/util/process.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

namespace {

std::string format(const char* pattern, double a, double b = 0) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, a, b);
  return text;
}

/// "12.34 (0.56)" in percent; the std only where there are two runs or more.
std::string percent(const Stat& s) {
  return s.n > 1 ? format("%.2f (%.2f)", 100 * s.mean, 100 * s.std) : format("%.2f", 100 * s.mean);
}
/// "12.34 (0.56) [11.65, 13.03]": mean (std) [95% CI] in percent.
std::string percent_ci(const Stat& s) {
  return s.n > 1 ? percent(s) + format(" [%.2f, %.2f]", 100 * s.lo, 100 * s.hi) : percent(s);
}
std::string general(const Stat& s) {
  return s.n > 1 ? format("%.4g (%.2g)", s.mean, s.std) : format("%.4g", s.mean);
}

/// A markdown table cell: '|' escaped and line breaks made spaces, so that no value from
/// runs.csv or a sweep file can end a cell or a row.
std::string cell_text(const std::string& text) {
  std::string out;
  for (char ch : one_line(text)) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string text = "|";
  for (const auto& c : cells) text += " " + cell_text(c) + " |";
  return text + "\n";
}
std::string rule(size_t columns) {
  std::string text = "|";
  for (size_t i = 0; i < columns; ++i) text += "---|";
  return text + "\n";
}

/// Whether a group's runs were given another weight decay than the one the grid names.
bool applied_differs(const SweepResults& r, const Group& g) {
  const std::string applied = applied_weight_decay(r, g), nominal = nominal_weight_decay(r, g);
  return !applied.empty() && !nominal.empty() &&
         std::strtod(applied.c_str(), nullptr) != std::strtod(nominal.c_str(), nullptr);
}

/// Whether the runs were given more than one weight decay (config.json).
bool applied_varies(const SweepResults& r) {
  std::string first;
  for (const auto& run : r.runs) {
    const std::string wd = setting_of(run.config, "weight-decay");
    if (first.empty()) first = wd;
    if (wd != first) return true;
  }
  return false;
}

struct Table {
  const char* heading;
  Measure measure;
  bool bold_min;
  std::function<std::string(const Stat&)> cell;
  const char* note;
};

const Table kPivotTables[] = {
    {"Test error (%), final epoch", Measure::FinalTestError, true, percent_ci,
     "Mean (sample standard deviation) [95% confidence interval of the mean, Student t with "
     "n - 1 degrees of freedom] over seeds of the test error after the last epoch; the lowest "
     "mean of each row, as shown, in bold. Whether two cells differ is for the paired "
     "comparisons below to say: overlapping intervals do not mean no difference."},
    {"Test error (%), best epoch", Measure::BestTestError, true, percent_ci,
     "The same for each run's lowest test error over its epochs."},
    {"Gradient norm at the end of training", Measure::FinalGradNorm, false, general,
     "||grad L|| of the loss alone (no weight-decay term), mean over the last epoch's steps; "
     "mean (std) over seeds."},
    {"Weight norm at the end of training", Measure::FinalWeightNorm, false, general,
     "||theta|| over every parameter after the last epoch; mean (std) over seeds."},
};

/// Rows: the combinations of the non-pivot axes; columns: the pivot's values.
std::string pivot_table(const SweepResults& r, const std::string& pivot, const Table& t) {
  const int p = r.group_axis(pivot);
  std::vector<std::string> rest;
  for (const auto& axis : r.group_axes) {
    if (axis != pivot) rest.push_back(axis);
  }
  std::vector<std::vector<std::string>> row_keys;
  auto rest_of = [&](const Group& g) {
    std::vector<std::string> key;
    for (const auto& axis : rest) key.push_back(g.key[r.group_axis(axis)]);
    return key;
  };
  for (const auto& g : r.groups) {
    if (std::find(row_keys.begin(), row_keys.end(), rest_of(g)) == row_keys.end()) {
      row_keys.push_back(rest_of(g));
    }
  }
  const auto columns = r.values_of(pivot);
  std::vector<std::string> header;
  for (const auto& axis : rest) header.push_back(axis_title(axis));
  if (rest.empty()) header.push_back("");
  for (const auto& c : columns) header.push_back(value_label(pivot, c));
  std::string text = "### " + std::string(t.heading) + "\n\n" + t.note + "\n\n" + row(header) +
                     rule(header.size());
  for (const auto& key : row_keys) {
    std::vector<Stat> stats;
    std::vector<std::string> notes;
    for (const auto& c : columns) {
      Stat s;
      std::string note;
      for (const auto& g : r.groups) {
        if (g.key[p] == c && rest_of(g) == key) {
          s = g.stat(r.runs, t.measure);
          note = applied_differs(r, g) ? " (wd " + applied_weight_decay(r, g) + " applied)" : "";
        }
      }
      stats.push_back(s);
      notes.push_back(note);
    }
    // The best as shown (errors to 0.01%): cells that read the same are both in bold.
    auto shown = [](const Stat& s) { return std::round(1e4 * s.mean); };
    double best = INFINITY;
    for (const auto& s : stats) {
      if (s.n > 0) best = std::min(best, shown(s));
    }
    std::vector<std::string> cells = key;
    if (rest.empty()) cells.push_back("all");
    for (size_t i = 0; i < stats.size(); ++i) {
      const Stat& s = stats[i];
      const std::string cell = s.n == 0 ? "-" : t.cell(s);
      cells.push_back((t.bold_min && s.n > 0 && shown(s) == best ? "**" + cell + "**" : cell) + notes[i]);
    }
    text += row(cells);
  }
  return text + "\n";
}

std::string groups_table(const SweepResults& r) {
  std::vector<std::string> header;
  for (const auto& axis : r.group_axes) header.push_back(axis_title(axis));
  const bool applied_column = applied_varies(r);
  if (applied_column) header.push_back("weight decay applied");
  for (const char* h : {"runs", "final test error (%) [95% CI]", "best test error (%)",
                        "final train loss", "final grad norm", "final weight norm"}) {
    header.push_back(h);
  }
  std::string text = "### Every group\n\nOne row per combination of the settings that vary "
                     "(seeds pooled); mean (std) over its runs, and the 95% confidence interval "
                     "of the mean (Student t); summary.csv holds the same numbers unrounded, "
                     "with the interval of every measure.\n\n" + row(header) + rule(header.size());
  for (const auto& g : r.groups) {
    std::vector<std::string> cells = g.key;
    if (applied_column) cells.push_back(applied_weight_decay(r, g));
    cells.push_back(std::to_string(g.runs.size()));
    cells.push_back(percent_ci(g.stat(r.runs, Measure::FinalTestError)));
    cells.push_back(percent(g.stat(r.runs, Measure::BestTestError)));
    for (Measure m : {Measure::FinalTrainLoss, Measure::FinalGradNorm, Measure::FinalWeightNorm}) {
      cells.push_back(general(g.stat(r.runs, m)));
    }
    text += row(cells);
  }
  return text + "\n";
}

/// "+1.23 [+0.45, +2.01]": a paired difference and its 95% CI, in percent or as is.
std::string difference(const Stat& d, bool in_percent) {
  const double k = in_percent ? 100 : 1;
  const char* pattern = in_percent ? "%+.2f" : "%+.3g";
  if (d.n < 2) return d.n == 1 ? format(pattern, k * d.mean) : "-";
  return format(pattern, k * d.mean) + " [" + format(pattern, k * d.lo) + ", " +
         format(pattern, k * d.hi) + "]";
}
std::string in_se(const Paired& p) {
  const double t = p.se_units();
  return std::isnan(t) ? "-" : std::isinf(t) ? (t > 0 ? "+inf" : "-inf") : format("%+.1f", t);
}

std::string best_weight_decay_table(const SweepResults& r) {
  const auto best = best_weight_decay_per_length(r);
  if (best.empty()) return "";
  const std::string smallest = best.front().smallest;
  std::string text =
      "### Best weight decay per training length\n\nFor each training length, the weight decay "
      "of the grid with the lowest mean final test error, its mean (std) [95% CI]; the weight "
      "decays whose 95% CI overlaps the best one's (none of them can be told from the best by "
      "these intervals); and weight decay " + smallest + " (the grid's smallest) minus the best, "
      "paired over seeds: mean [95% CI] in percentage points and in standard errors of the "
      "paired difference (the paired t statistic; 3 or more: a clear gain from weight decay).\n\n" +
      row({"line", "epochs", "best weight decay", "its final test error (%)",
           "weight decays overlapping the best", "wd " + smallest + " - best (pp)", "in SE"}) +
      rule(7);
  for (const auto& b : best) {
    std::string overlap;
    for (const auto& wd : b.overlapping) overlap += (overlap.empty() ? "" : ", ") + wd;
    const bool is_best = b.weight_decay == b.smallest;
    text += row({b.line, b.epochs, b.weight_decay, percent_ci(b.error),
                 b.error.n > 1 ? overlap : "- (n < 2)",
                 is_best ? "(is the best)" : difference(b.smallest_minus_best.diff, true),
                 is_best ? "-" : in_se(b.smallest_minus_best)});
  }
  return text + "\n";
}

/// The paired comparisons, one table per measure.
std::string paired_tables(const std::vector<Comparison>& comparisons) {
  if (comparisons.empty()) return "";
  std::string text;
  for (Measure m : {Measure::FinalTestError, Measure::FinalGradNorm}) {
    const bool error = m == Measure::FinalTestError;
    std::vector<std::string> rest_axes;
    for (const auto& c : comparisons) {
      for (const auto& a : c.rest_axes) {
        if (std::find(rest_axes.begin(), rest_axes.end(), a) == rest_axes.end()) rest_axes.push_back(a);
      }
    }
    std::vector<std::string> header = {"A - B"};
    for (const auto& a : rest_axes) header.push_back(axis_title(a));
    for (const char* h : {"seeds", error ? "mean [95% CI] (pp)" : "mean [95% CI]", "in SE", "verdict"}) {
      header.push_back(h);
    }
    text += error ? "### Paired comparisons: final test error\n\n"
                    "A minus B over the seeds both ran (same seed: same initialisation, data "
                    "order and subset), in percentage points: the mean difference, its 95% "
                    "confidence interval (Student t, n - 1 degrees of freedom) and the mean in "
                    "standard errors. \"A better\" when the whole interval is below 0, \"B "
                    "better\" when above, else no difference detected at this number of seeds. "
                    "paired.csv holds the same numbers unrounded.\n\n"
                  : "### Paired comparisons: final gradient norm\n\nThe same for ||grad L|| "
                    "at the end of training (lower or higher, not better or worse).\n\n";
    text += row(header) + rule(header.size());
    for (const auto& c : comparisons) {
      if (c.measure != m) continue;
      std::vector<std::string> cells = {c.pair.a + " - " + c.pair.b};
      for (const auto& a : rest_axes) {
        const auto it = std::find(c.rest_axes.begin(), c.rest_axes.end(), a);
        cells.push_back(it == c.rest_axes.end() ? "" : c.rest[it - c.rest_axes.begin()]);
      }
      cells.push_back(std::to_string(c.result.diff.n));
      cells.push_back(difference(c.result.diff, error));
      cells.push_back(in_se(c.result));
      cells.push_back(comparison_verdict(c));
      text += row(cells);
    }
    text += "\n";
  }
  return text;
}

/// What every run shares: the settings of the runs' config.json that are the same in all.
std::string settings_section(const SweepResults& r) {
  std::string text;
  if (!r.shared.empty()) {
    text += "## Settings shared by every run\n\nFrom the finished runs' config.json, the "
            "values as the runs resolved them (defaults included); the settings that vary are "
            "the tables' rows and columns.\n\n" + row({"setting", "value"}) + rule(2);
    for (const auto& [key, value] : r.shared) text += row({key, value.empty() ? "(empty)" : value});
    text += "\n";
  }
  if (r.runs_without_config > 0) {
    text += std::to_string(r.runs_without_config) + " finished runs have no config.json: their "
            "settings are not shown.\n\n";
  }
  std::vector<std::string> lines;
  for (const auto& g : r.groups) {
    if (!applied_differs(r, g)) continue;
    std::string who;
    for (size_t a = 0; a < r.group_axes.size(); ++a) {
      who += (a ? ", " : "") + value_label(r.group_axes[a], g.key[a]);
    }
    lines.push_back("- " + (who.empty() ? std::string("all runs") : who) + ": weight decay " +
                    nominal_weight_decay(r, g) + " in the sweep, " + applied_weight_decay(r, g) +
                    " applied (config.json)");
  }
  if (!lines.empty()) {
    text += "Weight decay applied where it differs from the value the sweep names (e.g. "
            "weight-decay-over-lr: weight decay / lr); tables and figures place these runs at "
            "the value named and mark them:\n\n";
    for (const auto& l : lines) text += one_line(l) + "\n";
    text += "\n";
  }
  return text;
}

std::string p_text(double p) {
  if (std::isnan(p)) return "-";
  return p < 1e-4 ? std::string("< 0.0001") : format("%.4f", p);
}

/// The primary tests: fixed in the sweep file before the runs, shown first.
std::string primary_section(const std::vector<PrimaryResult>& primary) {
  if (primary.empty()) return "";
  std::string text =
      "## Primary comparisons (fixed in advance)\n\nThe tests the sweep file's [analysis] "
      "section fixed before the runs, each paired over the seeds both groups ran (same seed: "
      "same initialisation, data order and subset). A - B: the mean difference, its 95% "
      "confidence interval (Student t, n - 1 degrees of freedom) and standard error, in "
      "percentage points for errors; p: the paired t test, two-sided. Verdict at the 95% "
      "level: supported when the interval lies on the predicted side of 0, contradicted when "
      "it lies on the other side, inconclusive when it contains 0. Holm's step-down correction "
      "(Holm 1979) adjusts the p-values for the " + std::to_string(primary.front().holm_m) +
      " primary tests of this report (a test without data counts, as p = 1); the last column "
      "is the verdict at the 95% level after it. primary.csv holds the same numbers "
      "unrounded.\n\n" +
      row({"test (A - B, predicted)", "at", "seeds", "A - B mean [95% CI]", "SE", "p", "verdict",
           "p (Holm)", "verdict (Holm)"}) + rule(9);
  for (const auto& r : primary) {
    const bool error = measure_named(r.test.metric)->is_error;
    const Stat& d = r.result.diff;
    const std::string test = r.test.name_a() + " - " + r.test.name_b() +
                             (r.test.predicted < 0 ? " < 0" : " > 0") + " (" + r.test.metric + ")";
    text += row({test, r.where().empty() ? "-" : r.where(), std::to_string(d.n),
                 d.n == 0 ? "-" : difference(d, error) + (error ? " pp" : ""),
                 d.n > 1 ? format(error ? "%.2f" : "%.3g", (error ? 100 : 1) * d.se()) : "-",
                 p_text(r.p), "**" + r.verdict() + "**", p_text(d.n == 0 ? NAN : r.p_holm),
                 "**" + r.verdict_holm() + "**"});
  }
  return text + "\n**Exploratory.** Everything below was not fixed in advance: read it as "
                "exploratory, however small its intervals.\n\n";
}

}  // namespace

std::vector<std::string> primary_lines(const std::vector<PrimaryResult>& primary) {
  std::vector<std::string> lines;
  for (const auto& r : primary) {
    const bool error = measure_named(r.test.metric)->is_error;
    const Stat& d = r.result.diff;
    std::string line = "primary: " + r.test.name_a() + " - " + r.test.name_b() +
                       (r.test.predicted < 0 ? " < 0" : " > 0") + " on " + r.test.metric +
                       (r.where().empty() ? "" : " at " + r.where()) + ": ";
    if (d.n == 0) {
      line += "no data (no finished runs of A and B with a seed in common)";
    } else {
      line += difference(d, error) + (error ? " pp" : "") + " (n = " + std::to_string(d.n);
      if (d.n > 1) line += format(error ? ", SE %.2f" : ", SE %.3g", (error ? 100 : 1) * d.se());
      line += ", p " + p_text(r.p) + "): " + r.verdict() + "; Holm over " +
              std::to_string(r.holm_m) + " tests: p " + p_text(r.p_holm) + ", " + r.verdict_holm();
    }
    lines.push_back(one_line(line));
  }
  return lines;
}

std::string report_markdown(const SweepResults& r, const std::vector<Figure>& figures,
                            const std::vector<std::string>& notes, const FigureFormats& formats) {
  std::string text = "# " + (r.title.empty() ? std::string("Sweep report") : one_line(r.title)) + "\n\n";
  text += "Written by `swd report` from runs.csv, sweep.json and each finished run's "
          "metrics.csv and config.json. " +
          std::to_string(r.runs.size()) + " of " + std::to_string(r.total_runs) +
          " runs finished, in " + std::to_string(r.groups.size()) + " groups (runs that differ "
          "only in their seed). Errors are in %.\n\n";
  if (!r.not_finished.empty()) {
    text += "Not finished, left out of every number below:\n\n";
    for (const auto& name : r.not_finished) text += "- " + one_line(name) + "\n";
    text += "\n";
  }
  text += primary_section(primary_results(r));
  if (r.groups.empty()) return text + "No finished run yet.\n";
  text += settings_section(r);
  text += "## Tables\n\n";
  const std::string pivot = pivot_axis(r);
  if (!pivot.empty()) {
    for (const auto& t : kPivotTables) text += pivot_table(r, pivot, t);
  }
  text += paired_tables(paired_comparisons(r));
  text += best_weight_decay_table(r);
  text += groups_table(r);
  if (!figures.empty() || !notes.empty()) text += "## Figures\n\n";
  for (const auto& f : figures) {
    const std::string title = one_line(f.title), file = "figures/" + f.name;
    text += "### " + title + "\n\n";
    if (formats.drawn()) text += "![" + title + "](" + file + (formats.png ? ".png" : ".svg") + ")\n\n";
    std::vector<std::string> links;  // the other files kept
    if (formats.png && formats.svg) links.push_back("[SVG](" + file + ".svg)");
    if (formats.gnuplot) links.push_back("[data](" + file + ".dat)");
    if (formats.gnuplot) links.push_back("[gnuplot script](" + file + ".gp)");
    text += one_line(f.caption);
    for (size_t i = 0; i < links.size(); ++i) text += (i ? ", " : " (") + links[i];
    text += links.empty() ? "\n\n" : ")\n\n";
  }
  for (const auto& n : notes) text += "- " + one_line(n) + "\n";
  return text;
}

ReportOutput write_report(const std::string& dir, const ReportOptions& options) {
  return write_report(load_results(dir), dir, options);
}

ReportOutput write_report(const SweepResults& results, const std::string& dir,
                          const ReportOptions& options) {
  ReportOutput out;
  std::vector<std::string> notes;
  std::vector<Figure> figures;
  if (options.figures) {
    figures = plan_figures(results, notes);
  } else {
    notes.push_back("figures not drawn (swd report --no-figures)");
  }
  const fs::path root(dir);
  const fs::path staging = root / ".figures.tmp";
  std::error_code error;
  std::optional<std::string> program;
  if (!figures.empty() && options.formats.drawn()) {
    program = util::find_program(options.gnuplot);
    if (!program) {
      throw ToolMissing(options.gnuplot + " not found on PATH: the report's figures are drawn "
                        "with gnuplot (Debian: apt-get install gnuplot-nox); swd report "
                        "--no-figures writes the tables alone");
    }
  }
  fs::create_directories(root, error);
  if (error) throw std::runtime_error("cannot create " + root.string() + ": " + error.message());
  if (!figures.empty()) {
    fs::remove_all(staging, error);
    fs::create_directories(staging, error);
    if (error) throw std::runtime_error("cannot create " + staging.string() + ": " + error.message());
    try {
      draw_figures(figures, staging.string(), program.value_or(options.gnuplot), options.formats);
    } catch (...) {
      fs::remove_all(staging, error);
      throw;
    }
    const fs::path final_dir = root / "figures", old = root / ".figures.old";
    fs::remove_all(old, error);
    if (fs::exists(final_dir)) fs::rename(final_dir, old);
    fs::rename(staging, final_dir);
    fs::remove_all(old, error);
  }
  util::write_file_atomically((root / "summary.csv").string(), summary_csv(results));
  util::write_file_atomically((root / "paired.csv").string(), paired_csv(paired_comparisons(results)));
  const auto primary = primary_results(results);
  if (!primary.empty()) util::write_file_atomically((root / "primary.csv").string(), primary_csv(primary));
  out.primary = primary_lines(primary);
  out.report_path = (root / "report.md").string();
  util::write_file_atomically(out.report_path, report_markdown(results, figures, notes, options.formats));
  out.runs_finished = results.runs.size();
  out.runs_total = results.total_runs;
  out.groups = results.groups.size();
  for (const auto& f : figures) out.figures.push_back(f.name);
  out.notes = notes;
  return out;
}

}  // namespace report
}  // namespace swd
