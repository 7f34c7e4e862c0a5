// Sweep files to runs: expansion order, folder names, overrides, --set, and the errors.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_support.h"
#include "swd/config/config.h"
#include "swd/sweep/plan.h"

namespace sw = swd::sweep;
using swd::train::ConfigError;
using Json = nlohmann::ordered_json;  // sweep files keep their order of keys

namespace {

sw::SweepSpec parse(const Json& doc) { return sw::parse_sweep_json(doc.dump(), "test.json"); }

std::string setting(const sw::RunPlan& run, const std::string& key) {
  for (const auto& s : run.settings) {
    if (s.key == key) return sw::display_value(s.json);
  }
  return "<unset>";
}

/// The message of the ConfigError `make` throws ("" if none).
template <typename F>
std::string error_of(F make) {
  try {
    make();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const Json kPaperLike = {
    {"title", "t"},
    {"base", {{"dataset", "synthetic"}, {"lr_schedule", "step"}}},
    {"grid", {{"optimizer", {"adam", "adamw"}}, {"lr", {0.001}}, {"weight-decay", {5e-4, 1e-3}},
              {"seed", {0, 1}}}},
    {"override", {{"adamw", {{"weight-decay-over-lr", true}}}}}};

}  // namespace

TEST(SweepPlan, ExpandsTheProductLastAxisFastest) {
  const auto runs = sw::expand(parse(kPaperLike));
  ASSERT_EQ(runs.size(), 2u * 1 * 2 * 2);
  EXPECT_EQ(setting(runs[0], "optimizer"), "adam");
  EXPECT_EQ(setting(runs[0], "seed"), "0");
  EXPECT_EQ(setting(runs[1], "seed"), "1");
  EXPECT_EQ(setting(runs[2], "weight-decay"), "0.001");
  EXPECT_EQ(setting(runs[4], "optimizer"), "adamw");
  for (const auto& run : runs) {
    EXPECT_EQ(setting(run, "dataset"), "synthetic");
    EXPECT_EQ(setting(run, "lr-schedule"), "step");  // underscores become dashes
    ASSERT_EQ(run.point.size(), 4u);
    EXPECT_EQ(run.point[0].key, "optimizer");
    EXPECT_EQ(run.epochs, swd::train::TrainConfig().epochs);  // the default, resolved
  }
}

TEST(SweepPlan, FolderNamesAreReadableUniqueAndStable) {
  const auto runs = sw::expand(parse(kPaperLike));
  std::set<std::string> folders;
  for (const auto& run : runs) folders.insert(run.folder);
  EXPECT_EQ(folders.size(), runs.size());
  // The axes with several values, in grid order; lr has one value and is left out.
  EXPECT_EQ(runs[5].folder.rfind("runs/optimizer=adamw_weight-decay=0.0005_seed=1-", 0), 0u)
      << runs[5].folder;
  EXPECT_EQ(sw::expand(parse(kPaperLike))[5].folder, runs[5].folder);
  // Another base setting is another run: another folder.
  Json changed = kPaperLike;
  changed["base"]["batch-size"] = 64;
  EXPECT_NE(sw::expand(parse(changed))[5].folder, runs[5].folder);
  // Threads do not change a run's numbers' identity: same folder.
  Json threads = kPaperLike;
  threads["base"]["threads"] = 3;
  EXPECT_EQ(sw::expand(parse(threads))[5].folder, runs[5].folder);
}

TEST(SweepPlan, AdamwWeightDecayOverLrIsDerivedNotTyped) {
  const auto runs = sw::expand(parse(kPaperLike));
  EXPECT_EQ(setting(runs[0], "weight-decay"), "0.0005");  // adam: lambda itself
  const auto& adamw = runs[4];                            // lambda 5e-4, lr 1e-3
  const auto wd = Json::parse(sw::run_json(adamw))["weight-decay"].get<double>();
  EXPECT_DOUBLE_EQ(wd, 5e-4 / 1e-3);
  ASSERT_EQ(adamw.overridden.size(), 1u);
  EXPECT_EQ(adamw.overridden[0].key, "weight-decay");
  // The grid point keeps the lambda the sweep was written with.
  EXPECT_EQ(sw::display_value(adamw.point[2].json), "0.0005");
  EXPECT_TRUE(runs[0].overridden.empty());
}

TEST(SweepPlan, WeightDecayOverLrTakesTheOptimizersDefaultLr) {
  // No lr anywhere: adamw's default lr is 1e-3, sgdw's 0.1; no weight-decay: lambda 5e-4.
  const Json doc = {{"grid", {{"optimizer", {"adamw", "sgdw"}}, {"weight-decay", {1e-4}}}},
                    {"override", {{"adamw", {{"weight-decay-over-lr", true}}},
                                  {"sgdw", {{"weight-decay-over-lr", true}}}}}};
  const auto runs = sw::expand(parse(doc));
  EXPECT_DOUBLE_EQ(Json::parse(sw::run_json(runs[0]))["weight-decay"].get<double>(), 1e-4 / 1e-3);
  EXPECT_DOUBLE_EQ(Json::parse(sw::run_json(runs[1]))["weight-decay"].get<double>(), 1e-4 / 0.1);
  const Json no_wd = {{"grid", {{"optimizer", {"adamw"}}}},
                      {"override", {{"adamw", {{"weight-decay-over-lr", true}}}}}};
  EXPECT_DOUBLE_EQ(Json::parse(sw::run_json(sw::expand(parse(no_wd))[0]))["weight-decay"].get<double>(),
                   5e-4 / 1e-3);
}

TEST(SweepPlan, EachRunKnowsItsResolvedLrAndWeightDecay) {
  // As swd train resolves them (train::resolve_hyper): over-lr, defaults and the batch rule.
  const Json doc = {{"base", {{"batch-size", 256}, {"scale-rule", "wd"}}},
                    {"grid", {{"optimizer", {"adamw", "sgds"}}, {"weight-decay", {1e-4}}}},
                    {"override", {{"adamw", {{"weight-decay-over-lr", true}}}}}};
  const auto runs = sw::expand(parse(doc));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_DOUBLE_EQ(runs[0].lr, 1e-3);
  EXPECT_DOUBLE_EQ(runs[0].weight_decay, 1e-4 / 1e-3 * 2);  // k = 256 / 128
  EXPECT_NE(runs[0].weight_decay_from.find("0.0001 / lr (weight-decay-over-lr) x 2"), std::string::npos)
      << runs[0].weight_decay_from;
  EXPECT_DOUBLE_EQ(runs[1].lr, 0.1);
  EXPECT_DOUBLE_EQ(runs[1].weight_decay, 2e-4);
  // weight-decay-over-lr is the overrides' (the sweep divides); elsewhere it is an error.
  for (const char* table : {"base", "set"}) {
    const Json bad = {{table, {{"weight-decay-over-lr", true}}}};
    EXPECT_NE(error_of([&] { parse(bad); }).find("belongs in an [override.NAME] table"), std::string::npos)
        << table;
  }
}

TEST(SweepPlan, ReportPairsAreKeptInSweepJson) {
  Json doc = kPaperLike;
  doc["report"]["pairs"] = Json::array({Json::array({"adam", "adamw"}), Json::array({"lr=0.001", "lr=0.01"})});
  const auto spec = parse(doc);
  ASSERT_EQ(spec.report_pairs.size(), 2u);
  EXPECT_EQ(spec.report_pairs[1].first, "lr=0.001");
  const auto written = Json::parse(sw::sweep_json(spec));
  EXPECT_EQ(written["report"]["pairs"][0], Json({"adam", "adamw"}));
  EXPECT_EQ(sw::match_of("scale_rule=wd"), (std::pair<std::string, std::string>{"scale-rule", "wd"}));
  EXPECT_EQ(sw::match_of("adams"), (std::pair<std::string, std::string>{"optimizer", "adams"}));
}

TEST(SweepPlan, OverridesMatchAnyKeyAndClashesAreErrors) {
  Json doc = {{"grid", {{"model", {"mlp", "cnn"}}, {"optimizer", {"sgd", "adams"}}}},
              {"override", {{"model=cnn", {{"lr", 0.05}}}, {"sgd", {{"momentum", 0.5}}}}}};
  const auto runs = sw::expand(parse(doc));
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(setting(runs[0], "lr"), "<unset>");  // mlp, sgd
  EXPECT_EQ(setting(runs[0], "momentum"), "0.5");
  EXPECT_EQ(setting(runs[2], "lr"), "0.05");     // cnn, sgd
  EXPECT_EQ(setting(runs[3], "momentum"), "<unset>");
  doc["override"]["sgd"]["lr"] = 0.2;  // cnn + sgd: two overrides set lr differently
  EXPECT_NE(error_of([&] { sw::expand(parse(doc)); }).find("both set lr"), std::string::npos);
}

TEST(SweepPlan, SetForcesOneValueEverywhere) {
  auto spec = parse(kPaperLike);
  sw::force_setting(spec, "seed=7");
  sw::force_setting(spec, "limit_batches=2");
  sw::force_setting(spec, "milestones=1,2");  // not JSON: read as text, as swd train would
  const auto runs = sw::expand(spec);
  ASSERT_EQ(runs.size(), 4u);  // the seed axis is gone
  for (const auto& run : runs) {
    EXPECT_EQ(setting(run, "seed"), "7");
    EXPECT_EQ(setting(run, "limit-batches"), "2");
    EXPECT_EQ(swd::train::config_from_json(sw::run_json(run)).milestones,
              (std::vector<double>{1, 2}));
  }
  EXPECT_NE(error_of([&] { sw::force_setting(spec, "seed"); }).find("KEY=VALUE"), std::string::npos);
  EXPECT_NE(error_of([&] { sw::force_setting(spec, "epochs=-1"); }).find("epochs"), std::string::npos);
  sw::force_setting(spec, "milestones=3");  // the runs have 3 epochs: after the last one
  EXPECT_NE(error_of([&] { sw::expand(spec); }).find(": invalid milestones 3 (expected"), std::string::npos);
}

TEST(SweepPlan, BadFilesNameTheKeyOrValue) {
  auto message = [](const Json& doc) { return error_of([&] { sw::expand(parse(doc)); }); };
  EXPECT_NE(message({{"epochs", 3}}).find("unknown sweep key 'epochs'"), std::string::npos);
  EXPECT_NE(message({{"base", {{"learning-rate", 0.1}}}}).find("'learning-rate'"), std::string::npos);
  EXPECT_NE(message({{"grid", {{"optimzer", {"sgd"}}}}}).find("'optimzer'"), std::string::npos);
  EXPECT_NE(message({{"grid", {{"optimizer", {"sgd", "nadam"}}}}}).find("nadam"), std::string::npos);
  EXPECT_NE(message({{"grid", {{"seed", 3}}}}).find("non-empty list"), std::string::npos);
  EXPECT_NE(message({{"grid", {{"seed", {1, 1}}}}}).find("lists 1 twice"), std::string::npos);
  EXPECT_NE(message({{"base", {{"seed", 1}}}, {"grid", {{"seed", {2}}}}}).find("both in [base] and [grid]"),
            std::string::npos);
  EXPECT_NE(message({{"base", {{"out", "x"}}}}).find("chosen by the sweep"), std::string::npos);
  EXPECT_NE(message({{"override", {{"adamW", {{"lr", 0.1}}}}}}).find("adamW"), std::string::npos);
  EXPECT_NE(message({{"override", {{"adamw", {{"weight-decay-over-lr", true}}}}},
                     {"grid", {{"optimizer", {"adamw"}}, {"lr", {0}}}}})
                .find("needs an lr > 0"),
            std::string::npos);
  auto report = [&](const Json& pairs) { return message({{"report", {{"pairs", pairs}}}}); };
  EXPECT_NE(report(Json::array({Json::array({"adams"})})).find("is not a pair of names"), std::string::npos);
  EXPECT_NE(report(Json::array({Json::array({"adams", "scale-rule=wd"})})).find("two values of one setting"),
            std::string::npos);
  EXPECT_NE(report(Json::array({Json::array({"adams", "adams"})})).find("two values of one setting"),
            std::string::npos);
  EXPECT_NE(report(Json::array({Json::array({"adams", "nadam"})})).find("nadam"), std::string::npos);
  EXPECT_NE(message({{"report", {{"pairz", Json::array()}}}}).find("unknown key 'pairz'"), std::string::npos);
}

TEST(SweepPlan, TomlAndJsonFilesGiveTheSameRuns) {
  const auto dir = swd_test::fresh_dir("sweep-plan");
  {
    std::ofstream toml(dir + "/s.toml");
    toml << "title = \"t\"\n[base]\ndataset = \"synthetic\"\nlr_schedule = \"step\"\n"
            "[grid]\noptimizer = [\"adam\", \"adamw\"]\nlr = [0.001]\nweight-decay = [5e-4, 1e-3]\n"
            "seed = [0, 1]\n[override.adamw]\nweight-decay-over-lr = true\n";
    std::ofstream json(dir + "/s.json");
    json << kPaperLike.dump(2);
  }
  const auto a = sw::expand(sw::read_sweep_file(dir + "/s.toml"));
  const auto b = sw::expand(sw::read_sweep_file(dir + "/s.json"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].folder, b[i].folder);
    EXPECT_EQ(sw::run_json(a[i]), sw::run_json(b[i]));
  }
  std::ofstream(dir + "/bad.toml") << "[grid]\nseed = [0, 1\n";
  EXPECT_NE(error_of([&] { sw::read_sweep_file(dir + "/bad.toml"); }).find("not valid TOML"),
            std::string::npos);
}

// Issue "Reliability, round three", 5: a huge grid is linear up to the limit, refused at once
// past it (before any run is made).
TEST(SweepPlan, LargeGridsExpandInLinearTimeAndHugeOnesAreRefusedAtOnce) {
  Json seeds = Json::array(), lrs = Json::array();
  for (int i = 0; i < 1000; ++i) seeds.push_back(i);
  for (int i = 1; i <= 1000; ++i) lrs.push_back(i * 1e-4);
  auto start = std::chrono::steady_clock::now();
  const auto message = error_of([&] {
    sw::expand(parse({{"base", {{"dataset", "synthetic"}}}, {"grid", {{"seed", seeds}, {"lr", lrs}}}}));
  });
  EXPECT_NE(message.find("the grid has 1000000 runs (1000 seed x 1000 lr), more than the limit of 100000"),
            std::string::npos) << message;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
  Json many = Json::array();
  for (int i = 0; i < 100000; ++i) many.push_back(i);
  start = std::chrono::steady_clock::now();
  const auto runs = sw::expand(parse({{"base", {{"dataset", "synthetic"}}}, {"grid", {{"seed", many}}}}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
  ASSERT_EQ(runs.size(), 100000u);
  EXPECT_EQ(setting(runs.back(), "seed"), "99999");
  // A value given twice is still found among many.
  many.push_back(5);
  EXPECT_NE(error_of([&] { parse({{"grid", {{"seed", many}}}}); }).find("seed lists 5 twice"),
            std::string::npos);
}
