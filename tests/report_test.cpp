// swd report on hand-made sweep folders whose numbers are known: grouping over seeds, mean and
// sample std, best in bold, the figures chosen, gnuplot output, and a missing gnuplot.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "cli_support.h"
#include "swd/report/report.h"
#include "swd/run/metrics.h"
#include "swd/util/csv.h"
#include "swd/util/process.h"

namespace fs = std::filesystem;
namespace rp = swd::report;
using swd_test::fresh_dir;
using swd_test::slurp;

namespace {

struct HandRun {
  std::string optimizer, weight_decay, seed, status;
  std::vector<double> test_errors;  // one per epoch
  double grad_norm;
};

const std::string kHeader =
    "run,status,optimizer,weight-decay,seed,epochs_planned,epochs_done,final_test_error,best_test_error,"
    "best_epoch,final_train_loss,final_grad_norm,final_weight_norm,seconds,overrides\n";

/// A sweep folder with runs.csv and each run's metrics.csv. The summary columns of runs.csv
/// are left empty on purpose: the report must take its numbers from metrics.csv.
std::string make_sweep(const std::string& name, const std::vector<HandRun>& runs) {
  const auto dir = fresh_dir(name);
  std::string index = kHeader;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    const std::string folder = "runs/r" + std::to_string(i);
    fs::create_directories(dir + "/" + folder);
    std::vector<swd::run::EpochMetrics> rows;
    for (size_t e = 0; e < r.test_errors.size(); ++e) {
      swd::run::EpochMetrics m;
      m.epoch = static_cast<int64_t>(e + 1);
      m.test_error = r.test_errors[e];
      m.train_loss = 1.0 / (e + 1);
      m.grad_norm = r.grad_norm;
      m.weight_norm = 10;
      rows.push_back(m);
    }
    std::ofstream(dir + "/" + folder + "/metrics.csv") << swd::run::metrics_csv(rows);
    index += folder + "," + r.status + "," + r.optimizer + "," + r.weight_decay + "," + r.seed + "," +
             std::to_string(r.test_errors.size()) + ",,,,,,,,,\n";
  }
  std::ofstream(dir + "/runs.csv") << index;
  return dir;
}

