// The report's statistics on values checkable by hand: Student-t quantiles, confidence
// intervals, paired differences over seeds and their verdicts, the best weight decay with its
// uncertainty, the weight decay applied, reports of run folders, and reports that a folder of
// committed results rewrites byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "report_support.h"
#include "swd/report/compare.h"
#include "swd/report/report.h"
#include "swd/run/metrics.h"
#include "swd/sweep/runs.h"
#include "swd/util/csv.h"
#include "swd/util/process.h"

namespace fs = std::filesystem;
namespace rp = swd::report;
using swd_test::fresh_dir;
using swd_test::slurp;
using swd_test::HandRun;
using swd_test::make_sweep;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Student's t CDF at q > 0 by Simpson's rule on the density
/// Gamma((v+1)/2) / (sqrt(v pi) Gamma(v/2)) (1 + t^2/v)^(-(v+1)/2): independent of the table.
double t_cdf(double q, double v) {
  const double c = std::exp(std::lgamma((v + 1) / 2) - std::lgamma(v / 2)) / std::sqrt(v * M_PI);
  auto pdf = [&](double t) { return c * std::pow(1 + t * t / v, -(v + 1) / 2); };
  const int n = 20000;
  const double h = q / n;
  double sum = pdf(0) + pdf(q);
  for (int i = 1; i < n; ++i) sum += (i % 2 ? 4 : 2) * pdf(i * h);
  return 0.5 + sum * h / 3;
}

// Final test errors by optimizer and seed 0, 1, 2:
//   adam  0.100 0.120 0.140   adams 0.089 0.110 0.131: adams - adam = -0.011, -0.010, -0.009
//   sgd   0.100 0.120 0.140   sgds  0.110 0.110 0.150: sgds - sgd = +0.01, -0.01, +0.01
//   adamw 0.200 0.200 0.200 with weight decay 0.5 applied (0.0005 in the sweep).
std::string make_optimizer_sweep(const std::string& name) {
  const std::vector<std::pair<std::string, std::vector<double>>> errors = {
      {"adam", {0.100, 0.120, 0.140}}, {"adams", {0.089, 0.110, 0.131}},
      {"sgd", {0.100, 0.120, 0.140}},  {"sgds", {0.110, 0.110, 0.150}},
      {"adamw", {0.200, 0.200, 0.200}}};
  std::vector<HandRun> runs;
  for (const auto& [optimizer, e] : errors) {
    for (int seed = 0; seed < 3; ++seed) {
      HandRun r{{optimizer, std::to_string(seed)}, e[seed]};
      r.config = {{"dataset", "synthetic"}, {"model", "mlp-bn"}, {"optimizer", optimizer},
                  {"seed", seed}, {"weight-decay", optimizer == "adamw" ? 0.5 : 0.0005}};
      runs.push_back(r);
    }
  }
  const nlohmann::json sweep = {{"title", "hand-made"},
                                {"base", {{"model", "mlp-bn"}, {"weight-decay", 0.0005}}},
                                {"report", {{"pairs", nlohmann::json::array({nlohmann::json::array({"adams", "sgd"})})}}}};
  return make_sweep(name, {"optimizer", "seed"}, runs, sweep);
}

const rp::Comparison* find(const std::vector<rp::Comparison>& all, const std::string& a,
                           const std::string& b, rp::Measure m = rp::Measure::FinalTestError) {
  for (const auto& c : all) {
    if (c.pair.a == a && c.pair.b == b && c.measure == m) return &c;
  }
  return nullptr;
}

}  // namespace

TEST(ReportStats, TQuantilesMatchTheIntegratedDistribution) {
  // Closed forms: dof 1 (Cauchy) tan(0.475 pi), dof 2: 0.95 sqrt(2 / 0.0975).
  EXPECT_NEAR(rp::t_quantile_975(1), std::tan(0.475 * M_PI), 1e-8);
  EXPECT_NEAR(rp::t_quantile_975(2), 0.95 * std::sqrt(2 / 0.0975), 1e-8);
  for (int dof = 1; dof <= 30; ++dof) {  // the table
    EXPECT_NEAR(t_cdf(rp::t_quantile_975(dof), dof), 0.975, 1e-9) << "dof " << dof;
  }
  for (int dof : {31, 35, 50, 100, 1000, 100000}) {  // Cornish-Fisher
    EXPECT_NEAR(t_cdf(rp::t_quantile_975(dof), dof), 0.975, 1e-8) << "dof " << dof;
  }
  EXPECT_NEAR(rp::t_quantile_975(1000000000), 1.959963984540054, 1e-8);  // the normal limit
  EXPECT_TRUE(std::isnan(rp::t_quantile_975(0)));
}

