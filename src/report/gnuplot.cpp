// Figures drawn with gnuplot: one data file and one script per figure, PNG and SVG out.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "swd/report/figures.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"
#include "swd/util/process.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

bool is_safe_file_stem(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.size() > 200) return false;
  for (char ch : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                    ch == '=' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

std::string safe_file_stem(const std::string& name) {
  std::string out;
  for (char ch : name.substr(0, 200)) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                    ch == '=' || ch == '_';
    out += ok ? ch : '_';
  }
  if (out.empty() || out.front() == '.') out.insert(0, "_");
  return out;
}

namespace {

/// A gnuplot single-quoted string ('' stands for '). Inside single quotes gnuplot expands
/// nothing (no backquotes, no macros), so the only way out of the string is a line break:
/// one_line turns every control character into a space first. Gnuplot reads a leading ''
/// as an empty string, so leading quotes are joined on as "'" (a constant: nothing of the
/// text is ever double-quoted): 'x becomes "'".'x'.
std::string quoted(const std::string& text) {
  const std::string line = one_line(text);
  const size_t lead = std::min(line.find_first_not_of('\''), line.size());
  std::string out;
  for (size_t i = 0; i < lead; ++i) out += (i ? "." : "") + std::string("\"'\"");
  if (lead == line.size() && lead > 0) return out;
  out += (lead ? ".'" : "'");
  for (char ch : line.substr(lead)) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

/// The lines that draw the plot just made again as NAME.svg, then close the output.
std::string svg_of_the_plot(const std::string& stem, int height, int width = 1100) {
  return "set terminal svg noenhanced size " + std::to_string(width) + "," + std::to_string(height) +
         " dynamic font 'Sans,12'\nset output " + quoted(stem + ".svg") + "\nreplot\nunset output\n";
}

std::string value(double v) { return std::isfinite(v) ? util::shortest_number(v) : "NaN"; }

/// Ten colours that stay apart on white and for most colour-blind readers (Tableau 10).
const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/// The smallest and largest finite value of `values` (only those > 0 when `positive`); lo > hi
/// when there is none.
std::pair<double, double> finite_bounds(const std::vector<double>& values, bool positive) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values) {
    if (std::isfinite(v) && (!positive || v > 0)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  return {lo, hi};
}

/// The range around `values` (with their error bars) and a margin: 5% of the span on a linear
/// axis, a ratio on a log one; lo > hi when there is nothing finite to plot.
std::pair<double, double> range(const std::vector<double>& values, bool log) {
  const auto [lo, hi] = finite_bounds(values, log);
  if (!(lo <= hi)) return {lo, hi};
  if (log) {
    const double ratio = std::max(1.15, std::pow(hi / lo, 0.06));
    return {lo / ratio, hi * ratio};
  }
  const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(0.05 * std::fabs(hi), 0.5);
  return {lo - pad, hi + pad};
}

std::string range_text(const std::pair<double, double>& r) {
  return r.first <= r.second ? "[" + value(r.first) + ":" + value(r.second) + "]" : "[*:*]";
}

/// Whether `values` suit a log axis: all finite ones > 0, spanning a factor of 4 or more.
bool log_worthwhile(const std::vector<double>& values) {
  for (double v : values) {
    if (std::isfinite(v) && v <= 0) return false;
  }
  const auto [lo, hi] = finite_bounds(values, true);
  return lo <= hi && hi >= 4 * lo;
}

/// "set xtics ('v' v, ...)": labelled tics at `values`.
std::string explicit_tics(const std::string& axis, const std::vector<double>& values, double zero_at = 0) {
  std::string text = "set " + axis + "tics (";
  for (size_t i = 0; i < values.size(); ++i) {
    const bool zero = zero_at > 0 && values[i] == zero_at;
    text += (i ? ", " : "") + quoted(zero ? "0" : value(values[i])) + " " + value(values[i]);
  }
  return text + ")\n";
}

/// Labelled tics for a log axis over `r`: 1, 2, 5 x 10^k, or every m x 10^k when that gives
/// fewer than three (gnuplot alone labels only powers of ten, none within one decade).
std::string log_tics(const std::string& axis, const std::pair<double, double>& r) {
  if (!(r.first > 0 && r.first <= r.second)) return "";
  for (const std::vector<int>& mantissas : {std::vector<int>{1, 2, 5}, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    std::vector<double> tics;
    for (int k = static_cast<int>(std::floor(std::log10(r.first))); k <= std::ceil(std::log10(r.second)); ++k) {
      for (int m : mantissas) {
        const double v = std::stod(std::to_string(m) + "e" + std::to_string(k));  // exactly "2e-5"
        if (v >= r.first && v <= r.second) tics.push_back(v);
      }
    }
    if (tics.size() >= 3 || mantissas.size() > 3) {
      return explicit_tics(axis, tics);
    }
  }
  return "";
}

/// The x and y values of every point, error bars included for y.
void extent(const Figure& figure, std::vector<double>& xs, std::vector<double>& ys) {
  if (figure.forest) {  // bars along x; rows along y
    for (const auto& s : figure.series) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        xs.push_back(s.x[i] - s.err[i]);
        xs.push_back(s.x[i] + s.err[i]);
      }
      ys.insert(ys.end(), s.y.begin(), s.y.end());
    }
    xs.push_back(0);  // the line at 0 is always in view
    return;
  }
  for (const auto& s : figure.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    for (size_t i = 0; i < s.y.size(); ++i) {
      const double e = s.err.empty() || !std::isfinite(s.err[i]) ? 0 : s.err[i];
      ys.push_back(s.y[i] - e);
      ys.push_back(s.y[i] + e);
    }
    ys.insert(ys.end(), s.band_lo.begin(), s.band_lo.end());
    ys.insert(ys.end(), s.band_hi.begin(), s.band_hi.end());
  }
}

}  // namespace