// adam, wd 1e-4: final 0.10 0.12 0.14 (mean 12.00, std 2.00); seed 0 was best at epoch 1 (0.09).
// adams, wd 1e-4: final 0.08 0.09 0.10 (mean 9.00, std 1.00): the best of its row.
// adam, wd 1e-3: 0.11 three times (11.00, std 0.00).
// adams, wd 1e-3: 0.07 and 0.10 (8.50, std 2.12); its third seed is unfinished.
const std::vector<HandRun> kRuns = {
    {"adam", "0.0001", "0", "done", {0.09, 0.10}, 1.0},
    {"adam", "0.0001", "1", "done", {0.20, 0.12}, 2.0},
    {"adam", "0.0001", "2", "done", {0.20, 0.14}, 3.0},
    {"adams", "0.0001", "0", "done", {0.20, 0.08}, 0.5},
    {"adams", "0.0001", "1", "done", {0.20, 0.09}, 0.5},
    {"adams", "0.0001", "2", "done", {0.20, 0.10}, 0.5},
    {"adam", "0.001", "0", "done", {0.20, 0.11}, 1.0},
    {"adam", "0.001", "1", "done", {0.20, 0.11}, 1.0},
    {"adam", "0.001", "2", "done", {0.20, 0.11}, 1.0},
    {"adams", "0.001", "0", "done", {0.20, 0.07}, 1.0},
    {"adams", "0.001", "1", "done", {0.20, 0.10}, 1.0},
    {"adams", "0.001", "2", "unfinished", {0.50}, 1.0},
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(ReportStats, MeanAndSampleStd) {
  const auto s = rp::mean_std({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(32.0 / 7));  // sum of squares 32, n - 1 = 7
  EXPECT_EQ(s.n, 8);
  EXPECT_TRUE(std::isnan(rp::mean_std({3}).std));
}

TEST(Report, GroupsOverSeedsFromTheRunsMetrics) {
  const auto r = rp::load_results(make_sweep("report-groups", kRuns));
  EXPECT_EQ(r.axes, (std::vector<std::string>{"optimizer", "weight-decay", "seed"}));
  EXPECT_EQ(r.group_axes, (std::vector<std::string>{"optimizer", "weight-decay"}));
  EXPECT_EQ(r.runs.size(), 11u);
  ASSERT_EQ(r.not_finished.size(), 1u);
  EXPECT_EQ(r.not_finished[0], "runs/r11 (unfinished)");
  ASSERT_EQ(r.groups.size(), 4u);
  const auto adam = r.groups[0].stat(r.runs, rp::Measure::FinalTestError);
  EXPECT_EQ(r.groups[0].key, (std::vector<std::string>{"adam", "0.0001"}));
  EXPECT_NEAR(adam.mean, 0.12, 1e-15);
  EXPECT_NEAR(adam.std, 0.02, 1e-15);
  const auto best = r.groups[0].stat(r.runs, rp::Measure::BestTestError);
  EXPECT_NEAR(best.mean, (0.09 + 0.12 + 0.14) / 3, 1e-15);
  const auto last = r.groups[3].stat(r.runs, rp::Measure::FinalTestError);
  EXPECT_EQ(last.n, 2);
  EXPECT_NEAR(last.std, std::sqrt(2 * 0.015 * 0.015), 1e-15);
  const auto grad = r.groups[0].stat(r.runs, rp::Measure::FinalGradNorm);
  EXPECT_DOUBLE_EQ(grad.mean, 2.0);
  EXPECT_DOUBLE_EQ(grad.std, 1.0);
}

TEST(Report, TablesBoldTheBestOfEachRow) {
  const auto dir = make_sweep("report-tables", kRuns);
  rp::ReportOptions options;
  options.figures = false;
  const auto out = rp::write_report(dir, options);
  EXPECT_EQ(out.runs_finished, 11u);
  const auto md = slurp(dir + "/report.md");
  // Final-epoch table: rows weight decay, columns optimizers; mean (std) [95% CI], the CI
  // mean -+ t * std / sqrt(n) with t(0.975, 2) = 4.302653 and t(0.975, 1) = 12.706205:
  // 12 -+ 4.9683, 9 -+ 2.4841, 8.5 -+ 19.0593.
  EXPECT_TRUE(contains(md, "| 0.0001 | 12.00 (2.00) [7.03, 16.97] | **9.00 (1.00) [6.52, 11.48]** |")) << md;
  // Bold only where the best is detected: at 0.0001 adams - adam = -2, -3, -4 points, CI
  // -3 -+ 2.48, below 0; at 0.001 (two seeds) -4, -1: CI -2.5 -+ 19.06 holds 0, no bold.
  EXPECT_TRUE(contains(md, "| 0.001 | 11.00 (0.00) [11.00, 11.00] | 8.50 (2.12) [-10.56, 27.56] |")) << md;
  // Best-epoch table: adam's seed 0 counts its epoch-1 error (11.667 -+ 6.2515); adams - adam
  // = -1, -3, -4: CI -2.67 -+ 3.79 holds 0, so no bold.
  EXPECT_TRUE(contains(md, "| 0.0001 | 11.67 (2.52) [5.42, 17.92] | 9.00 (1.00) [6.52, 11.48] |")) << md;
  // ... whose note says that its "best" is selected on the test set (no --val-split).
  EXPECT_TRUE(contains(md, "\"Best\" is selected on the test set itself")) << md;
  EXPECT_TRUE(contains(md, "| 0.0001 | 2 (1) | 0.5 (0) |")) << md;  // gradient norms, no bold
  EXPECT_TRUE(contains(md, "runs/r11 (unfinished)"));
  const auto summary = swd::util::parse_csv(slurp(dir + "/summary.csv"), "summary.csv");
  ASSERT_EQ(summary.rows.size(), 4u);
  const int mean = summary.column("final_test_error_mean");
  ASSERT_GE(mean, 0);
  EXPECT_NEAR(std::stod(summary.rows[1][mean]), 0.09, 1e-15);
  EXPECT_EQ(summary.rows[1][summary.column("n")], "3");
}

TEST(Report, BestWeightDecayPerTrainingLength) {
  const std::string header =
      "run,status,weight-decay,epochs,epochs_planned,epochs_done,final_test_error,best_test_error,"
      "best_epoch,final_train_loss,final_grad_norm,final_weight_norm,seconds,overrides\n";
  // (epochs 5: wd 1e-4 -> 0.20, 1e-3 -> 0.15) (epochs 10: 1e-4 -> 0.10, 1e-3 -> 0.12)
  const auto dir = fresh_dir("report-lengths");
  std::string index = header;
  const std::vector<std::tuple<std::string, int, double>> runs = {
      {"0.0001", 5, 0.20}, {"0.001", 5, 0.15}, {"0.0001", 10, 0.10}, {"0.001", 10, 0.12}};
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& [wd, epochs, error] = runs[i];
    std::vector<swd::run::EpochMetrics> rows(epochs);
    for (int e = 0; e < epochs; ++e) {
      rows[e].epoch = e + 1;
      rows[e].test_error = e + 1 == epochs ? error : 0.5;
      rows[e].train_loss = 1;
    }
    fs::create_directories(dir + "/runs/r" + std::to_string(i));
    std::ofstream(dir + "/runs/r" + std::to_string(i) + "/metrics.csv") << swd::run::metrics_csv(rows);
    index += "runs/r" + std::to_string(i) + ",done," + wd + "," + std::to_string(epochs) + "," +
             std::to_string(epochs) + ",,,,,,,,,\n";
  }
  std::ofstream(dir + "/runs.csv") << index;
  const auto r = rp::load_results(dir);
  ASSERT_EQ(r.axes, (std::vector<std::string>{"weight-decay", "epochs"}));
  const auto best = rp::best_weight_decay_per_length(r);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].epochs, "5");
  EXPECT_EQ(best[0].weight_decay, "0.001");
  EXPECT_EQ(best[1].epochs, "10");
  EXPECT_EQ(best[1].weight_decay, "0.0001");
  std::vector<std::string> notes;
  std::vector<std::string> names;
  for (const auto& f : rp::plan_figures(r, notes)) names.push_back(f.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "best-weight-decay-vs-epochs"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "error-vs-weight-decay"), names.end());
}

