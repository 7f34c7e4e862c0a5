// swd report DIR: report.md, summary.csv and figures/ for a sweep's folder.
#include <cstdio>
#include <string>

#include "commands.h"
#include "swd/report/report.h"

namespace swd {
namespace cli {

namespace {
struct ReportFlags {
  std::string dir;
  bool no_figures = false;
  std::string gnuplot = "gnuplot";
};
ReportFlags& report_flags() {
  static ReportFlags flags;
  return flags;
}
}  // namespace

void add_report_command(CLI::App& app) {
  auto* report_app = app.add_subcommand("report", "write report.md, summary.csv and figures for a sweep's folder");
  auto& f = report_flags();
  report_app->add_option("dir", f.dir, "the sweep's folder (holding runs.csv)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report_app->add_flag("--no-figures", f.no_figures, "tables only (gnuplot not needed)");
  report_app->add_option("--gnuplot", f.gnuplot, "the gnuplot program (default: gnuplot on PATH)");
}

int run_report() {
  const auto& f = report_flags();
  report::ReportOptions options;
  options.figures = !f.no_figures;
  options.gnuplot = f.gnuplot;
  const auto out = report::write_report(f.dir, options);
  std::printf("report: %s (%zu of %zu runs finished, %zu groups, %zu figures)\n",
              out.report_path.c_str(), out.runs_finished, out.runs_total, out.groups,
              out.figures.size());
  for (const auto& note : out.notes) std::printf("  note: %s\n", note.c_str());
  return 0;
}

}  // namespace cli
}  // namespace swd