TEST(ReportStats, ConfidenceIntervalOfKnownData) {
  // 1..5: mean 3, sample std sqrt(2.5), se sqrt(0.5), t(0.975, 4) = 2.776445:
  // half-width 2.776445 * 0.707107 = 1.963243.
  const auto s = rp::mean_std({1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_NEAR(s.std, std::sqrt(2.5), 1e-15);
  EXPECT_NEAR(s.lo, 3 - 1.963243, 1e-6);
  EXPECT_NEAR(s.hi, 3 + 1.963243, 1e-6);
  const auto one = rp::mean_std({7});
  EXPECT_EQ(one.n, 1);
  EXPECT_TRUE(std::isnan(one.lo) && std::isnan(one.hi) && std::isnan(one.se()));
}

TEST(ReportStats, PairedDifferencesAndVerdicts) {
  // a - b = -0.011, -0.010, -0.009: mean -0.01, std 0.001, se 0.000577, t(0.975, 2) = 4.302653,
  // CI -0.01 -+ 0.002484: below 0, so A is better, by 17.3 standard errors.
  const auto p = rp::paired({0.089, 0.110, 0.131}, {0.100, 0.120, 0.140});
  EXPECT_NEAR(p.diff.mean, -0.01, 1e-12);
  EXPECT_NEAR(p.diff.std, 0.001, 1e-12);
  EXPECT_NEAR(p.diff.lo, -0.01 - 0.0024841, 1e-7);
  EXPECT_NEAR(p.diff.hi, -0.01 + 0.0024841, 1e-7);
  EXPECT_NEAR(p.se_units(), -0.01 / (0.001 / std::sqrt(3.0)), 1e-6);
  EXPECT_EQ(rp::verdict(p, "adams", "adam", true, true), "adams better");
  EXPECT_EQ(rp::verdict(rp::paired({2, 3}, {1, 2.5}), "a", "b", true, false), "no difference detected (CI [-2.43, +3.93])");
  EXPECT_EQ(rp::verdict(rp::paired({2, 3.1, 4}, {1, 2, 3}), "a", "b", true, false), "b better");
  EXPECT_EQ(rp::verdict(rp::paired({2, 3.1, 4}, {1, 2, 3}), "a", "b", false, false), "a higher");
  EXPECT_EQ(rp::verdict(rp::paired({1}, {2}), "a", "b", true, true), "n = 1: no CI");
  // Every difference the same: a zero-width interval, infinitely many standard errors.
  const auto same = rp::paired({2, 3}, {1, 2});
  EXPECT_EQ(same.sign(), 1);
  EXPECT_TRUE(std::isinf(same.se_units()));
}

TEST(ReportStats, PairsOverSeedsInTheReport) {
  const auto dir = make_optimizer_sweep("report-paired");
  const auto r = rp::load_results(dir);
  const auto comparisons = rp::paired_comparisons(r);
  const auto* adams = find(comparisons, "adams", "adam");
  ASSERT_NE(adams, nullptr);
  EXPECT_EQ(adams->seeds, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_NEAR(adams->result.diff.mean, -0.01, 1e-12);
  EXPECT_EQ(rp::comparison_verdict(*adams), "adams better");
  // Unpaired, the two groups' intervals overlap widely (std 0.02 each): pairing decides.
  const auto& groups = r.groups;
  const auto adam_stat = groups[0].stat(r.runs, rp::Measure::FinalTestError);
  const auto adams_stat = groups[1].stat(r.runs, rp::Measure::FinalTestError);
  EXPECT_LT(adams_stat.lo, adam_stat.hi);
  // sgds - sgd = +0.01, -0.01, +0.01: mean 0.00333, std 0.011547, CI -+ 0.028684.
  const auto* sgds = find(comparisons, "sgds", "sgd");
  ASSERT_NE(sgds, nullptr);
  EXPECT_EQ(rp::comparison_verdict(*sgds), "no difference detected (CI [-2.54, +3.20])");
  EXPECT_NE(find(comparisons, "adams", "adamw"), nullptr);    // the paper's pair
  EXPECT_NE(find(comparisons, "adams", "sgd"), nullptr);      // the sweep's [report] pair
  EXPECT_EQ(find(comparisons, "amsgrads", "amsgrad"), nullptr);  // not in the sweep
  const auto* norm = find(comparisons, "adams", "adam", rp::Measure::FinalGradNorm);
  ASSERT_NE(norm, nullptr);  // grad norm = 1 + error here
  EXPECT_EQ(rp::comparison_verdict(*norm), "adams lower");

  rp::ReportOptions options;
  options.figures = false;
  rp::write_report(dir, options);
  const auto md = slurp(dir + "/report.md");
  EXPECT_TRUE(contains(md, "| adams - adam | 3 | -1.00 [-1.25, -0.75] | -17.3 | adams better |")) << md;
  EXPECT_TRUE(contains(md, "| sgds - sgd | 3 | +0.33 [-2.54, +3.20] | +0.5 | no difference detected (CI [-2.54, +3.20]) |")) << md;
  const auto paired = swd::util::parse_csv(slurp(dir + "/paired.csv"), "paired.csv");
  ASSERT_GE(paired.column("diff_ci95_lo"), 0);
  bool seen = false;
  for (const auto& row : paired.rows) {
    if (row[paired.column("a")] != "adams" || row[paired.column("b")] != "adam" ||
        row[paired.column("measure")] != "final_test_error") {
      continue;
    }
    seen = true;
    EXPECT_NEAR(std::stod(row[paired.column("diff_ci95_lo")]), -0.0124841, 1e-7);
    EXPECT_EQ(row[paired.column("seeds")], "0 1 2");
    EXPECT_EQ(row[paired.column("verdict")], "adams better");
  }
  EXPECT_TRUE(seen);
  // summary.csv: adam 0.10, 0.12, 0.14: CI 0.12 -+ 4.302653 * 0.02 / sqrt(3) = 0.12 -+ 0.049683.
  const auto summary = swd::util::parse_csv(slurp(dir + "/summary.csv"), "summary.csv");
  EXPECT_NEAR(std::stod(summary.rows[0][summary.column("final_test_error_ci95_lo")]), 0.070317, 1e-6);
  EXPECT_NEAR(std::stod(summary.rows[0][summary.column("final_test_error_ci95_hi")]), 0.169683, 1e-6);
}

TEST(ReportStats, AKeyALaterSwdAddedTakesItsDefaultInTheRunsWrittenBefore) {
  // Seed 0's runs were written by an swd without val-split; seeds 1 and 2 record it. With its
  // default (0) they did the same: one setting, not one that varies. A value other than the
  // default still differs.
  for (const int given : {0, 100}) {
    std::vector<HandRun> runs;
    for (const std::string optimizer : {"sgd", "sgds"}) {
      for (int seed = 0; seed < 3; ++seed) {
        HandRun r{{optimizer, std::to_string(seed)}, 0.1 + 0.01 * seed};
        r.config = {{"model", "mlp-bn"}, {"optimizer", optimizer}, {"seed", seed}};
        if (seed > 0) r.config["val-split"] = given;
        runs.push_back(r);
      }
    }
    const auto dir = make_sweep("report-later-key-" + std::to_string(given), {"optimizer", "seed"}, runs,
                                {{"title", "t"}});
    const auto results = rp::load_results(dir);
    std::set<std::string> values;
    for (const auto& run : results.runs) values.insert(rp::setting_of(run.settings, "val-split"));
    if (given == 0) {
      EXPECT_EQ(values, (std::set<std::string>{"0"}));
    } else {
      EXPECT_EQ(values, (std::set<std::string>{"0", "100"}));
    }
  }
}

TEST(ReportStats, SharedSettingsAndTheWeightDecayApplied) {
  const auto dir = make_optimizer_sweep("report-settings");
  rp::ReportOptions options;
  options.figures = false;
  rp::write_report(dir, options);
  const auto md = slurp(dir + "/report.md");
  EXPECT_TRUE(contains(md, "## Settings shared by every run")) << md;
  EXPECT_TRUE(contains(md, "| model | mlp-bn |")) << md;
  EXPECT_TRUE(contains(md, "| epochs | 2 |")) << md;
  EXPECT_TRUE(contains(md, "| weight-decay | 0.0005 |")) << md;  // as named; adamw's applied is noted
  EXPECT_FALSE(contains(md, "| out |")) << md;  // where a run was written is no setting
  EXPECT_TRUE(contains(md, "- adamw: weight decay 0.0005 as named, 0.5 applied")) << md;
  EXPECT_TRUE(contains(md, "20.00 (0.00) [20.00, 20.00] (wd 0.5 applied)")) << md;
  std::vector<std::string> notes;
  for (const auto& f : rp::plan_figures(rp::load_results(dir), notes)) {
    for (const auto& s : f.series) {
      if (s.label.rfind("adamw", 0) == 0) {
        EXPECT_EQ(s.label, "adamw (weight decay applied: 0.5)") << f.name;
      }
      if (f.name.rfind("curves-", 0) == 0) {  // min-max band over the 3 seeds
        ASSERT_EQ(s.band_lo.size(), s.y.size()) << f.name;
      }
    }
  }
}

TEST(ReportStats, BestWeightDecayWithItsUncertainty) {
  // Per length and weight decay, errors for seeds 0, 1, 2:
  //   2 epochs:  wd 0 -> .20 .21 .22   wd 1e-3 -> .15 .16 .17   wd 1e-2 -> .16 .17 .18
  //   8 epochs:  wd 0 -> .10 .11 .12   wd 1e-3 -> .30 .31 .32   wd 1e-2 -> .40 .41 .42
  // At 2 epochs 1e-3 is best (CI .16 -+ .0248); 1e-2's interval (.17 -+ .0248) overlaps it,
  // but paired over seeds 1e-2 is worse by .01 every time: detectably worse, as is 0
  // (wd 0 - best = +.05 each seed: zero spread, infinitely many standard errors). At 8 epochs
  // wd 0 is the best.
  const std::map<std::pair<int, std::string>, double> base = {
      {{2, "0"}, .20}, {{2, "0.001"}, .15}, {{2, "0.01"}, .16},
      {{8, "0"}, .10}, {{8, "0.001"}, .30}, {{8, "0.01"}, .40}};
  std::vector<HandRun> runs;
  for (const auto& [key, error] : base) {
    for (int seed = 0; seed < 3; ++seed) {
      runs.push_back({{std::to_string(key.first), key.second, std::to_string(seed)}, error + 0.01 * seed});
    }
  }
  const auto dir = make_sweep("report-best-wd", {"epochs", "weight-decay", "seed"}, runs, {{"title", "t"}});
  const auto best = rp::best_weight_decay_per_length(rp::load_results(dir));
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].epochs, "2");
  EXPECT_EQ(best[0].weight_decay, "0.001");
  EXPECT_EQ(best[0].not_worse, (std::vector<std::string>{"0.001"}));
  EXPECT_EQ(best[0].smallest, "0");
  EXPECT_NEAR(best[0].smallest_minus_best.diff.mean, 0.05, 1e-12);
  EXPECT_EQ(best[0].smallest_minus_best.sign(), 1);
  EXPECT_EQ(best[1].weight_decay, "0");
  EXPECT_EQ(best[1].not_worse, (std::vector<std::string>{"0"}));
  EXPECT_EQ(best[1].smallest_minus_best.diff.n, 0);
  rp::ReportOptions options;
  options.figures = false;
  rp::write_report(dir, options);
  const auto md = slurp(dir + "/report.md");
  EXPECT_TRUE(contains(md, "| all runs | 2 | 0.001 | 16.00 (1.00) [13.52, 18.48] | 0.001 | +5.00 [+5.00, +5.00] | +inf |")) << md;
  EXPECT_TRUE(contains(md, "| all runs | 8 | 0 | 11.00 (1.00) [8.52, 13.48] | 0 | (is the best) | - |")) << md;
}

TEST(ReportStats, ReportOfRunFolders) {
  const auto sweep = make_optimizer_sweep("report-folders-src");
  const auto out = fresh_dir("report-folders") + "/out";
  // adam and adams, seeds 0 and 1: axes optimizer and seed, from their config.json.
  const std::vector<std::string> folders = {sweep + "/runs/r0", sweep + "/runs/r1", sweep + "/runs/r3",
                                            sweep + "/runs/r4"};
  const auto r = rp::load_run_folders(folders);
  EXPECT_EQ(r.axes, (std::vector<std::string>{"optimizer", "seed"}));
  EXPECT_EQ(r.groups.size(), 2u);
  const auto comparisons = rp::paired_comparisons(r);
  const auto* adams = find(comparisons, "adams", "adam");
  ASSERT_NE(adams, nullptr);
  EXPECT_EQ(adams->result.diff.n, 2);
  std::string list;
  for (const auto& f : folders) list += " " + f;
  const auto cli = swd_test::run_swd("report --no-figures" + list + " --out " + out);
  EXPECT_EQ(cli.status, 0) << cli.output;
  EXPECT_TRUE(contains(slurp(out + "/report.md"), "| adams - adam | 2 |")) << slurp(out + "/report.md");
  EXPECT_TRUE(fs::exists(out + "/paired.csv"));
  const auto no_out = swd_test::run_swd("report --no-figures" + list);
  EXPECT_EQ(no_out.status, 2) << no_out.output;
  EXPECT_TRUE(contains(no_out.output, "needs --out DIR")) << no_out.output;
  const auto missing = swd_test::run_swd("report --no-figures " + sweep + " " + sweep + "/runs --out " + out);
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "has no config.json")) << missing.output;
}