TEST(Report, FiguresFollowTheAxesThatVary) {
  const auto r = rp::load_results(make_sweep("report-figures", kRuns));
  std::vector<std::string> notes;
  const auto figures = rp::plan_figures(r, notes);
  std::vector<std::string> names;
  for (const auto& f : figures) names.push_back(f.name);
  // Curves per weight decay (the axis left once optimizer is the lines), four measures.
  for (const char* name : {"curves-test-error-weight-decay=0.0001", "curves-grad-norm-weight-decay=0.001",
                           "curves-train-loss-weight-decay=0.0001", "curves-weight-norm-weight-decay=0.001",
                           "error-vs-weight-decay"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_EQ(names.size(), 1 + 4u * 2 + 1);  // no batch-size or length axis: nothing else
  // The forest plot of the answer first: adams - adam at each weight decay (the paper's way
  // round), -3 -+ 2.484 points at 0.0001.
  ASSERT_EQ(names.front(), "paired-differences");
  const auto& forest = figures.front();
  EXPECT_TRUE(forest.forest);
  ASSERT_EQ(forest.row_labels.size(), 2u);
  EXPECT_EQ(forest.row_labels[0], "adams - adam, wd 0.0001");
  const auto& detected = forest.series[0];
  EXPECT_EQ(detected.label, "95% CI excludes 0");
  EXPECT_NEAR(detected.x[0], -3, 1e-9);
  EXPECT_NEAR(detected.err[0], 4.302652730 * 1 / std::sqrt(3.0), 1e-6);
  // Curves: the band is the 95% CI of the mean: adams at 0.0001, epoch 2: 9 -+ 2.484.
  const auto& curve = figures[1];
  ASSERT_EQ(curve.name, "curves-test-error-weight-decay=0.0001");
  EXPECT_NEAR(curve.series[1].band_lo[1], 9 - 4.302652730 / std::sqrt(3.0), 1e-6);
  EXPECT_NE(curve.title.find("95% CI of the mean"), std::string::npos);
  const auto& wd = figures.back();
  EXPECT_TRUE(wd.dodge);  // two lines with bars at the same weight decays
  ASSERT_EQ(wd.series.size(), 2u);      // one line per optimizer
  EXPECT_EQ(wd.series[1].label, "adams");
  EXPECT_EQ(wd.series[1].x, (std::vector<double>{1e-4, 1e-3}));
  EXPECT_NEAR(wd.series[1].y[1], 8.5, 1e-12);
  // Error bars: the 95% CI's half-width, t(0.975, 1) * std / sqrt(2).
  EXPECT_NEAR(wd.series[1].err[1], 12.706204736 * 100 * std::sqrt(2 * 0.015 * 0.015) / std::sqrt(2.0), 1e-6);
}

TEST(Report, DrawsPngAndSvgWithGnuplot) {
  if (!swd::util::find_program("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const auto dir = make_sweep("report-draw", kRuns);
  const auto out = rp::write_report(dir, {});
  std::string names;
  for (const auto& name : out.figures) names += name + " ";
  // The forest plot of the paired differences, 4 curves x 2 weight decays, error vs weight decay.
  ASSERT_EQ(out.figures.size(), 10u) << names;
  EXPECT_TRUE(contains(names, "paired-differences ")) << names;
  for (const auto& name : out.figures) {
    const auto png = slurp(dir + "/figures/" + name + ".png");
    ASSERT_GT(png.size(), 8u) << name;
    EXPECT_EQ(png.substr(1, 3), "PNG") << name;
    EXPECT_TRUE(contains(slurp(dir + "/figures/" + name + ".svg"), "<svg")) << name;
    EXPECT_TRUE(contains(slurp(dir + "/report.md"), "(figures/" + name + ".png)")) << name;
  }
  EXPECT_FALSE(fs::exists(dir + "/.figures.tmp"));
}

TEST(Report, WritesOnlyTheFigureFormatsAsked) {
  if (!swd::util::find_program("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const auto extensions = [](const std::string& folder) {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(folder)) out.insert(entry.path().extension().string());
    return out;
  };
  // The default: the PNG report.md shows and the SVG; gnuplot's input is not kept.
  const auto both = make_sweep("report-formats-default", kRuns);
  const auto drawn = rp::write_report(both, {});
  ASSERT_FALSE(drawn.figures.empty());
  const std::string name = drawn.figures[0];
  EXPECT_EQ(extensions(both + "/figures"), (std::set<std::string>{".png", ".svg"}));
  const auto md = slurp(both + "/report.md");
  EXPECT_TRUE(contains(md, "](figures/" + name + ".png)\n\n")) << md;
  EXPECT_TRUE(contains(md, " ([SVG](figures/" + name + ".svg))\n")) << md;
  EXPECT_FALSE(contains(md, ".dat)")) << md;
  // The SVG alone: shown in report.md instead, and the script draws nothing else.
  const auto svg = make_sweep("report-formats-svg", kRuns);
  rp::ReportOptions options;
  options.formats = rp::parse_figure_formats("svg");
  rp::write_report(svg, options);
  EXPECT_EQ(extensions(svg + "/figures"), (std::set<std::string>{".svg"}));
  const auto svg_md = slurp(svg + "/report.md");
  EXPECT_TRUE(contains(svg_md, "](figures/" + name + ".svg)\n\n")) << svg_md;
  EXPECT_FALSE(contains(svg_md, ".png")) << svg_md;
  // gnuplot's input alone: gnuplot need not exist; the script still draws both when run.
  const auto gp = make_sweep("report-formats-gp", kRuns);
  options.formats = rp::parse_figure_formats("gp");
  options.gnuplot = "gnuplot-that-is-not-installed";
  const auto out = rp::write_report(gp, options);
  ASSERT_FALSE(out.figures.empty());
  EXPECT_EQ(extensions(gp + "/figures"), (std::set<std::string>{".dat", ".gp"}));
  const auto script = slurp(gp + "/figures/" + out.figures[0] + ".gp");
  EXPECT_TRUE(contains(script, "set output '" + out.figures[0] + ".png'")) << script;
  EXPECT_TRUE(contains(script, "set output '" + out.figures[0] + ".svg'")) << script;
  EXPECT_TRUE(contains(slurp(gp + "/report.md"), "[gnuplot script](figures/" + out.figures[0] + ".gp)"));
}

TEST(Report, FigureFormatsAreAListOfKnownWords) {
  const auto all = rp::parse_figure_formats("gp,svg,png");
  EXPECT_TRUE(all.png && all.svg && all.gnuplot);
  const auto png = rp::parse_figure_formats("png");
  EXPECT_TRUE(png.png && !png.svg && !png.gnuplot);
  for (const std::string bad : {"jpeg", "png,png", "", "png,", "PNG", "png svg"}) {
    try {
      rp::parse_figure_formats(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_TRUE(contains(e.what(), "expected a comma-separated list of png, svg and gp")) << e.what();
    }
  }
  const auto dir = make_sweep("report-formats-cli", kRuns);
  const auto r = swd_test::run_swd("report --formats png,jpeg " + dir);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "swd: error: invalid figure format 'jpeg' in 'png,jpeg'")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
}

TEST(Report, MissingGnuplotIsAClearErrorAndWritesNothing) {
  const auto dir = make_sweep("report-no-gnuplot", kRuns);
  rp::ReportOptions options;
  options.gnuplot = "gnuplot-that-is-not-installed";
  try {
    rp::write_report(dir, options);
    ADD_FAILURE() << "expected ToolMissing";
  } catch (const rp::ToolMissing& e) {
    EXPECT_TRUE(contains(e.what(), "gnuplot-that-is-not-installed not found")) << e.what();
    EXPECT_TRUE(contains(e.what(), "gnuplot-nox")) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
  EXPECT_FALSE(fs::exists(dir + "/summary.csv"));
  EXPECT_FALSE(fs::exists(dir + "/figures"));
}

TEST(Report, CommandWithoutGnuplotOnPathExitsTwo) {
  const auto dir = make_sweep("report-cli", kRuns);
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir + "/empty-bin").c_str(), 1);  // the binary is called by its full path
  const auto r = swd_test::run_swd("report " + dir);
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "swd: error: gnuplot not found on PATH")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
  const auto tables = swd_test::run_swd("report --no-figures " + dir);
  EXPECT_EQ(tables.status, 0) << tables.output;
  EXPECT_TRUE(fs::exists(dir + "/report.md"));
}

TEST(Report, NoBoldWithoutADetectedBestAndNoCurvesForOneEpoch) {
  // 10.00% and 10.0000001% from one seed each: no paired interval, so no best is detected.
  const auto dir = make_sweep("report-ties", {{"adam", "0.0001", "0", "done", {0.1}, 1.0},
                                              {"adams", "0.0001", "0", "done", {0.100000001}, 1.0},
                                              {"sgd", "0.0001", "0", "done", {0.2}, 1.0}});
  rp::ReportOptions options;
  options.figures = false;
  rp::write_report(dir, options);
  const auto md = slurp(dir + "/report.md");
  EXPECT_TRUE(contains(md, "| all | 10.00 | 10.00 | 20.00 |")) << md;
  std::vector<std::string> notes;
  for (const auto& f : rp::plan_figures(rp::load_results(dir), notes)) {
    EXPECT_NE(f.name.rfind("curves-", 0), 0u) << f.name;
  }
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("one epoch") != std::string::npos;
  }));
}

