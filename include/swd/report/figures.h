#pragma once
// The report's figures: first as data (which lines, which points), then drawn with gnuplot
// into PNG and SVG files (FigureFormats).
//
// Made only where the sweep has the axes they need:
//   curves-*            per epoch, one line per optimizer (or scaling rule), mean over seeds
//                       with a band: the 95% CI of the mean (Student t); test error,
//                       training loss, gradient norm, weight norm (one row of kCurves in
//                       figures.cpp each: a new metrics.csv column is a new row); one figure
//                       per combination of the other varying settings (at most 4); none when
//                       the runs have a single epoch
//   paired-differences  a forest plot: the report's answer (primary tests on an error, or each
//                       optimizer against each other), A - B with its 95% CI per row
//   error-vs-weight-decay   final test error against weight decay, one line per combination
//                           of the other varying settings, error bars = 95% CI of the mean
//                           (a line whose runs had another weight decay applied, e.g. by
//                           weight-decay-over-lr, says so in its label)
//   error-vs-batch-size     the same against batch size (one line per scaling rule)
//   best-weight-decay-vs-epochs   for each training length, the weight decay with the lowest
//                                 mean final test error, one line per other combination

#include <string>
#include <vector>

#include "swd/report/results.h"

namespace swd {
namespace report {

/// How long gnuplot may take to draw one figure (a few seconds at most, usually under one)
/// before swd report stops it and says so: ReportOptions::gnuplot_timeout's default.
constexpr double kGnuplotTimeoutSeconds = 60;

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> err;  ///< empty: no error bars; else the half-width at each point
  std::vector<double> band_lo, band_hi;  ///< empty: no band; else a shaded range per point
};

struct Figure {
  std::string name;  ///< file stem
  std::string title, xlabel, ylabel;
  /// Log axes wanted; drawn so only where every value is > 0 and they span a factor of 4 or
  /// more (a narrower range reads better on a linear axis). The label then says so.
  bool logx = false, logy = false;
  int log_base = 10;        ///< for logx
  bool integer_x = false;   ///< x takes whole numbers (epochs): whole-number tics
  std::vector<double> xtics, ytics;  ///< labelled tics at these values (the grid's), if any
  /// > 0: x = 0 (a weight decay of 0 on a log axis) is drawn at this x, its tic labelled "0".
  double zero_at = 0;
  std::string caption_note;  ///< appended to the caption
  std::vector<Series> series;
  std::string caption;  ///< one sentence for report.md
  /// A forest plot: each series' points are rows (y = 0, 1, ... from the top) with
  /// horizontal error bars (x = the difference, err = the CI's half-width), labelled by
  /// row_labels, and a dashed line at x = 0.
  bool forest = false;
  std::vector<std::string> row_labels;
  /// Lines with error bars at shared x values are drawn shifted sideways by a small step
  /// each, so that their bars do not hide each other (the .dat file keeps the true x).
  bool dodge = false;
};

/// The figures the results call for; `notes` gets a line for each figure left out and why.
std::vector<Figure> plan_figures(const SweepResults& results, std::vector<std::string>& notes);

/// The best weight decay per training length (figure best-weight-decay-vs-epochs): per line
/// (combination of the other varying settings) and length, the weight decay with the lowest
/// mean final test error, with its uncertainty: the weight decays not detectably worse than the
/// best, paired over seeds (the 95% CI of their difference to the best contains 0), and the
/// smallest weight decay of the grid (0 when the grid has it) against the best, paired. When
/// epochs does not vary, one row per line at the runs' length (config.json's epochs, "" if
/// unknown). Empty when weight-decay does not vary.
struct BestWeightDecay {
  std::string epochs, line, weight_decay;
  double mean_error = 0;
  Stat error;                             ///< the best one's final test error over seeds
  std::vector<std::string> not_worse;     ///< not detectably worse, paired (the best included)
  std::string smallest;                   ///< the smallest weight decay of the grid
  Paired smallest_minus_best;             ///< its error - the best's, same seeds (n 0 if it is the best)
};
std::vector<BestWeightDecay> best_weight_decay_per_length(const SweepResults& results);

/// The files each figure is kept as (swd report --formats): NAME.png, the raster report.md
/// shows; NAME.svg, the vector drawing; NAME.gp with its data NAME.dat, gnuplot's input, to
/// redraw or restyle a figure. The default is the PNG and the SVG.
struct FigureFormats {
  bool png = true;
  bool svg = true;
  bool gnuplot = false;
  /// Whether gnuplot runs: a PNG or an SVG is asked for.
  bool drawn() const { return png || svg; }
};
/// A comma-separated list of png, svg and gp, each at most once ("png,svg"). Throws
/// std::invalid_argument naming the bad word and the choices.
FigureFormats parse_figure_formats(const std::string& list);

/// gnuplot's input for `figure`: the data block and the script writing <stem>.png and
/// <stem>.svg, where `stem` is a path without extension.
std::string gnuplot_data(const Figure& figure);
std::string gnuplot_script(const Figure& figure, const std::string& data_path,
                           const std::string& stem);

/// Whether `name` is a plain file name: letters, digits, '.', '-', '=', '_', not starting with
/// '.', at most 200 characters. safe_file_stem maps any text to one (others become '_').
bool is_safe_file_stem(const std::string& name);
std::string safe_file_stem(const std::string& name);

/// Draws every figure into `folder` with the gnuplot program `gnuplot` and keeps the files
/// `formats` asks for (NAME.png, NAME.svg, and the NAME.gp / NAME.dat it used); where it asks
/// for neither a PNG nor an SVG, gnuplot does not run. Every string reaches gnuplot through
/// one_line inside single quotes, so no title, label or key can end its string and run a
/// command. Throws std::runtime_error with gnuplot's message if it fails or takes more than
/// `timeout_seconds` for one figure (naming gnuplot and the script), std::invalid_argument for
/// a figure name that is not a plain file name.
void draw_figures(const std::vector<Figure>& figures, const std::string& folder,
                  const std::string& gnuplot, const FigureFormats& formats = {},
                  double timeout_seconds = kGnuplotTimeoutSeconds);

}  // namespace report
}  // namespace swd
