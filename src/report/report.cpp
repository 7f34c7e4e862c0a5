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
#include "markdown.h"
#include "swd/util/io.h"
#include "swd/util/process.h"
#include "swd/util/words.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;
using namespace md;

namespace {

/// How the best epoch was chosen, after the best-epoch table's note.
std::string best_note(const SweepResults& r, Measure measure) {
  if (measure != Measure::BestTestError) return "";
  size_t validated = 0;
  for (const auto& run : r.runs) validated += selected_on_validation(run) ? 1 : 0;
  if (validated == 0) {
    return " \"Best\" is selected on the test set itself, so it is optimistic (swd train "
           "--val-split N selects it on samples held out of the training set).";
  }
  return validated == r.runs.size()
             ? " Each run's best epoch is the one of its lowest validation error (--val-split): "
               "this is the test error there."
             : " Runs with --val-split take the test error at their lowest validation error; "
               "the others (" + std::to_string(r.runs.size() - validated) + ") their lowest "
               "test error, selected on the test set.";
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
     "n - 1 degrees of freedom] over seeds of the test error after the last epoch. In bold: "
     "the lowest mean of a row, only where it is detected as the best, i.e. the paired "
     "difference over seeds to every other cell of the row has its 95% CI below 0; a row "
     "without bold has no detected best. Overlapping intervals do not mean no difference: the "
     "paired comparisons say."},
    {"Test error (%), best epoch", Measure::BestTestError, true, percent_ci,
     "The same for each run's lowest test error over its epochs; that epoch is chosen on the "
     "test set itself, so this is an optimistic number (the final epoch's is not)."},
    {"Gradient norm at the end of training", Measure::FinalGradNorm, false, general,
     "||grad L|| of the loss alone (no weight-decay term), mean over the last epoch's steps; "
     "mean (std) over seeds."},
    {"Weight norm at the end of training", Measure::FinalWeightNorm, false, general,
     "||theta|| over every parameter after the last epoch; mean (std) over seeds."},
    {"Decay budget at the end of training (e-folds)", Measure::FinalDecayBudget, false, general,
     "The sum over every step of the tracked (scale-invariant) weights' per-step decay rate "
     "(docs/DYNAMICS.md): how long the runs were in the unit that matters; 3 or more is long. "
     "Mean (std) over seeds."},
};

/// Whether some finished run has measured `m` (the decay budget is absent from runs made
/// before it).
bool measured(const SweepResults& r, Measure m) {
  return std::any_of(r.runs.begin(), r.runs.end(),
                     [&](const RunResult& run) { return std::isfinite(measure_of(run, m)); });
}

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
  std::string text = "### " + std::string(t.heading) + "\n\n" + t.note + best_note(r, t.measure) +
                     "\n\n" + row(header) + rule(header.size());
  for (const auto& key : row_keys) {
    std::vector<Stat> stats;
    std::vector<const Group*> groups;
    std::vector<std::string> notes;
    for (const auto& c : columns) {
      Stat s;
      const Group* group = nullptr;
      std::string note;
      for (const auto& g : r.groups) {
        if (g.key[p] == c && rest_of(g) == key) {
          s = g.stat(r.runs, t.measure);
          group = &g;
          note = applied_differs(r, g) ? " (wd " + applied_weight_decay(r, g) + " applied)" : "";
        }
      }
      stats.push_back(s);
      groups.push_back(group);
      notes.push_back(note);
    }
    // The lowest mean, in bold only when every paired difference to the others is detected
    // below 0 (a best that these seeds cannot tell from the runner-up is not marked).
    size_t best = stats.size();
    for (size_t i = 0; i < stats.size(); ++i) {
      if (stats[i].n > 0 && (best == stats.size() || stats[i].mean < stats[best].mean)) best = i;
    }
    bool detected = t.bold_min && best < stats.size();
    for (size_t i = 0; detected && i < stats.size(); ++i) {
      if (i == best || stats[i].n == 0) continue;
      detected = paired_groups(r, *groups[best], *groups[i], t.measure).sign() < 0;
    }
    std::vector<std::string> cells = key;
    if (rest.empty()) cells.push_back("all");
    for (size_t i = 0; i < stats.size(); ++i) {
      const Stat& s = stats[i];
      const std::string cell = s.n == 0 ? "-" : t.cell(s);
      cells.push_back((detected && i == best ? "**" + cell + "**" : cell) + notes[i]);
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
  const bool budget = measured(r, Measure::FinalDecayBudget);
  if (budget) header.push_back("decay budget (e-folds)");
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
    if (budget) cells.push_back(general(g.stat(r.runs, Measure::FinalDecayBudget)));
    text += row(cells);
  }
  return text + "\n";
}

std::string best_weight_decay_table(const SweepResults& r) {
  const auto best = best_weight_decay_per_length(r);
  if (best.empty()) return "";
  const std::string smallest = best.front().smallest;
  std::string text =
      "### Best weight decay per training length\n\nFor each training length, the weight decay "
      "of the grid with the lowest mean final test error, its mean (std) [95% CI]; the weight "
      "decays not detectably worse than the best, paired over seeds (the 95% CI of their "
      "difference to the best contains 0: these seeds cannot tell them from the best); and "
      "weight decay " + smallest + " (the grid's smallest) minus the best, "
      "paired over seeds: mean [95% CI] in percentage points and in standard errors of the "
      "paired difference (the paired t statistic; 3 or more: a clear gain from weight decay).\n\n" +
      row({"line", "epochs", "best weight decay", "its final test error (%)",
           "not detectably worse (paired)", "wd " + smallest + " - best (pp)", "in SE"}) +
      rule(7);
  for (const auto& b : best) {
    const bool is_best = b.weight_decay == b.smallest;
    text += row({b.line, b.epochs, b.weight_decay, percent_ci(b.error),
                 b.error.n > 1 ? util::join_words(b.not_worse) : "- (n < 2)",
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
  if (!r.repeats.empty()) {
    text += "Repeats of an earlier run, counted once (as the run given first):\n\n";
    for (const auto& note : r.repeats) text += "- " + note + "\n";
    text += "\n";
  }
  text += answer_section(r, primary_results(r));
  if (r.groups.empty()) return text + "No finished run yet.\n";
  text += differing_section(r);
  text += "## Tables\n\n";
  const std::string pivot = pivot_axis(r);
  if (!pivot.empty()) {
    for (const auto& t : kPivotTables) {
      if (measured(r, t.measure)) text += pivot_table(r, pivot, t);
    }
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
  if (!notes.empty()) text += "\n";
  return text + shared_section(r);
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
      draw_figures(figures, staging.string(), program.value_or(options.gnuplot), options.formats,
                   options.gnuplot_timeout);
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