std::string gnuplot_data(const Figure& figure) {
  std::string text;
  for (const auto& s : figure.series) {
    text += "# " + one_line(s.label) + "\n";
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isnan(s.y[i])) {  // a gap: one blank line ends the line here (two: the next index)
        text += "\n";
        continue;
      }
      text += value(s.x[i]) + " " + value(s.y[i]);
      if (!s.err.empty()) text += " " + value(s.err[i]);
      if (!s.band_lo.empty()) text += " " + value(s.band_lo[i]) + " " + value(s.band_hi[i]);
      text += "\n";
    }
    text += "\n\n";  // gnuplot: the next index
  }
  return text;
}

namespace {

/// A forest plot: one row per comparison, top to bottom, a dashed line at 0.
std::string forest_script(const Figure& figure, const std::string& data_path, const std::string& stem,
                          const std::vector<double>& xs) {
  const auto x_range = range(xs, false);
  const size_t rows = figure.row_labels.size();
  const int height = static_cast<int>(std::max<size_t>(320, 160 + 32 * rows));
  // Wide enough for the longest row label (about 8 px a character at Sans 12) beside a plot
  // that still holds the x label and the key (about 500 px): 1100 px up to 37 characters.
  size_t longest = 0;
  for (const auto& label : figure.row_labels) longest = std::max(longest, label.size());
  const int width = static_cast<int>(std::max<size_t>(1100, 800 + 8 * longest));
  std::string s;
  s += "set terminal pngcairo noenhanced size " + std::to_string(width) + "," + std::to_string(height) +
       " font 'Sans,12'\n";
  s += "set output " + quoted(stem + ".png") + "\n";
  s += "set title " + quoted(figure.title) + "\n";
  s += "set xlabel " + quoted(figure.xlabel) + "\n";
  s += "set grid xtics\n";
  s += "set key below center horizontal height 1.5\n";  // a gap between the x label and the key
  s += "set datafile missing 'NaN'\n";
  s += "set xrange " + range_text(x_range) + "\n";
  s += "set yrange [" + value(static_cast<double>(rows) - 0.5) + ":-0.5]\n";  // the first row on top
  s += "set ytics (";
  for (size_t i = 0; i < rows; ++i) {
    s += (i ? ", " : "") + quoted(figure.row_labels[i]) + " " + std::to_string(i);
  }
  s += ")\n";
  s += "set arrow 1 from 0, graph 0 to 0, graph 1 nohead dashtype 2 linecolor rgb '#555555'\n";
  s += "plot ";
  for (size_t i = 0; i < figure.series.size(); ++i) {
    s += std::string(i ? ", \\\n     " : "") + quoted(data_path) + " index " + std::to_string(i) +
         " using 1:2:3 with xerrorbars linewidth 2 pointtype 7 pointsize 1.1 linecolor rgb " +
         quoted(figure.series[i].label.find("excludes") != std::string::npos ? "#d62728" : "#1f77b4") +
         " title " + quoted(figure.series[i].label);
  }
  return s + "\n" + svg_of_the_plot(stem, height, width);
}

}  // namespace

