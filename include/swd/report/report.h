#pragma once
// `swd report DIR` as a library call: report.md (tables), summary.csv (one row per group),
// paired.csv (paired comparisons over seeds) and figures/ (PNG and SVG by default, drawn with gnuplot)
// in a sweep's folder, or in another folder for a list of runs.

#include <stdexcept>
#include <string>
#include <vector>

#include "swd/report/compare.h"
#include "swd/report/figures.h"
#include "swd/report/results.h"

namespace swd {
namespace report {

struct ReportOptions {
  bool figures = true;             ///< false: tables only, gnuplot not needed
  std::string gnuplot = "gnuplot"; ///< the plotting program, looked up on PATH
  double gnuplot_timeout = kGnuplotTimeoutSeconds;  ///< seconds per figure, then it is stopped
  FigureFormats formats;           ///< the files each figure is kept as (PNG and SVG)
};

struct ReportOutput {
  std::string report_path;
  size_t runs_finished = 0, runs_total = 0, groups = 0;
  std::vector<std::string> figures;  ///< names of the figures drawn
  std::vector<std::string> notes;    ///< figures left out, and why
  std::vector<std::string> primary;  ///< one line per primary test (primary_lines)
};

/// Thrown when the plotting program cannot be found; nothing has been written then.
class ToolMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The whole report. Nothing is written until the results are read and every figure is
/// drawn (into a temporary folder); then figures/ is swapped in, and summary.csv and report.md
/// are written atomically. On any error the previous report, if any, is left as it was.
ReportOutput write_report(const std::string& dir, const ReportOptions& options);
/// The same for results read elsewhere (load_run_folders), written into `dir` (created).
ReportOutput write_report(const SweepResults& results, const std::string& dir,
                          const ReportOptions& options);

/// One line per primary result: the test, A - B [95% CI], n, SE, p and both verdicts.
std::vector<std::string> primary_lines(const std::vector<PrimaryResult>& primary);

/// report.md's text for `results` with `figures` (links into figures/, to the files
/// `formats` keeps) and `notes`.
std::string report_markdown(const SweepResults& results, const std::vector<Figure>& figures,
                            const std::vector<std::string>& notes,
                            const FigureFormats& formats = {});

}  // namespace report
}  // namespace swd
