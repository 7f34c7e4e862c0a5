// Tests fixed in advance: a sweep file's [analysis] primary tests (both forms, their checks),
// the paired t test's p-value and Holm's step-down correction (against hand-checkable cases
// and tests/golden/holm.json from tests/golden/make_holm_golden.py), and the report that
// leads with the primary tests.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "report_support.h"
#include "swd/config/config.h"
#include "swd/report/compare.h"
#include "swd/report/report.h"
#include "swd/sweep/plan.h"

namespace rp = swd::report;
namespace sw = swd::sweep;
using Json = nlohmann::ordered_json;
using swd_test::HandRun;
using swd_test::slurp;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <typename F>
std::string error_of(F make) {
  try {
    make();
  } catch (const swd::train::ConfigError& e) {
    return e.what();
  }
  return "";
}

const Json kGrid = {{"base", {{"dataset", "synthetic"}}},
                    {"grid", {{"optimizer", {"adam", "adams", "adamw"}}, {"weight-decay", {1e-3, 5e-3}},
                              {"seed", {0, 1, 2}}}},
                    {"override", {{"adamw", {{"weight-decay-over-lr", true}}}}}};

Json with_analysis(const Json& primary) {
  Json doc = kGrid;
  doc["analysis"] = {{"primary", primary}};
  return doc;
}

sw::SweepSpec parse(const Json& doc) { return sw::parse_sweep_json(doc.dump(), "s.json"); }

// Final test errors by optimizer, weight decay and seed 0, 1, 2:
//   wd 1e-3: adam .100 .120 .140, adams .120 .141 .159 (adams - adam = +.020 +.021 +.019),
//            adamw .300 .300 .300
//   wd 5e-3: adam .100 .120 .140, adams .089 .110 .131 (adams - adam = -.011 -.010 -.009),
//            adamw .079 .120 .121 (adams - adamw = +.010 -.010 +.010)
std::string make_analysis_sweep(const std::string& name, const Json& primary) {
  const std::map<std::string, std::vector<double>> errors = {
      {"adam/0.001", {0.100, 0.120, 0.140}}, {"adams/0.001", {0.120, 0.141, 0.159}},
      {"adamw/0.001", {0.300, 0.300, 0.300}}, {"adam/0.005", {0.100, 0.120, 0.140}},
      {"adams/0.005", {0.089, 0.110, 0.131}}, {"adamw/0.005", {0.079, 0.120, 0.121}}};
  std::vector<HandRun> runs;
  for (const char* optimizer : {"adam", "adams", "adamw"}) {
    for (const char* wd : {"0.001", "0.005"}) {
      for (int seed = 0; seed < 3; ++seed) {
        HandRun r{{optimizer, wd, std::to_string(seed)}, errors.at(std::string(optimizer) + "/" + wd)[seed]};
        // AdamW's runs were given weight decay / lr: the tests place them at the one named.
        const double applied = std::stod(wd) * (std::string(optimizer) == "adamw" ? 1000 : 1);
        r.config = {{"dataset", "synthetic"}, {"optimizer", optimizer}, {"seed", seed},
                    {"weight-decay", applied}};
        runs.push_back(r);
      }
    }
  }
  Json sweep = {{"title", "analysis"}, {"base", {{"dataset", "synthetic"}}}};
  if (!primary.is_null()) sweep["analysis"] = {{"primary", primary}};
  return swd_test::make_sweep(name, {"optimizer", "weight-decay", "seed"}, runs,
                              nlohmann::json::parse(sweep.dump()));
}

}  // namespace