std::string gnuplot_script(const Figure& figure, const std::string& data_path,
                           const std::string& stem) {
  if (figure.forest) {
    std::vector<double> xs, ys;
    extent(figure, xs, ys);
    return forest_script(figure, data_path, stem, xs);
  }
  std::vector<double> xs, ys;
  extent(figure, xs, ys);
  // Labelled tics are values the reader looks for (a grid's weight decays): on a log axis all
  // in view, also where every point sits on one of them; on a linear one (a grid with 0) only
  // when the points alone span nothing.
  auto with_tics = [](std::vector<double> values, const std::vector<double>& tics) {
    values.insert(values.end(), tics.begin(), tics.end());
    return values;
  };
  auto spans_nothing = [](const std::vector<double>& values) {
    const auto [lo, hi] = finite_bounds(values, false);
    return !(lo < hi);
  };
  const auto xs_tics = with_tics(xs, figure.xtics), ys_tics = with_tics(ys, figure.ytics);
  const bool logx = figure.logx && log_worthwhile(xs_tics), logy = figure.logy && log_worthwhile(ys_tics);
  if (logx || spans_nothing(xs)) xs = xs_tics;
  if (logy || spans_nothing(ys)) ys = ys_tics;
  auto x_range = range(xs, logx);
  const auto y_range = range(ys, logy);
  // Dodged lines: series i of n drawn at x shifted by (i - (n - 1) / 2) steps, a step being
  // 1.2% of the x range (a factor on a log axis). The range is widened by the largest shift,
  // so that the outermost series stay inside it: a shift of h of the widened span W is h x
  // span / (1 - 2h).
  const double n = static_cast<double>(figure.series.size());
  const double half = 0.012 * (n - 1) / 2;
  if (figure.dodge && n > 1 && x_range.first < x_range.second) {
    if (logx) {
      const double factor = std::exp(std::log(x_range.second / x_range.first) * half / (1 - 2 * half));
      x_range = {x_range.first / factor, x_range.second * factor};
    } else {
      const double extra = (x_range.second - x_range.first) * half / (1 - 2 * half);
      x_range = {x_range.first - extra, x_range.second + extra};
    }
  }
  auto label = [](const std::string& text, bool log, int base) {
    return text + (log ? (base == 10 ? ", log scale" : ", log scale (base " + std::to_string(base) + ")") : "");
  };
  std::string s;
  const int height = 650 + 20 * static_cast<int>(std::min<size_t>(figure.series.size(), 12));
  s += "set terminal pngcairo noenhanced size 1100," + std::to_string(height) + " font 'Sans,12'\n";
  s += "set output " + quoted(stem + ".png") + "\n";
  s += "set title " + quoted(figure.title) + "\n";
  s += "set xlabel " + quoted(label(figure.xlabel, logx, figure.log_base)) + "\n";
  s += "set ylabel " + quoted(label(figure.ylabel, logy, 10)) + "\n";
  s += "set grid\n";
  // The legend below the plot, so that the plot keeps the whole width: at most 3 columns,
  // fewer when the labels are long, and a bottom margin that holds its rows.
  size_t longest = 1;
  for (const auto& series : figure.series) longest = std::max(longest, one_line(series.label).size());
  const size_t columns = std::max<size_t>(1, std::min<size_t>(3, 120 / (longest + 8)));
  const size_t key_rows = (figure.series.size() + columns - 1) / columns;
  s += "set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols " +
       std::to_string(columns) + " samplen 2\n";
  s += "set bmargin " + std::to_string(5 + static_cast<int>(std::ceil(1.25 * key_rows))) + "\n";
  s += "set datafile missing 'NaN'\n";
  // %g: a log axis labels 10 and 20 as such, not as gnuplot's default 1e+01 and 2e+01
  if (logx) s += "set logscale x " + std::to_string(figure.log_base) + "\nset format x '%g'\n";
  if (logy) s += "set logscale y 10\nset format y '%g'\n";
  if (!figure.xtics.empty()) {
    s += explicit_tics("x", figure.xtics, logx ? figure.zero_at : 0);
  } else if (logx) {
    s += log_tics("x", x_range);
  }
  if (!figure.ytics.empty()) {
    s += explicit_tics("y", figure.ytics);
  } else if (logy) {
    s += log_tics("y", y_range);
  }
  if (figure.integer_x && figure.xtics.empty() && !xs.empty()) {
    const double span = *std::max_element(xs.begin(), xs.end()) - *std::min_element(xs.begin(), xs.end());
    s += "set xtics " + value(std::max(1.0, std::ceil(span / 10))) + "\n";
  }
  s += "set xrange " + range_text(x_range) + "\n";
  s += "set yrange " + range_text(y_range) + "\n";
  auto x_of = [&](size_t i) -> std::string {
    if (!figure.dodge || !(x_range.first < x_range.second)) return "1";
    const double k = static_cast<double>(i) - (n - 1) / 2;
    if (logx) return "($1*" + value(std::pow(x_range.second / x_range.first, 0.012 * k)) + ")";
    return "($1+" + value(0.012 * k * (x_range.second - x_range.first)) + ")";
  };
  s += "plot ";
  for (size_t i = 0; i < figure.series.size(); ++i) {
    const auto& series = figure.series[i];
    const bool bars = !series.err.empty();
    const std::string colour = " linecolor rgb " + quoted(kColours[i % 10]);
    if (!series.band_lo.empty()) {  // the band first, under its line
      const int lo = bars ? 4 : 3;
      // A band of one point has no area: that point's range is drawn as an error bar.
      s += std::string(i ? ", \\\n     " : "") + quoted(data_path) + " index " + std::to_string(i) +
           (series.x.size() == 1
                ? " using 1:2:" + std::to_string(lo) + ":" + std::to_string(lo + 1) + " with yerrorbars pointtype -1"
                : " using 1:" + std::to_string(lo) + ":" + std::to_string(lo + 1) +
                      " with filledcurves fillstyle transparent solid 0.15 noborder") +
           colour + " notitle";
    }
    // Colours repeat after ten lines; dashes tell the eleventh and later apart.
    s += std::string(i || !series.band_lo.empty() ? ", \\\n     " : "") + quoted(data_path) + " index " + std::to_string(i) +
         (bars ? " using " + x_of(i) + ":2:3 with yerrorlines" : " using 1:2 with linespoints") +
         " linewidth 2 pointtype " + std::to_string(5 + 2 * (i % 4)) + " pointsize 0.8" +
         colour + " dashtype " + std::to_string(i / 10 + 1) +
         " title " + quoted(series.label);
  }
  return s + "\n" + svg_of_the_plot(stem, height);
}