namespace {

/// Copies what a committed results folder keeps (runs.csv, sweep.json, and each run's
/// config.json, metrics.csv, run.json, exit.json) from `from` into a fresh folder.
std::string committed_copy(const std::string& from, const std::string& name) {
  const auto to = fresh_dir(name);
  for (const char* f : {"runs.csv", "sweep.json", "time.txt"}) {
    if (fs::exists(from + "/" + f)) fs::copy_file(from + "/" + f, to + "/" + f);
  }
  for (const auto& run : fs::directory_iterator(from + "/runs")) {
    const auto dest = to + "/runs/" + run.path().filename().string();
    fs::create_directories(dest);
    for (const char* f : {"config.json", "metrics.csv", "run.json", "exit.json"}) {
      if (fs::exists(run.path() / f)) fs::copy_file(run.path() / f, dest + "/" + f);
    }
  }
  return to;
}

void expect_same_report(const std::string& a, const std::string& b) {
  for (const char* f : {"report.md", "summary.csv", "paired.csv"}) {
    EXPECT_EQ(slurp(a + "/" + f), slurp(b + "/" + f)) << f << " of " << a << " and " << b;
  }
  if (!fs::exists(a + "/figures")) return;
  // The same files (the formats asked for, no more), and gnuplot's input byte for byte.
  const auto names = [](const std::string& folder) {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(folder)) out.insert(entry.path().filename().string());
    return out;
  };
  EXPECT_EQ(names(a + "/figures"), names(b + "/figures")) << a << " and " << b;
  for (const auto& entry : fs::directory_iterator(a + "/figures")) {
    const auto ext = entry.path().extension();
    if (ext != ".dat" && ext != ".gp") continue;  // PNG and SVG: gnuplot's bytes, not ours
    const auto name = entry.path().filename().string();
    EXPECT_EQ(slurp(entry.path().string()), slurp(b + "/figures/" + name)) << name;
  }
}

}  // namespace