TEST(Report, TheForestPlotAddsThePairsAskedForOnAnotherAxis) {
  // kRuns with a sweep file asking for weight decay 0.001 against 0.0001: the forest plot
  // keeps its optimizer rows and adds that pair, its axis named, for each optimizer where
  // two seeds or more ran both (adam: 11.00 - 12.00 over seeds 0-2).
  const auto dir = make_sweep("report-forest-asked", kRuns);
  std::ofstream(dir + "/sweep.json")
      << R"({"title": "t", "base": {}, "grid": {"optimizer": ["adam", "adams"], "weight-decay": [0.0001, 0.001], "seed": [0, 1, 2]},)"
      << R"( "report": {"pairs": [["weight-decay=0.001", "weight-decay=0.0001"]]}})";
  std::vector<std::string> notes;
  const auto figures = rp::plan_figures(rp::load_results(dir), notes);
  ASSERT_FALSE(figures.empty());
  const auto& forest = figures.front();
  ASSERT_TRUE(forest.forest);
  ASSERT_EQ(forest.row_labels.size(), 4u);
  EXPECT_EQ(forest.row_labels[0], "adams - adam, wd 0.0001");
  EXPECT_EQ(forest.row_labels[2], "weight-decay: 0.001 - 0.0001, adam");
  EXPECT_EQ(forest.row_labels[3], "weight-decay: 0.001 - 0.0001, adams");
}

