// Figures drawn with gnuplot: one data file and one script per figure, PNG and SVG out.
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "swd/report/figures.h"
#include "swd/sweep/csv.h"
#include "swd/sweep/process.h"
#include "swd/train/files.h"

namespace swd {
namespace report {

namespace fs = std::filesystem;

namespace {

/// A gnuplot single-quoted string ('' stands for ').
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

std::string value(double v) { return std::isfinite(v) ? sweep::shortest_number(v) : "NaN"; }

}  // namespace

std::string gnuplot_data(const Figure& figure) {
  std::string text;
  for (const auto& s : figure.series) {
    text += "# " + s.label + "\n";
    for (size_t i = 0; i < s.x.size(); ++i) {
      text += value(s.x[i]) + " " + value(s.y[i]);
      if (!s.err.empty()) text += " " + value(s.err[i]);
      text += "\n";
    }
    text += "\n\n";  // gnuplot: the next index
  }
  return text;
}

std::string gnuplot_script(const Figure& figure, const std::string& data_path,
                           const std::string& stem) {
  std::string s;
  s += "set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'\n";
  s += "set output " + quoted(stem + ".png") + "\n";
  s += "set title " + quoted(figure.title) + "\n";
  s += "set xlabel " + quoted(figure.xlabel) + "\n";
  s += "set ylabel " + quoted(figure.ylabel) + "\n";
  s += "set grid\n";
  s += "set key outside right top box\n";
  s += "set datafile missing 'NaN'\n";
  if (figure.logx) s += "set logscale x " + std::to_string(figure.log_base) + "\n";
  if (figure.logy) s += "set logscale y 10\n";
  if (figure.logx && figure.log_base == 2) s += "set xtics 2\n";
  s += "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n";
  s += "plot ";
  for (size_t i = 0; i < figure.series.size(); ++i) {
    const auto& series = figure.series[i];
    const bool bars = !series.err.empty();
    // Colours repeat after eight lines; dashes tell the ninth and later apart.
    s += std::string(i ? ", \\\n     " : "") + quoted(data_path) + " index " + std::to_string(i) +
         (bars ? " using 1:2:3 with yerrorlines" : " using 1:2 with linespoints") +
         " linewidth 2 pointtype " + std::to_string(5 + 2 * (i % 4)) + " pointsize 0.8" +
         " linecolor " + std::to_string(i % 8 + 1) + " dashtype " + std::to_string(i / 8 + 1) +
         " title " + quoted(series.label);
  }
  s += "\n";
  s += "set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'\n";
  s += "set output " + quoted(stem + ".svg") + "\n";
  s += "replot\n";
  s += "unset output\n";
  return s;
}

void draw_figures(const std::vector<Figure>& figures, const std::string& folder,
                  const std::string& gnuplot) {
  const fs::path dir(folder);
  for (const auto& f : figures) {
    const std::string stem = (dir / f.name).string();
    train::write_file_atomically(stem + ".dat", gnuplot_data(f));
    train::write_file_atomically(stem + ".gp", gnuplot_script(f, f.name + ".dat", f.name));
    const std::string log = stem + ".log";
    // Run in the folder so that the script's relative paths hold.
    const int status = sweep::run_process({gnuplot, f.name + ".gp"}, log, folder);
    if (status != 0 || !fs::exists(stem + ".png") || !fs::exists(stem + ".svg")) {
      std::string message = train::read_file(log);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      const auto last = message.rfind('\n');
      throw std::runtime_error("gnuplot failed on " + f.name + ".gp (exit " +
                               std::to_string(status) + "): " +
                               (last == std::string::npos ? message : message.substr(last + 1)));
    }
    fs::remove(log);
  }
}

}  // namespace report
}  // namespace swd