namespace {

/// adam, adams and adamw, seeds 0..2, lr 0.001; adamw given 0.5 (= 5e-4 / lr); records of the
/// start (provenance, threads, progress, out) differ in every run. `sweep_doc` goes to sweep.json.
std::string make_recorded_sweep(const std::string& name, const std::vector<std::string>& optimizers,
                                const nlohmann::json& sweep_doc) {
  const std::map<std::string, std::vector<double>> errors = {
      {"adam", {0.100, 0.120, 0.140}}, {"adams", {0.089, 0.110, 0.131}}, {"adamw", {0.099, 0.121, 0.139}}};
  std::vector<HandRun> runs;
  int i = 0;
  for (const auto& optimizer : optimizers) {
    for (int seed = 0; seed < 3; ++seed, ++i) {
      HandRun r{{optimizer, std::to_string(seed)}, errors.at(optimizer)[seed]};
      r.config = {{"model", "mlp-bn"}, {"optimizer", optimizer}, {"seed", seed}, {"lr", 0.001},
                  {"weight-decay", optimizer == "adamw" ? 0.5 : 0.0005}, {"threads", 1 + i % 2},
                  {"momentum", 0.0}, {"eps", 1e-8},
                  {"progress", i % 2 ? "bar" : "line"}, {"log-every", i}, {"workers", i},
                  {"provenance", nlohmann::json::array({{{"start_time", "2026-01-0" + std::to_string(i)}}})}};
      runs.push_back(r);
    }
  }
  return make_sweep(name, {"optimizer", "seed"}, runs, sweep_doc);
}

}  // namespace