TEST(Report, ALineIsBrokenWhereItHasNoFinishedRun) {
  // adams has no finished run at weight decay 0.001 (still pending): its line stops at 0.0001
  // and starts again at 0.01 rather than joining them across the missing cell.
  std::vector<HandRun> runs;
  for (const std::string optimizer : {"adam", "adams"}) {
    for (const std::string wd : {"0.0001", "0.001", "0.01"}) {
      for (const std::string seed : {"0", "1"}) {
        const bool pending = optimizer == "adams" && wd == "0.001";
        runs.push_back({optimizer, wd, seed, pending ? "pending" : "done", {0.2, 0.1 + 0.01 * std::stod(seed)}, 1.0});
      }
    }
  }
  const auto dir = make_sweep("report-line-gap", runs);
  std::vector<std::string> notes;
  const auto figures = rp::plan_figures(rp::load_results(dir), notes);
  const auto wd = std::find_if(figures.begin(), figures.end(), [](const rp::Figure& f) { return f.name == "error-vs-weight-decay"; });
  ASSERT_NE(wd, figures.end());
  ASSERT_EQ(wd->series.size(), 2u);
  EXPECT_EQ(wd->series[0].y.size(), 3u);  // adam: every cell, no gap
  ASSERT_EQ(wd->series[1].y.size(), 3u);  // adams: 0.0001, the gap, 0.01
  EXPECT_TRUE(std::isnan(wd->series[1].y[1]));
  EXPECT_TRUE(contains(wd->caption, "A line is broken where it has no finished run."));
  // In gnuplot's data a single blank line inside the block: the line is not drawn across it.
  const std::string data = rp::gnuplot_data(*wd);
  const auto adams = data.find("# adams");
  ASSERT_NE(adams, std::string::npos) << data;
  const auto block = data.substr(adams, data.find("\n\n\n", adams) - adams);
  // "# adams\n", the first point, the gap's blank line, then the last point (its newline is
  // the first of the three that end the block).
  EXPECT_EQ(std::count(block.begin(), block.end(), '\n'), 3) << block;
  EXPECT_NE(block.find("\n\n"), std::string::npos) << block;
  EXPECT_EQ(block.find("nan"), std::string::npos) << block;
}

TEST(Report, NoTestErrorCurvesWhereEachRunWasEvaluatedOnce) {
  // eval-every 3 on 3 epochs: the test columns are empty on epochs 1 and 2.
  const auto dir = make_sweep("report-eval-once", {{"adam", "0.0001", "0", "done", {NAN, NAN, 0.10}, 1.0},
                                                   {"adam", "0.0001", "1", "done", {NAN, NAN, 0.12}, 1.0},
                                                   {"adams", "0.0001", "0", "done", {NAN, NAN, 0.08}, 1.0},
                                                   {"adams", "0.0001", "1", "done", {NAN, NAN, 0.09}, 1.0}});
  std::vector<std::string> notes;
  bool train_loss = false;
  for (const auto& f : rp::plan_figures(rp::load_results(dir), notes)) {
    EXPECT_NE(f.name.rfind("curves-test-error", 0), 0u) << f.name;
    train_loss = train_loss || f.name.rfind("curves-train-loss", 0) == 0;
  }
  EXPECT_TRUE(train_loss) << "the measures of every epoch keep their curves";
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("test-error curves left out") != std::string::npos;
  }));
  // A line of one point draws its 95% interval as an error bar (a band of one point has no area).
  rp::Figure one;
  one.name = "one";
  one.series.push_back({"a", {3}, {10}, {}, {9}, {11}});
  one.series.push_back({"b", {1, 2, 3}, {10, 9, 8}, {}, {9, 8, 7}, {11, 10, 9}});
  const std::string script = rp::gnuplot_script(one, "one.dat", "one");
  EXPECT_TRUE(contains(script, "index 0 using 1:2:3:4 with yerrorbars")) << script;
  EXPECT_TRUE(contains(script, "index 1 using 1:3:4 with filledcurves")) << script;
}