TEST(ReportHolm, HandCheckableStepDown) {
  // m = 4: sorted 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04,
  // raised to 0.06 by the running maximum): the step-down rejects the first two at 0.05.
  const auto adjusted = rp::holm_adjust({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adjusted.size(), 4u);
  EXPECT_NEAR(adjusted[0], 0.03, 1e-15);
  EXPECT_NEAR(adjusted[1], 0.06, 1e-15);
  EXPECT_NEAR(adjusted[2], 0.06, 1e-15);
  EXPECT_NEAR(adjusted[3], 0.02, 1e-15);
  // Capped at 1; a NaN (a test without data) counts as 1 and still counts in m.
  const auto capped = rp::holm_adjust({0.6, NAN, 0.01});
  EXPECT_DOUBLE_EQ(capped[0], 1.0);
  EXPECT_DOUBLE_EQ(capped[1], 1.0);
  EXPECT_NEAR(capped[2], 0.03, 1e-15);
  EXPECT_TRUE(rp::holm_adjust({}).empty());
}

TEST(ReportHolm, PValuesAndAdjustmentMatchTheGolden) {
  // dof 2 in closed form: P(|T| >= t) = 1 - t / sqrt(2 + t^2); dof 1 (Cauchy): 1 - 2 atan(t) / pi.
  EXPECT_NEAR(rp::t_two_sided_p(0.5, 2), 1 - 0.5 / std::sqrt(2.25), 1e-14);
  EXPECT_NEAR(rp::t_two_sided_p(-3, 1), 1 - 2 * std::atan(3.0) / M_PI, 1e-14);
  EXPECT_NEAR(rp::t_two_sided_p(rp::t_quantile_975(4), 4), 0.05, 1e-9);  // the CI's edge
  EXPECT_NEAR(rp::t_two_sided_p(rp::t_quantile_975(40), 40), 0.05, 1e-8);
  EXPECT_EQ(rp::t_two_sided_p(INFINITY, 3), 0.0);
  EXPECT_TRUE(std::isnan(rp::t_two_sided_p(1, 0)));
  const auto golden = nlohmann::json::parse(slurp(std::string(SWD_TEST_DATA_DIR) + "/golden/holm.json"));
  ASSERT_GT(golden["t_two_sided_p"].size(), 50u);
  for (const auto& c : golden["t_two_sided_p"]) {
    const double expected = c["p"].get<double>();
    EXPECT_NEAR(rp::t_two_sided_p(c["t"].get<double>(), c["dof"].get<int64_t>()), expected,
                1e-12 + 1e-10 * expected)
        << "t " << c["t"] << " dof " << c["dof"];
  }
  ASSERT_GT(golden["holm"].size(), 10u);
  for (const auto& c : golden["holm"]) {
    const auto p = c["p"].get<std::vector<double>>();
    const auto adjusted = rp::holm_adjust(p);
    for (size_t i = 0; i < p.size(); ++i) {
      EXPECT_NEAR(adjusted[i], c["adjusted"][i].get<double>(), 1e-15) << c.dump();
      EXPECT_EQ(adjusted[i] <= 0.05, c["rejected_at_0.05"][i].get<bool>()) << c.dump();
    }
  }
}

TEST(SweepAnalysis, TextAndTableFormsAreOneTest) {
  const auto spec = parse(with_analysis(
      {"adams - adamw < 0 on final_test_error at weight-decay = 5e-3",
       {{"a", "adams"}, {"b", "adamw"}, {"predict", "< 0"}, {"at", {{"weight_decay", 0.001}}}},
       "adams - adam > 0 on final_grad_norm"}));
  ASSERT_EQ(spec.primary.size(), 3u);
  EXPECT_EQ(spec.primary[0].text(), "adams - adamw < 0 on final_test_error at weight-decay=0.005");
  EXPECT_EQ(spec.primary[1].text(), "adams - adamw < 0 on final_test_error at weight-decay=0.001");
  EXPECT_EQ(spec.primary[2].predicted, 1);
  EXPECT_EQ(spec.primary[2].metric, "final_grad_norm");
  // sweep.json keeps them as tables, and reads back to the same tests.
  const auto again = sw::parse_sweep_json(sw::sweep_json(spec), "sweep.json");
  ASSERT_EQ(again.primary.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(again.primary[i].text(), spec.primary[i].text());
  EXPECT_NO_THROW(sw::expand(spec));
  // Another setting than the optimizer: KEY=VALUE on both sides.
  Json doc = with_analysis({"weight-decay=5e-3 - weight-decay=0.001 < 0 at optimizer=adams"});
  EXPECT_EQ(parse(doc).primary[0].text(), "weight-decay=0.005 - weight-decay=0.001 < 0 on "
                                          "final_test_error at optimizer=adams");
}

TEST(SweepAnalysis, BadEntriesAreOneLineErrorsNamingTheEntry) {
  auto message = [](const Json& primary) {
    return error_of([&] { sw::expand(parse(with_analysis(primary))); });
  };
  const std::vector<std::pair<Json, std::string>> cases = {
      {{"adams - adamw < 0", "adams adamw < 0"}, "entry 2 \"adams adamw < 0\": no \"A - B\""},
      {{"adams - adamw << 0"}, "\"< 0\" or \"> 0\", not '<<'"},
      {{"adams - adamw < 0 on test_error"}, "unknown metric 'test_error' (expected one of final_test_error"},
      {{"adams - scale-rule=wd < 0"}, "two different settings (optimizer, scale-rule)"},
      {{"adams - adams < 0"}, "A and B are the same value adams"},
      {{"adams - nadam < 0"}, "nadam"},
      {{"adams - adamw < 0 at weight-decay"}, "'weight-decay' after \"at\" is not KEY=VALUE"},
      {{"adams - adamw < 0 at seed=1"}, "'at' cannot fix seed"},
      {{"adams - adamw < 0 at optimizer=sgd"}, "'at' cannot fix optimizer"},
      {{"adams - adamw < 0 at weight-decay=0.01"}, "no run of the grid has optimizer=adams with the 'at' settings"},
      {{"adams - sgd < 0"}, "no run of the grid has optimizer=sgd"},
      {{"adams - adamw < 0 in the end"}, "unexpected 'in'"},
      {{"adams - adamw < 0", "adams-adamw<0"}, "no \"A - B\""},
      {{"adams - adamw < 0", "adams -  adamw  <  0"}, "the same test as an earlier entry"},
      {{{{"a", "adams"}, {"b", "adamw"}}}, "a table needs a, b and predict"},
      {{{{"a", "adams"}, {"b", "adamw"}, {"predict", "negative"}}}, "predict must be \"< 0\" or \"> 0\""},
      {{{{"a", "adams"}, {"b", "adamw"}, {"predict", "<0"}, {"when", 1}}}, "unknown key 'when'"},
      {{42}, "a primary test is a string or a table"},
      {Json::array(), "expected a non-empty list of tests"},
  };
  for (const auto& [primary, expected] : cases) {
    const std::string m = message(primary);
    EXPECT_TRUE(contains(m, expected)) << primary.dump() << " gave: " << m;
    EXPECT_FALSE(contains(m, "\n")) << m;
    if (!primary.empty() && primary.size() > 0 && !contains(expected, "no run of the grid")) {
      EXPECT_TRUE(contains(m, "[analysis] primary")) << m;
    }
  }
  EXPECT_TRUE(contains(error_of([] { parse(Json{{"analysis", {{"primary", {"adams - adam < 0"}}, {"alpha", 0.01}}}}); }),
                       "unknown key 'alpha'"));
}

TEST(ReportAnalysis, APrimaryTestWithSeedsStillToRunIsAnInterimLook) {
  // Seeds 0, 1, 2 planned; adams at 5e-3 has run 0 and 1 only (its seed 2 is pending). The
  // test at 5e-3 is paired over 2 of 3 seeds: interim, whatever its interval, and Holm counts
  // it as p = 1; the complete test at 1e-3 is decided as usual.
  std::vector<HandRun> runs;
  for (const char* optimizer : {"adam", "adams"}) {
    for (const char* wd : {"0.001", "0.005"}) {
      for (int seed = 0; seed < 3; ++seed) {
        const bool adams = std::string(optimizer) == "adams";
        HandRun r{{optimizer, wd, std::to_string(seed)}, 0.1 + 0.01 * seed + (adams ? -0.02 + 0.0001 * seed : 0)};
        r.config = {{"dataset", "synthetic"}, {"optimizer", optimizer}, {"seed", seed}, {"weight-decay", std::stod(wd)}};
        if (adams && std::string(wd) == "0.005" && seed == 2) r.status = "pending";
        runs.push_back(r);
      }
    }
  }
  const Json sweep = {{"title", "interim"},
                      {"base", {{"dataset", "synthetic"}}},
                      {"analysis", {{"primary", {"adams - adam < 0 at weight-decay=0.005",
                                                 "adams - adam < 0 at weight-decay=0.001"}}}}};
  const auto dir = swd_test::make_sweep("report-interim", {"optimizer", "weight-decay", "seed"}, runs,
                                        nlohmann::json::parse(sweep.dump()));
  const auto primary = rp::primary_results(rp::load_results(dir));
  ASSERT_EQ(primary.size(), 2u);
  EXPECT_EQ(primary[0].result.diff.n, 2);
  EXPECT_TRUE(primary[0].interim());
  EXPECT_EQ(primary[0].verdict(), "interim (2 of 3 seeds)");
  EXPECT_EQ(primary[0].verdict_holm(), "interim (2 of 3 seeds)");
  EXPECT_DOUBLE_EQ(primary[0].p_holm, 1.0);
  EXPECT_FALSE(primary[1].interim());
  EXPECT_EQ(primary[1].verdict(), "supported");
  // Holm over 2 with the interim look at p = 1: the complete test's p doubles, no more.
  EXPECT_NEAR(primary[1].p_holm, 2 * primary[1].p, 1e-15);
}

TEST(ReportAnalysis, PrimaryTestsComeFirstWithHolmAdjustedVerdicts) {
  const auto dir = make_analysis_sweep(
      "report-analysis", {"adams - adam < 0 at weight-decay=5e-3", "adams - adamw < 0 at weight-decay=0.005",
                          "adams - adam < 0", "adams - adam < 0 at epochs=5"});
  const auto r = rp::load_results(dir);
  const auto primary = rp::primary_results(r);
  // The third test is open on weight decay: one result per value; the fourth matches no run.
  ASSERT_EQ(primary.size(), 5u);
  // adams - adam at 5e-3: -0.011 -0.010 -0.009: t = -0.01 / (0.001 / sqrt 3) = -17.32 on 2
  // degrees of freedom, p = 1 - 17.32 / sqrt(2 + 300) = 0.003316.
  EXPECT_EQ(primary[0].verdict(), "supported");
  EXPECT_NEAR(primary[0].p, 1 - std::sqrt(300.0) / std::sqrt(302.0), 1e-12);
  // adams - adamw at 5e-3 (AdamW's runs had 5 applied): +0.01 -0.01 +0.01, t = 0.5,
  // p = 1 - 0.5 / 1.5 = 0.6667.
  EXPECT_EQ(primary[1].verdict(), "inconclusive");
  EXPECT_NEAR(primary[1].p, 2.0 / 3, 1e-12);
  // adams - adam at 1e-3: +0.020 +0.021 +0.019: t = 34.64, p = 1 - sqrt(1200 / 1202) = 0.000832.
  EXPECT_EQ(primary[2].where(), "weight-decay=0.001");
  EXPECT_EQ(primary[2].verdict(), "contradicted");
  EXPECT_NEAR(primary[2].p, 1 - std::sqrt(1200.0 / 1202.0), 1e-12);
  EXPECT_EQ(primary[3].where(), "weight-decay=0.005");
  EXPECT_EQ(primary[4].verdict(), "no data");
  EXPECT_EQ(primary[4].result.diff.n, 0);
  // Holm over m = 5: sorted 0.000832 x5, 0.003316 x4, 0.003316 x3, 0.6667 x2 (capped at 1),
  // no data (1) x1.
  const double p1 = 1 - std::sqrt(1200.0 / 1202.0), p2 = 1 - std::sqrt(300.0 / 302.0);
  EXPECT_NEAR(primary[2].p_holm, 5 * p1, 1e-12);
  EXPECT_NEAR(primary[0].p_holm, 4 * p2, 1e-12);
  EXPECT_NEAR(primary[3].p_holm, 4 * p2, 1e-12);
  EXPECT_DOUBLE_EQ(primary[1].p_holm, 1.0);
  EXPECT_DOUBLE_EQ(primary[4].p_holm, 1.0);
  EXPECT_EQ(primary[0].holm_m, 5u);
  EXPECT_EQ(primary[0].verdict_holm(), "supported");
  EXPECT_EQ(primary[2].verdict_holm(), "contradicted");
  EXPECT_EQ(primary[1].verdict_holm(), "inconclusive");

  // swd report: the primary tests first, on stdout and in report.md, then the rest as exploratory.
  const auto run = swd_test::run_swd("report " + dir + " --no-figures");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_LT(run.output.find("primary: adams - adam < 0 on final_test_error at weight-decay=0.005: "
                            "-1.00 [-1.25, -0.75] pp (n = 3, SE 0.06, p 0.0033): supported; Holm "
                            "over 5 tests: p 0.0133, supported"),
            run.output.find("report: "))
      << run.output;
  const auto md = slurp(dir + "/report.md");
  const auto primary_at = md.find("## The answer: primary comparisons (fixed in advance)");
  ASSERT_NE(primary_at, std::string::npos) << md;
  EXPECT_LT(primary_at, md.find("**Exploratory.**"));
  EXPECT_LT(md.find("**Exploratory.**"), md.find("## Settings shared by every run"));
  EXPECT_TRUE(contains(md, "Holm's step-down correction (Holm 1979) adjusts the p-values for the 5 primary tests"));
  EXPECT_TRUE(contains(md, "| adams - adam < 0 (final_test_error) | weight-decay=0.001 | 3 | +2.00 [+1.75, +2.25] pp "
                           "| 0.06 | 0.25 | 0.0008 | **contradicted** | 0.0042 | **contradicted** |"))
      << md;
  EXPECT_TRUE(contains(md, "| adams - adam < 0 (final_test_error) | epochs=5 | 0 | - | - | - | - | **no data** | - | **no data** |"))
      << md;
  const auto csv = swd::util::parse_csv(slurp(dir + "/primary.csv"), "primary.csv");
  ASSERT_EQ(csv.rows.size(), 5u);
  EXPECT_EQ(csv.rows[1][csv.column("verdict")], "inconclusive");
  EXPECT_NEAR(std::stod(csv.rows[0][csv.column("p_holm")]), 4 * p2, 1e-12);

  // Without [analysis]: no primary section, no primary.csv.
  const auto plain = make_analysis_sweep("report-analysis-none", nullptr);
  rp::ReportOptions options;
  options.figures = false;
  rp::write_report(plain, options);
  EXPECT_FALSE(contains(slurp(plain + "/report.md"), "primary comparisons (fixed in advance)"));
  EXPECT_FALSE(std::filesystem::exists(plain + "/primary.csv"));
}

TEST(ReportAnalysis, ARunRepeatedInAnotherSweepCountsOnce) {
  // Two sweeps reported together share an arm: adams at 1e-3, seeds 0 to 2, the same settings
  // in both (one of them reran it with another final error for seed 1). Each seed is paired
  // once, with the run given first; the repeats are named in report.md.
  auto runs_of = [](const char* optimizer, std::vector<double> errors) {
    std::vector<HandRun> runs;
    for (int seed = 0; seed < 3; ++seed) {
      HandRun r{{optimizer, "0.001", std::to_string(seed)}, errors[seed]};
      r.config = {{"dataset", "synthetic"}, {"optimizer", optimizer}, {"seed", seed}, {"weight-decay", 1e-3}};
      runs.push_back(r);
    }
    return runs;
  };
  auto first = runs_of("adam", {0.100, 0.120, 0.140});
  for (auto& r : runs_of("adams", {0.089, 0.110, 0.131})) first.push_back(r);
  auto second = runs_of("adams", {0.089, 0.150, 0.131});
  for (auto& r : runs_of("adamw", {0.300, 0.300, 0.300})) second.push_back(r);
  const Json sweep = {{"title", "shared arm"}, {"base", {{"dataset", "synthetic"}}}};
  const std::vector<std::string> axes = {"optimizer", "weight-decay", "seed"};
  const auto a = swd_test::make_sweep("report-repeat-a", axes, first, nlohmann::json::parse(sweep.dump()));
  const auto b = swd_test::make_sweep("report-repeat-b", axes, second, nlohmann::json::parse(sweep.dump()));
  const auto r = rp::load_run_folders({a, b});
  EXPECT_EQ(r.runs.size(), 9u);
  EXPECT_EQ(r.total_runs, 9u);
  ASSERT_EQ(r.repeats.size(), 3u);
  EXPECT_TRUE(contains(r.repeats[0], b + "/runs/r0 repeats " + a + "/runs/r3 (the same settings and seed; "
                                     "the same final test error)")) << r.repeats[0];
  EXPECT_TRUE(contains(r.repeats[1], "final test error 11.00% there, 15.00% here")) << r.repeats[1];
  bool found = false;
  for (const auto& c : rp::paired_comparisons(r)) {
    if (c.pair.a != "adams" || c.pair.b != "adam" || c.measure != rp::Measure::FinalTestError) continue;
    found = true;
    EXPECT_EQ(c.result.diff.n, 3);
    EXPECT_EQ(c.seeds, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_NEAR(c.result.diff.mean, -0.01, 1e-12);  // the first-given adams runs, not the rerun
  }
  EXPECT_TRUE(found);
  const auto out = swd_test::fresh_dir("report-repeat-out");
  const auto run = swd_test::run_swd("report " + a + " " + b + " --no-figures --out " + out);
  ASSERT_EQ(run.status, 0) << run.output;
  const auto md = slurp(out + "/report.md");
  EXPECT_TRUE(contains(md, "9 of 9 runs finished")) << md;
  EXPECT_TRUE(contains(md, "Repeats of an earlier run, counted once (as the run given first):")) << md;
}

TEST(ReportAnalysis, ASettingAnOverrideSetsStillSeparatesRunsOfTwoSweeps) {
  // Sweep b sets warm-up 0.5 for adams and 0 for adamw (by override, not a grid column);
  // sweep a runs adam and adams without warm-up. Reported together, adams with and without
  // warm-up are two groups (warmup-epochs is an axis), not one run counted twice per seed, and
  // --pair finds them however their values are spelled (0 for the runs' 0.0).
  auto runs_of = [](const char* optimizer, double warmup, double error) {
    std::vector<HandRun> runs;
    for (int seed = 0; seed < 3; ++seed) {
      HandRun r{{optimizer, std::to_string(seed)}, error + 0.01 * seed};
      r.config = {{"dataset", "synthetic"}, {"optimizer", optimizer}, {"seed", seed}, {"warmup-epochs", warmup}};
      runs.push_back(r);
    }
    return runs;
  };
  auto first = runs_of("adam", 0, 0.10);
  for (auto& r : runs_of("adams", 0, 0.09)) first.push_back(r);
  auto second = runs_of("adams", 0.5, 0.12);
  for (auto& r : runs_of("adamw", 0, 0.30)) second.push_back(r);
  const Json sweep = {{"title", "warm-up arm"}, {"base", {{"dataset", "synthetic"}}}};
  const std::vector<std::string> axes = {"optimizer", "seed"};
  const auto a = swd_test::make_sweep("report-override-a", axes, first, nlohmann::json::parse(sweep.dump()));
  const auto b = swd_test::make_sweep("report-override-b", axes, second, nlohmann::json::parse(sweep.dump()));
  auto r = rp::load_run_folders({a, b});
  EXPECT_TRUE(r.repeats.empty());
  EXPECT_EQ(r.group_axes, (std::vector<std::string>{"optimizer", "warmup-epochs"}));
  EXPECT_EQ(r.groups.size(), 4u);
  r.pairs.push_back(rp::parse_pair("warmup-epochs=0.5,warmup-epochs=0"));
  bool found = false;
  for (const auto& c : rp::paired_comparisons(r)) {
    if (c.pair.axis != "warmup-epochs" || c.measure != rp::Measure::FinalTestError) continue;
    found = true;
    EXPECT_EQ(c.rest, (std::vector<std::string>{"adams"}));
    EXPECT_EQ(c.pair.b, "0.0");
    EXPECT_EQ(c.result.diff.n, 3);
    EXPECT_NEAR(c.result.diff.mean, 0.03, 1e-12);
  }
  EXPECT_TRUE(found);
}