TEST(ReportStats, RunFoldersGroupByTheirSettingsNotTheirRecords) {
  const auto sweep = make_recorded_sweep("report-records", {"adam", "adams", "adamw"}, nlohmann::json::object());
  // The runs outside their sweep, as `swd train` leaves them.
  const auto flat = fresh_dir("report-records-flat");
  std::vector<std::string> folders;
  for (int i = 0; i < 9; ++i) {
    const auto to = flat + "/run" + std::to_string(i);
    fs::copy(sweep + "/runs/r" + std::to_string(i), to, fs::copy_options::recursive);
    folders.push_back(to);
  }
  for (const auto& r : {rp::load_run_folders(folders), rp::load_folders({sweep + "/runs/r0", sweep + "/runs/r4", sweep + "/runs/r8"})}) {
    for (const auto& axis : r.axes) {
      EXPECT_FALSE(rp::is_record_key(axis)) << axis;
      EXPECT_NE(axis, "weight-decay");  // AdamW's 0.5 is 5e-4 / lr: an annotation, not an axis
    }
    EXPECT_EQ(r.group_axes, (std::vector<std::string>{"optimizer"}));
    for (const auto& kv : r.shared) EXPECT_FALSE(rp::is_record_key(kv.first)) << kv.first;
  }
  const auto r = rp::load_run_folders(folders);
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[2].runs.size(), 3u);
  EXPECT_EQ(rp::applied_weight_decay(r, r.groups[2]), "0.5");
  EXPECT_EQ(rp::nominal_weight_decay(r, r.groups[2]), "0.0005");
  const auto comparisons = rp::paired_comparisons(r);
  const auto* adams = find(comparisons, "adams", "adamw");
  ASSERT_NE(adams, nullptr);
  EXPECT_EQ(adams->seeds, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_NEAR(adams->result.diff.mean, -0.0096666666666666667, 1e-12);
  const auto out = fresh_dir("report-records-out");
  std::string list;
  for (const auto& f : folders) list += " " + f;
  const auto cli = swd_test::run_swd("report --no-figures" + list + " --out " + out);
  ASSERT_EQ(cli.status, 0) << cli.output;
  const auto md = slurp(out + "/report.md");
  EXPECT_FALSE(contains(md, "| provenance")) << md;  // never a setting (the notes may name it)
  EXPECT_FALSE(contains(md, "start_time")) << md;
  EXPECT_TRUE(contains(md, "| adams - adamw | 3 |")) << md;
  EXPECT_TRUE(contains(md, "(wd 0.5 applied)")) << md;
  // The answer first, then the settings that differ, the shared ones last; momentum applies
  // to none of these Adam runs and is left out, eps is kept.
  const auto answer = md.find("## The answer: each optimizer against each other");
  ASSERT_NE(answer, std::string::npos) << md;
  EXPECT_LT(answer, md.find("## Settings that differ between groups"));
  EXPECT_LT(md.find("## Settings that differ between groups"), md.find("## Tables"));
  EXPECT_LT(md.find("## Figures"), md.find("## Settings shared by every run"));
  EXPECT_TRUE(contains(md, "| adams - adamw | 3 | -0.97 [-1.35, -0.59] | 0.38 |")) << md;
  EXPECT_FALSE(contains(md, "| momentum |")) << md;
  EXPECT_TRUE(contains(md, "| eps | 1e-08 |")) << md;
}