TEST(Report, TheRegimeMapPlacesALambdaAgainstZeroPairAtTheDecayingRunsBudget) {
  // AdamS at weight decay 0, 0.01 and 0.1 (budgets 0, 1 and 10 e-folds), 2 seeds; the sweep
  // file asks for 0.1 - 0 and 0.01 - 0. The control decays nothing: a pair's x is the budget
  // of its decaying runs (1 and 10), not the mean with the control's 0 (0.5 and 5).
  const auto dir = fresh_dir("report-regime-map");
  auto write_runs = [&](const std::map<std::string, double>& budget_of) {
    std::string index = kHeader;
    int i = 0;
    for (const std::string wd : {"0", "0.01", "0.1"}) {
      for (const std::string seed : {"0", "1"}) {
        const std::string folder = "runs/r" + std::to_string(i++);
        fs::create_directories(dir + "/" + folder);
        std::vector<swd::run::EpochMetrics> rows(2);
        for (size_t e = 0; e < rows.size(); ++e) {
          rows[e].epoch = static_cast<int64_t>(e + 1);
          rows[e].test_error = 0.1 + 0.001 * std::stod(seed) - std::stod(wd) * 0.1;
          rows[e].train_loss = rows[e].grad_norm = rows[e].weight_norm = 1;
          rows[e].decay_budget = budget_of.at(wd) * static_cast<double>(e + 1) / 2;
        }
        std::ofstream(dir + "/" + folder + "/metrics.csv") << swd::run::metrics_csv(rows);
        index += folder + ",done,adams," + wd + "," + seed + ",2,,,,,,,,,\n";
      }
    }
    std::ofstream(dir + "/runs.csv") << index;
  };
  write_runs({{"0", 0}, {"0.01", 1}, {"0.1", 10}});
  std::ofstream(dir + "/sweep.json")
      << R"({"title": "t", "base": {}, "grid": {"weight-decay": [0, 0.01, 0.1], "seed": [0, 1]},)"
      << R"( "report": {"pairs": [["weight-decay=0.1", "weight-decay=0"], ["weight-decay=0.01", "weight-decay=0"]]}})";
  std::vector<std::string> notes;
  const auto figures = rp::plan_figures(rp::load_results(dir), notes);
  const auto map = std::find_if(figures.begin(), figures.end(), [](const rp::Figure& f) { return f.name == "regime-map"; });
  ASSERT_NE(map, figures.end());
  std::map<std::string, std::vector<double>> x_of;
  for (const auto& series : map->series) x_of[series.label] = series.x;
  EXPECT_EQ(x_of["0.01 - 0"], std::vector<double>{1.0});
  EXPECT_EQ(x_of["0.1 - 0"], std::vector<double>{10.0});
  // The lines come in the order of the pairs, not of their budgets: a pair keeps its colour.
  EXPECT_EQ(map->series[0].label, "0.1 - 0");
  // Budgets 1 and 2.5 (as when the cells differ in something that keeps the budget): no map,
  // and a note that says why.
  write_runs({{"0", 0}, {"0.01", 1}, {"0.1", 2.5}});
  notes.clear();
  const auto close = rp::plan_figures(rp::load_results(dir), notes);
  EXPECT_TRUE(std::none_of(close.begin(), close.end(), [](const rp::Figure& f) { return f.name == "regime-map"; }));
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n == "regime-map left out: the cells' decay budgets span 1 to 2.5 e-folds, less than 3x (the paired comparisons above give each pair)";
  })) << (notes.empty() ? "" : notes.back());
}

// ---- untrusted input: runs.csv, run folders and sweep files ---------------------------------

