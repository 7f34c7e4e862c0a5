// swd report DIR: report.md, summary.csv, paired.csv and figures/ for a sweep's folder;
// swd report RUN RUN ... --out DIR: the same for a list of run folders.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "swd/report/report.h"

namespace swd {
namespace cli {

namespace {
struct ReportFlags {
  std::vector<std::string> dirs;
  std::string out;
  bool no_figures = false;
  std::string formats = "png,svg";
  std::string gnuplot = "gnuplot";
  std::vector<std::string> pairs;
  double gnuplot_timeout = report::kGnuplotTimeoutSeconds;
};
ReportFlags& report_flags() {
  static ReportFlags flags;
  return flags;
}
}  // namespace

void add_report_command(CLI::App& app) {
  auto* report_app = app.add_subcommand(
      "report", "write report.md, summary.csv, paired.csv and figures for a sweep's folder, or "
                "for a list of run folders (with --out)");
  auto& f = report_flags();
  report_app->add_option("dir", f.dirs, "sweep folders (holding runs.csv) and run folders (holding config.json and "
                                        "metrics.csv), reported together: grouped by their settings, paired over seeds")
      ->required()
      ->check(CLI::ExistingDirectory);
  report_app->add_option("--out", f.out, "where to write the report (needed unless one sweep folder is given; default: "
                                         "the sweep's folder)");
  report_app->add_option("--pair", f.pairs, "A,B: also compare A - B paired over seeds (e.g. adams,adamw or "
                                            "scale-rule=wd,scale-rule=lr; repeatable), as a sweep file's [report] pairs")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  report_app->add_flag("--no-figures", f.no_figures, "tables only (gnuplot not needed)");
  report_app->add_option("--formats", f.formats, "the files each figure is kept as, comma-separated: png (shown in "
                                                 "report.md), svg, gp (gnuplot's script and data, to redraw; "
                                                 "alone, gnuplot is not needed); default: png,svg");
  report_app->add_option("--gnuplot", f.gnuplot, "the gnuplot program (default: gnuplot on PATH)");
  report_app->add_option("--gnuplot-timeout", f.gnuplot_timeout,
                         "seconds gnuplot may take for one figure before it is stopped")
      ->default_str(std::to_string(static_cast<int>(report::kGnuplotTimeoutSeconds)))
      ->check(CLI::Range(0.001, 86400.0));
}

int run_report() {
  const auto& f = report_flags();
  report::ReportOptions options;
  options.figures = !f.no_figures;
  options.formats = report::parse_figure_formats(f.formats);  // before reading anything
  options.gnuplot = f.gnuplot;
  options.gnuplot_timeout = f.gnuplot_timeout;
  const bool sweep = f.dirs.size() == 1 && std::filesystem::exists(f.dirs[0] + "/runs.csv");
  if (!sweep && f.out.empty()) {
    throw std::invalid_argument("swd report: " + f.dirs[0] + (f.dirs.size() == 1 ? " is not a sweep folder (no runs.csv)" : " and the others are reported together") +
                                "; a report of run folders or of several folders needs --out DIR");
  }
  std::vector<report::PairSpec> pairs;
  for (const auto& p : f.pairs) pairs.push_back(report::parse_pair(p));  // before reading anything
  auto results = report::load_folders(f.dirs);
  for (const auto& p : pairs) {
    if (std::find(results.pairs.begin(), results.pairs.end(), p) == results.pairs.end()) results.pairs.push_back(p);
  }
  const auto out = report::write_report(results, f.out.empty() ? f.dirs[0] : f.out, options);
  for (const auto& line : out.primary) std::printf("%s\n", line.c_str());
  if (!out.primary.empty()) std::printf("exploratory: every other table and figure of the report\n");
  std::printf("report: %s (%zu of %zu runs finished, %zu groups, %zu figures)\n",
              out.report_path.c_str(), out.runs_finished, out.runs_total, out.groups,
              out.figures.size());
  for (const auto& note : out.notes) std::printf("  note: %s\n", note.c_str());
  return 0;
}

}  // namespace cli
}  // namespace swd