TEST(ReportStats, SeveralSweepsAreGroupedAndPairedAcrossThem) {
  const auto a = make_recorded_sweep("report-multi-a", {"adam", "adams"}, {{"title", "A"}, {"base", {{"lr", 0.001}}}});
  const auto b = make_recorded_sweep("report-multi-b", {"adamw"},
                                     {{"title", "B"}, {"base", {{"lr", 0.001}, {"weight-decay", 0.0005}}},
                                      {"override", {{"adamw", {{"weight-decay-over-lr", true}}}}}});
  const auto r = rp::load_folders({a, b});
  EXPECT_EQ(r.title, "A + B");
  EXPECT_EQ(r.group_axes, (std::vector<std::string>{"optimizer"}));
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(rp::nominal_weight_decay(r, r.groups[2]), "0.0005");
  const auto* across = find(rp::paired_comparisons(r), "adams", "adamw");
  ASSERT_NE(across, nullptr);
  EXPECT_EQ(across->result.diff.n, 3);
  // --pair adds a comparison; a bad one is exit 2 before anything is written.
  const auto out = fresh_dir("report-multi-out");
  const auto cli = swd_test::run_swd("report --no-figures " + a + " " + b + " --out " + out + " --pair adamw,adam");
  ASSERT_EQ(cli.status, 0) << cli.output;
  EXPECT_TRUE(contains(slurp(out + "/paired.csv"), "optimizer,adamw,adam,final_test_error,3,")) << slurp(out + "/paired.csv");
  const auto bad_out = fresh_dir("report-multi-bad") + "/out";
  for (const std::string pair : {"adams", "adams,scale-rule=wd", "adams,nadam", "adams,adams"}) {
    const auto bad = swd_test::run_swd("report --no-figures " + a + " " + b + " --out " + bad_out + " --pair " + pair);
    EXPECT_EQ(bad.status, 2) << pair << ": " << bad.output;
    EXPECT_TRUE(contains(bad.output, "--pair " + pair)) << bad.output;
    EXPECT_FALSE(fs::exists(bad_out)) << pair;
  }
}