TEST(ReportHostile, NoGridValueCanRunACommandThroughGnuplot) {
  if (!swd::util::find_program("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const auto dir = fresh_dir("report-injection");
  const std::string marker = dir + "/injected";
  // A grid value that would end gnuplot's string and call system() if it reached a script
  // as it is: in a label (the line title), a figure title and a data-file comment.
  const std::string hostile = "l1\nsystem \"touch " + marker + "\"\nprint 'x";
  std::string index =
      "run,status,data-dir,optimizer,seed,epochs_planned,epochs_done,final_test_error,"
      "best_test_error,best_epoch,final_train_loss,final_grad_norm,final_weight_norm,seconds,"
      "overrides\n";
  int i = 0;
  for (const std::string data_dir : {hostile, std::string("plain|pipe")}) {
    for (const char* optimizer : {"adam", "adams"}) {
      const std::string folder = "runs/r" + std::to_string(i++);
      fs::create_directories(dir + "/" + folder);
      std::vector<swd::run::EpochMetrics> rows(2);
      for (int e = 0; e < 2; ++e) {
        rows[e].epoch = e + 1;
        rows[e].test_error = 0.1 + 0.01 * i;
        rows[e].train_loss = 1;
      }
      std::ofstream(dir + "/" + folder + "/metrics.csv") << swd::run::metrics_csv(rows);
      index += swd::util::csv_line({folder, "done", data_dir, optimizer, "0", "2", "", "", "",
                                     "", "", "", "", "", ""}) + "\n";
    }
  }
  std::ofstream(dir + "/runs.csv") << index;
  std::ofstream(dir + "/sweep.json") << R"({"title": "t\nsystem \"touch )" + marker + R"(\""})";
  rp::ReportOptions options;
  options.formats.gnuplot = true;  // keep the scripts, to read them below
  const auto out = rp::write_report(dir, options);
  ASSERT_FALSE(out.figures.empty());
  EXPECT_FALSE(fs::exists(marker)) << "gnuplot ran a command from a grid value";
  for (const auto& entry : fs::directory_iterator(dir + "/figures")) {
    if (entry.path().extension() != ".gp") continue;
    // Every line of every script is one of ours: none starts with the injected command.
    std::ifstream script(entry.path());
    for (std::string line; std::getline(script, line);) {
      EXPECT_NE(line.rfind("system", 0), 0u) << entry.path() << ": " << line;
    }
  }
  // The markdown tables keep their columns: the '|' of a value is escaped, the line break gone.
  const auto md = slurp(dir + "/report.md");
  EXPECT_TRUE(contains(md, "plain\\|pipe")) << md;
  EXPECT_FALSE(contains(md, "\nsystem")) << md;
}

TEST(ReportHostile, ReadsOnlyInsideTheSweepFolder) {
  const auto outside = fresh_dir("report-outside");
  std::vector<swd::run::EpochMetrics> rows(1);
  rows[0].epoch = 1;
  rows[0].test_error = 0.5;
  std::ofstream(outside + "/metrics.csv") << swd::run::metrics_csv(rows);
  const auto dir = fresh_dir("report-escape");
  fs::create_directories(dir + "/runs");
  fs::create_directory_symlink(outside, dir + "/runs/link");
  const std::string relative = fs::relative(outside, dir).string();  // ../report-outside
  for (const std::string& folder :
       {relative, outside, std::string("runs/../") + relative, std::string("runs/link")}) {
    std::ofstream(dir + "/runs.csv") << kHeader << swd::util::csv_line({folder, "done", "adam",
        "0.1", "0", "1", "", "", "", "", "", "", "", "", ""}) << "\n";
    try {
      rp::load_results(dir);
      ADD_FAILURE() << "read the metrics of " << folder;
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(contains(e.what(), "is not a folder inside")) << e.what();
    }
  }
}

TEST(ReportHostile, FigureFileNamesArePlainWhateverTheAxisName) {
  EXPECT_EQ(rp::safe_file_stem("error-vs-../../x"), "error-vs-.._.._x");
  EXPECT_EQ(rp::safe_file_stem(".hidden"), "_.hidden");
  EXPECT_TRUE(rp::is_safe_file_stem("curves-test-error-model=cnn"));
  EXPECT_FALSE(rp::is_safe_file_stem("a/b"));
  EXPECT_FALSE(rp::is_safe_file_stem("a\nb"));
  rp::Figure f;
  f.name = "../escape";
  EXPECT_THROW(rp::draw_figures({f}, fresh_dir("report-stem"), "gnuplot"), std::invalid_argument);
}

// ---- Issue "Reliability, round three" ----------------------------------------------------------

// 12: labels are data, a leading quote included.
TEST(ReportHostile, LabelsStartingWithAQuoteAreDrawn) {
  if (!swd::util::find_program("gnuplot")) GTEST_SKIP() << "gnuplot is not installed";
  const auto dir = make_sweep("report-quotes", {{"'x", "0.0001", "0", "done", {0.2, 0.1}, 1.0},
                                                {"''", "0.0001", "0", "done", {0.3, 0.2}, 1.0},
                                                {"a'b'", "0.0001", "0", "done", {0.4, 0.3}, 1.0}});
  const auto out = rp::write_report(dir, {});
  ASSERT_FALSE(out.figures.empty());
  const auto svg = slurp(dir + "/figures/" + out.figures.front() + ".svg");
  for (const std::string label : {">'x<", ">''<", ">a'b'<"}) {
    EXPECT_TRUE(contains(svg, label)) << label << " missing from " << out.figures.front();
  }
}

