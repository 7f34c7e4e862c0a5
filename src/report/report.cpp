// report.md: the tables, then the figures; and the order in which a report's files are written.
#include "swd/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "swd/sweep/process.h"
#include "swd/train/files.h"

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

struct Table {
  const char* heading;
  Measure measure;
  bool bold_min;
  std::function<std::string(const Stat&)> cell;
  const char* note;
};

const Table kPivotTables[] = {
    {"Test error (%), final epoch", Measure::FinalTestError, true, percent,
     "Mean (sample standard deviation) over seeds of the test error after the last epoch; the "
     "lowest of each row, as shown, in bold."},
    {"Test error (%), best epoch", Measure::BestTestError, true, percent,
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
    for (const auto& c : columns) {
      Stat s;
      for (const auto& g : r.groups) {
        if (g.key[p] == c && rest_of(g) == key) s = g.stat(r.runs, t.measure);
      }
      stats.push_back(s);
    }
    // The best as shown (errors to 0.01%): cells that read the same are both in bold.
    auto shown = [](const Stat& s) { return std::round(1e4 * s.mean); };
    double best = INFINITY;
    for (const auto& s : stats) {
      if (s.n > 0) best = std::min(best, shown(s));
    }
    std::vector<std::string> cells = key;
    if (rest.empty()) cells.push_back("all");
    for (const auto& s : stats) {
      const std::string cell = s.n == 0 ? "-" : t.cell(s);
      cells.push_back(t.bold_min && s.n > 0 && shown(s) == best ? "**" + cell + "**" : cell);
    }
    text += row(cells);
  }
  return text + "\n";
}

std::string groups_table(const SweepResults& r) {
  std::vector<std::string> header;
  for (const auto& axis : r.group_axes) header.push_back(axis_title(axis));
  for (const char* h : {"runs", "final test error (%)", "best test error (%)", "final train loss",
                        "final grad norm", "final weight norm"}) {
    header.push_back(h);
  }
  std::string text = "### Every group\n\nOne row per combination of the settings that vary "
                     "(seeds pooled); mean (std) over its runs; summary.csv holds the same "
                     "numbers unrounded.\n\n" + row(header) + rule(header.size());
  for (const auto& g : r.groups) {
    std::vector<std::string> cells = g.key;
    cells.push_back(std::to_string(g.runs.size()));
    cells.push_back(percent(g.stat(r.runs, Measure::FinalTestError)));
    cells.push_back(percent(g.stat(r.runs, Measure::BestTestError)));
    for (Measure m : {Measure::FinalTrainLoss, Measure::FinalGradNorm, Measure::FinalWeightNorm}) {
      cells.push_back(general(g.stat(r.runs, m)));
    }
    text += row(cells);
  }
  return text + "\n";
}

std::string best_weight_decay_table(const SweepResults& r) {
  const auto best = best_weight_decay_per_length(r);
  if (best.empty()) return "";
  std::string text = "### Best weight decay per training length\n\nFor each training length, "
                     "the weight decay of the grid with the lowest mean final test error.\n\n" +
                     row({"line", "epochs", "best weight decay", "its final test error (%)"}) +
                     rule(4);
  for (const auto& b : best) {
    text += row({b.line, b.epochs, b.weight_decay, format("%.2f", 100 * b.mean_error)});
  }
  return text + "\n";
}

}  // namespace

std::string report_markdown(const SweepResults& r, const std::vector<Figure>& figures,
                            const std::vector<std::string>& notes) {
  std::string text = "# " + (r.title.empty() ? std::string("Sweep report") : one_line(r.title)) + "\n\n";
  text += "Written by `swd report` from runs.csv and each finished run's metrics.csv. " +
          std::to_string(r.runs.size()) + " of " + std::to_string(r.total_runs) +
          " runs finished, in " + std::to_string(r.groups.size()) + " groups (runs that differ "
          "only in their seed). Errors are in %.\n\n";
  if (!r.not_finished.empty()) {
    text += "Not finished, left out of every number below:\n\n";
    for (const auto& name : r.not_finished) text += "- " + one_line(name) + "\n";
    text += "\n";
  }
  if (r.groups.empty()) return text + "No finished run yet.\n";
  text += "## Tables\n\n";
  const std::string pivot = pivot_axis(r);
  if (!pivot.empty()) {
    for (const auto& t : kPivotTables) text += pivot_table(r, pivot, t);
  }
  text += best_weight_decay_table(r);
  text += groups_table(r);
  if (!figures.empty() || !notes.empty()) text += "## Figures\n\n";
  for (const auto& f : figures) {
    const std::string title = one_line(f.title);
    text += "### " + title + "\n\n![" + title + "](figures/" + f.name + ".png)\n\n" +
            one_line(f.caption) + " ([SVG](figures/" + f.name + ".svg), [data](figures/" + f.name +
            ".dat))\n\n";
  }
  for (const auto& n : notes) text += "- " + one_line(n) + "\n";
  return text;
}

ReportOutput write_report(const std::string& dir, const ReportOptions& options) {
  ReportOutput out;
  const SweepResults results = load_results(dir);
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
  if (!figures.empty()) {
    const auto program = sweep::find_program(options.gnuplot);
    if (!program) {
      throw ToolMissing(options.gnuplot + " not found on PATH: the report's figures are drawn "
                        "with gnuplot (Debian: apt-get install gnuplot-nox); swd report "
                        "--no-figures writes the tables alone");
    }
    fs::remove_all(staging, error);
    fs::create_directories(staging, error);
    if (error) throw std::runtime_error("cannot create " + staging.string() + ": " + error.message());
    try {
      draw_figures(figures, staging.string(), *program);
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
  train::write_file_atomically((root / "summary.csv").string(), summary_csv(results));
  out.report_path = (root / "report.md").string();
  train::write_file_atomically(out.report_path, report_markdown(results, figures, notes));
  out.runs_finished = results.runs.size();
  out.runs_total = results.total_runs;
  out.groups = results.groups.size();
  for (const auto& f : figures) out.figures.push_back(f.name);
  out.notes = notes;
  return out;
}

}  // namespace report
}  // namespace swd