TEST(ReportRegenerable, AFolderOfCommittedResultsRewritesTheSameReport) {
  const bool figures = swd::util::find_program("gnuplot").has_value();
  rp::ReportOptions options;
  options.figures = figures;
  options.formats.gnuplot = true;  // gnuplot's input too: ours, so compared byte for byte
  const auto dir = make_optimizer_sweep("report-regen");
  rp::write_report(dir, options);
  const auto copy = committed_copy(dir, "report-regen-copy");
  rp::write_report(copy, options);
  expect_same_report(dir, copy);
  options.formats = {};  // the committed reports keep what swd report writes by default
  // Every committed results folder that keeps its runs: rewritten from them, its tables must
  // be the committed ones.
  const fs::path results = fs::path(SWD_TEST_DATA_DIR) / ".." / "docs" / "reproduction" / "results";
  if (!figures || !fs::exists(results)) return;
  for (const auto& entry : fs::recursive_directory_iterator(results)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "runs.csv") ||
        !fs::exists(entry.path() / "runs")) {
      continue;
    }
    const auto rewritten = committed_copy(entry.path().string(), "report-regen-committed");
    rp::write_report(rewritten, options);
    expect_same_report(entry.path().string(), rewritten);
  }
  // A report of several folders (claim2-paired) keeps its command in command.txt: rerun from
  // the repository root into a fresh folder, it must write the same tables.
  const fs::path root = fs::canonical(results / ".." / ".." / "..");
  for (const auto& entry : fs::directory_iterator(results)) {
    if (!fs::exists(entry.path() / "command.txt")) continue;
    std::istringstream lines(slurp((entry.path() / "command.txt").string()));
    std::string line, command;
    while (std::getline(lines, line)) {
      if (line.rfind("swd report ", 0) == 0) command = line.substr(4);
    }
    const auto out_at = command.find(" --out ");
    ASSERT_NE(out_at, std::string::npos) << entry.path() << "/command.txt has no swd report line with --out";
    const auto out_end = command.find(' ', out_at + 7);
    const auto out = fresh_dir("report-regen-command");
    command.replace(out_at, (out_end == std::string::npos ? command.size() : out_end) - out_at, " --out " + out);
    const fs::path here = fs::current_path();
    fs::current_path(root);
    const auto rerun = swd_test::run_swd(command);
    fs::current_path(here);
    ASSERT_EQ(rerun.status, 0) << command << ": " << rerun.output;
    expect_same_report(entry.path().string(), out);
  }
}