FigureFormats parse_figure_formats(const std::string& list) {
  FigureFormats formats{false, false, false};
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string word = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    bool* slot = word == "png" ? &formats.png : word == "svg" ? &formats.svg : word == "gp" ? &formats.gnuplot : nullptr;
    if (slot == nullptr || *slot) {
      throw std::invalid_argument("invalid figure format '" + one_line(word) + "' in '" + one_line(list) +
                                  "' (expected a comma-separated list of png, svg and gp, each once)");
    }
    *slot = true;
    if (comma == std::string::npos) return formats;
    start = comma + 1;
  }
}

void draw_figures(const std::vector<Figure>& figures, const std::string& folder,
                  const std::string& gnuplot, const FigureFormats& formats,
                  double timeout_seconds) {
  const fs::path dir(folder);
  for (const auto& f : figures) {
    if (!is_safe_file_stem(f.name)) {
      throw std::invalid_argument("figure name '" + one_line(f.name) +
                                  "' is not a plain file name (expected letters, digits, '.', "
                                  "'-', '=', '_', not starting with '.')");
    }
    const std::string stem = (dir / f.name).string();
    util::write_file_atomically(stem + ".dat", gnuplot_data(f));
    util::write_file_atomically(stem + ".gp", gnuplot_script(f, f.name + ".dat", f.name));
    if (!formats.drawn()) continue;
    const std::string log = stem + ".log";
    // Run in the folder so that the script's relative paths hold.
    int status = 0;
    try {
      status = util::run_process({gnuplot, f.name + ".gp"}, log, folder, timeout_seconds);
    } catch (const std::runtime_error& e) {  // it hung: name the program and the script
      throw std::runtime_error("gnuplot (" + gnuplot + ") on " + f.name + ".gp: " + e.what() +
                               " (swd report --gnuplot-timeout SECONDS allows more)");
    }
    if (status != 0 || !fs::exists(stem + ".png") || !fs::exists(stem + ".svg")) {
      std::string message = util::read_file(log);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      const auto last = message.rfind('\n');
      throw std::runtime_error("gnuplot failed on " + f.name + ".gp (exit " +
                               std::to_string(status) + "): " +
                               (last == std::string::npos ? message : message.substr(last + 1)));
    }
    fs::remove(log);
    // The script draws both; what was not asked for goes before the folder is swapped in.
    if (!formats.png) fs::remove(stem + ".png");
    if (!formats.svg) fs::remove(stem + ".svg");
    if (!formats.gnuplot) {
      fs::remove(stem + ".gp");
      fs::remove(stem + ".dat");
    }
  }
}

}  // namespace report
}  // namespace swd