// 11: one folder given twice is not two seeds.
TEST(ReportHostile, ARunFolderGivenTwiceIsRefused) {
  const auto dir = make_sweep("report-twice", {{"adam", "0.0001", "0", "done", {0.2, 0.1}, 1.0}});
  const auto run = dir + "/runs/r0";
  std::ofstream(run + "/config.json") << R"({"optimizer": "adam", "epochs": 2})";
  fs::create_directory_symlink(run, dir + "/link");
  for (const std::string& again : {run, run + "/.", dir + "/runs/../runs/r0", dir + "/link"}) {
    const auto r = swd_test::run_swd("report " + run + " " + again + " --no-figures --out " + dir + "/out");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "swd: error: swd report: given the run folder " + again + " twice")) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir + "/out/report.md"));
  // The same in a runs.csv: a row twice, or one folder under two names.
  for (const std::string& second : {std::string("runs/r0"), std::string("runs/./r0"), std::string("link")}) {
    std::ofstream(dir + "/runs.csv") << kHeader << "runs/r0,done,adam,0.0001,0,2,,,,,,,,,\n"
                                     << second << ",done,adam,0.0001,1,2,,,,,,,,,\n";
    try {
      rp::load_results(dir);
      ADD_FAILURE() << "counted " << second << " as a second run";
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(contains(e.what(), "lists the run " + second + " twice")) << e.what();
    }
  }
}

// 6: a million duplicated rows are an error at once; a large honest runs.csv is linear.
TEST(ReportHostile, DuplicatedRowsAreAnErrorAndLargeIndexesAreFast) {
  const auto dir = make_sweep("report-large", {{"adam", "0.0001", "0", "done", {0.2, 0.1}, 1.0}});
  {
    std::ofstream index(dir + "/runs.csv");
    index << kHeader;
    for (int i = 0; i < 1000000; ++i) index << "runs/r0,done,adam,0.0001,0,2,,,,,,,,,\n";
  }
  auto start = std::chrono::steady_clock::now();
  const auto r = swd_test::run_swd("report " + dir + " --no-figures");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "lists the run runs/r0 twice")) << r.output;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
  // 100,000 runs, each its own lr and seed (every value new), one of them finished.
  {
    std::ofstream index(dir + "/runs.csv");
    index << "run,status,lr,seed,epochs_planned,epochs_done,final_test_error,best_test_error,"
             "best_epoch,final_train_loss,final_grad_norm,final_weight_norm,seconds,overrides\n";
    index << "runs/r0,done,0.5,0,2,2,,,,,,,,\n";
    for (int i = 1; i < 100000; ++i) {
      index << "runs/p" << i << ",pending,0." << i << "," << i << ",2,0,,,,,,,,\n";
    }
  }
  start = std::chrono::steady_clock::now();
  const auto results = rp::load_results(dir);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
  EXPECT_EQ(results.values_of("seed").size(), 100000u);
  EXPECT_EQ(results.runs.size(), 1u);
  EXPECT_EQ(results.not_finished.size(), 99999u);
}

// 7: a gnuplot that hangs is stopped, naming gnuplot and the script.
TEST(ReportHostile, AHangingGnuplotIsStoppedAndNamed) {
  const auto dir = make_sweep("report-hang", kRuns);
  const auto fake = dir + "/hanging-gnuplot";
  std::ofstream(fake) << "#!/bin/sh\nsleep 1000\n";
  fs::permissions(fake, fs::perms::owner_all);
  const auto start = std::chrono::steady_clock::now();
  const auto r = swd_test::run_swd("report " + dir + " --gnuplot " + fake + " --gnuplot-timeout 1");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "swd: error: gnuplot (" + fake + ") on ")) << r.output;
  EXPECT_TRUE(contains(r.output, ".gp: " + fake + " did not finish within 1 s")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/report.md"));
}
namespace {

TEST(Report, TheBestEpochIsChosenOnValidationWhenTheRunHasIt) {
  rp::RunResult run;
  for (const auto& [test, val] : std::vector<std::pair<double, double>>{{0.30, 0.20}, {0.20, 0.25}, {0.25, 0.15}}) {
    swd::run::EpochMetrics m;
    m.epoch = static_cast<int64_t>(run.epochs.size()) + 1;
    m.test_error = test;
    m.val_error = val;
    run.epochs.push_back(m);
  }
  // The test error at the lowest validation error (epoch 3), not the lowest test error.
  EXPECT_TRUE(rp::selected_on_validation(run));
  EXPECT_EQ(rp::measure_of(run, rp::Measure::BestTestError), 0.25);
  for (auto& m : run.epochs) m.val_error = std::nan("");
  EXPECT_FALSE(rp::selected_on_validation(run));
  EXPECT_EQ(rp::measure_of(run, rp::Measure::BestTestError), 0.20);
}

}  // namespace
