// The configuration table: flags, config files, config.json, optimizer names and defaults.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "swd/config/config.h"
#include "swd/data/dataset.h"
#include "swd/models/models.h"
#include "swd/run/metrics.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"
#include "swd/train/optimizer_factory.h"
#include "swd/train/progress.h"
#include "test_util.h"

namespace st = swd::train;
namespace fs = std::filesystem;

namespace {

using swd_test::error_of;

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = fs::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(TrainConfig, ValuesParseAndBadOnesAreNamed) {
  st::TrainConfig c;
  st::set_config_value(c, "lr", "0.01");
  st::set_config_value(c, "betas", "0.8,0.99");
  st::set_config_value(c, "milestones", "3,6");
  st::set_config_value(c, "weight_decay", "1e-3");  // underscores work too
  EXPECT_DOUBLE_EQ(*c.lr, 0.01);
  EXPECT_DOUBLE_EQ(std::get<0>(*c.betas), 0.8);
  EXPECT_EQ(c.milestones, (std::vector<double>{3, 6}));
  EXPECT_DOUBLE_EQ(*c.weight_decay, 1e-3);
  auto bad = [&](const std::string& key, const std::string& value) {
    return error_of([&] { st::set_config_value(c, key, value); });
  };
  EXPECT_NE(bad("lr", "fast").find("fast"), std::string::npos);
  EXPECT_NE(bad("lr", "-1").find("lr"), std::string::npos);
  EXPECT_NE(bad("epochs", "0").find("epochs"), std::string::npos);
  EXPECT_NE(bad("betas", "0.9").find("B1,B2"), std::string::npos);
  EXPECT_NE(bad("optimizer", "lion").find("lion"), std::string::npos);
  EXPECT_NE(bad("model", "resnet50").find("resnet50"), std::string::npos);
  EXPECT_NE(bad("learning-rate", "0.1").find("learning-rate"), std::string::npos);
}

TEST(TrainConfig, JsonRoundTrip) {
  st::TrainConfig c;
  c.optimizer = "sgds";
  c.lr = 0.05;
  c.milestones = {2, 4};
  c.augment = true;
  const auto back = st::config_from_json(st::config_to_json(c));
  EXPECT_EQ(st::config_to_json(back), st::config_to_json(c));
  EXPECT_EQ(back.optimizer, "sgds");
  EXPECT_FALSE(back.weight_decay.has_value());
}

TEST(TrainConfig, TomlAndJsonFiles) {
  st::TrainConfig c;
  st::apply_config_file(c, write_temp("a.toml", "optimizer = \"adamw\"\nlr = 0.002\n"
                                               "milestones = [1, 2]\nno-decay-bias-norm = true\n"));
  EXPECT_EQ(c.optimizer, "adamw");
  EXPECT_DOUBLE_EQ(*c.lr, 0.002);
  EXPECT_EQ(c.milestones, (std::vector<double>{1, 2}));
  EXPECT_TRUE(c.no_decay_bias_norm);
  st::apply_config_file(c, write_temp("b.json", R"({"epochs": 7, "betas": [0.5, 0.9]})"));
  EXPECT_EQ(c.epochs, 7);
  EXPECT_DOUBLE_EQ(std::get<1>(*c.betas), 0.9);
  const auto unknown = error_of(
      [&] { st::apply_config_file(c, write_temp("c.toml", "optimiser = \"adams\"\n")); });
  EXPECT_NE(unknown.find("optimiser"), std::string::npos) << unknown;
  const auto broken = error_of([&] { st::apply_config_file(c, write_temp("d.json", "{oops")); });
  EXPECT_NE(broken.find("JSON"), std::string::npos) << broken;
  // Non-ASCII outside strings (which the TOML parser mishandles; found by fuzzing) is
  // refused with its line; inside strings and comments it is fine.
  for (const char* bad : {"\n\xef\xb3\xbf", "\n\xcf\x9b"}) {
    const auto hostile = error_of([&] { st::apply_config_file(c, write_temp("e.toml", bad)); });
    EXPECT_NE(hostile.find("non-ASCII"), std::string::npos) << hostile;
    EXPECT_NE(hostile.find("line 2"), std::string::npos) << hostile;
  }
  st::apply_config_file(c, write_temp("f.toml", "# r\xc3\xa9sum\xc3\xa9\ndata-dir = \"/data/jos\xc3\xa9\"\n"));
  EXPECT_EQ(c.data_dir, "/data/jos\xc3\xa9");
}

TEST(OptimizerNames, MapOntoFamilyAndDecay) {
  using swd::optim::Decay;
  EXPECT_EQ(st::parse_optimizer_name("adams").decay, Decay::Stable);
  EXPECT_EQ(st::parse_optimizer_name("adamw").decay, Decay::Decoupled);
  EXPECT_EQ(st::parse_optimizer_name("adam").decay, Decay::L2);
  EXPECT_TRUE(st::parse_optimizer_name("amsgrads").amsgrad);
  EXPECT_EQ(st::parse_optimizer_name("amsgrads").decay, Decay::Stable);
  EXPECT_EQ(st::parse_optimizer_name("sgds").family, "sgd");
  EXPECT_EQ(st::parse_optimizer_name("adais").family, "adai");
  EXPECT_EQ(st::optimizer_names().size(), 10u);
  EXPECT_NE(error_of([] { st::parse_optimizer_name("adamx"); }).find("adamx"), std::string::npos);
}

TEST(OptimizerNames, DefaultsFollowThePaper) {
  const auto adams = st::default_hyper("adams");
  EXPECT_DOUBLE_EQ(adams.lr, 1e-3);
  EXPECT_DOUBLE_EQ(adams.weight_decay, 5e-4);
  const auto adamw = st::default_hyper("adamw");
  EXPECT_DOUBLE_EQ(adamw.weight_decay, 0.5);  // lambda / eta
  const auto sgds = st::default_hyper("sgds");
  EXPECT_DOUBLE_EQ(sgds.lr, 0.1);
  EXPECT_DOUBLE_EQ(sgds.momentum, 0.9);
  st::TrainConfig given;
  given.optimizer = "adai";
  given.lr = 0.2;
  given.weight_decay = 1e-4;
  const auto adai = st::optimizer_hyper(given);
  EXPECT_DOUBLE_EQ(adai.lr, 0.2);
  EXPECT_DOUBLE_EQ(adai.weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(std::get<0>(adai.betas), 0.1);
}

TEST(OptimizerNames, DefaultsComeFromOneTable) {
  // The help states the table's values.
  EXPECT_EQ(st::config_help("lr"), "learning rate (default: 0.1 SGD family, 1e-3 Adam family, 0.5 Adai family)");
  EXPECT_EQ(st::config_help("betas"), "B1,B2 (default 0.9,0.999 Adam; 0.1,0.99 Adai)");
  EXPECT_EQ(st::config_help("eps"), "Adam epsilon (default 1e-8) / Adai inertia bound (default 1e-3)");
  EXPECT_EQ(st::default_hyper("adais").lr, st::family_defaults("adai").lr);
  // Resolving fills what is unset and records the settings a family does not use at its
  // row's values, whatever was given; resolving again changes nothing.
  st::TrainConfig sgd;
  sgd.optimizer = "sgds";
  sgd.betas = std::make_tuple(0.5, 0.5);
  sgd.eps = 1.0;
  st::resolve_optimizer_settings(sgd);
  EXPECT_EQ(*sgd.betas, st::family_defaults("sgd").betas);
  EXPECT_EQ(*sgd.eps, st::family_defaults("sgd").eps);
  EXPECT_EQ(*sgd.momentum, 0.9);
  EXPECT_EQ(*sgd.lr, 0.1);
  EXPECT_EQ(*sgd.weight_decay, st::kDefaultWeightDecay);
  st::TrainConfig again = sgd;
  st::resolve_optimizer_settings(again);
  EXPECT_EQ(st::config_to_json(again), st::config_to_json(sgd));
  st::TrainConfig adam;
  adam.optimizer = "adam";
  adam.momentum = 0.5;
  st::resolve_optimizer_settings(adam);
  EXPECT_EQ(*adam.momentum, 0.0);
  EXPECT_EQ(*adam.betas, std::make_tuple(0.9, 0.999));
}

TEST(Metrics, CsvRoundTripsExactly) {
  swd::run::EpochMetrics m;
  m.epoch = 3;
  m.lr = 1e-3 / 3;
  m.test_error = 0.123456789012345678;
  m.sqrt_vbar = 2.5e-3;
  std::vector<swd::run::EpochMetrics> rows{m, m};
  rows[1].epoch = 4;
  rows[1].sqrt_vbar.reset();
  const auto back = swd::run::parse_metrics_csv(swd::run::metrics_csv(rows));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].lr, m.lr);
  EXPECT_EQ(back[0].test_error, m.test_error);
  EXPECT_EQ(*back[0].sqrt_vbar, 2.5e-3);
  EXPECT_FALSE(back[1].sqrt_vbar.has_value());
  EXPECT_THROW(swd::run::parse_metrics_csv("epoch,lr\n1,2\n"), std::runtime_error);
  // The validation columns are the last two; files from before them (20 columns) still read.
  rows[0].val_error = 0.25;
  const std::string text = swd::run::metrics_csv(rows);
  EXPECT_EQ(swd::run::parse_metrics_csv(text)[0].val_error, 0.25);
  EXPECT_TRUE(std::isnan(swd::run::parse_metrics_csv(text)[1].val_error));
  std::string older;  // each line without its last two cells
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) older += line.substr(0, line.rfind(',', line.rfind(',') - 1)) + "\n";
  const auto back20 = swd::run::parse_metrics_csv(older);
  ASSERT_EQ(back20.size(), 2u);
  EXPECT_EQ(back20[0].test_error, m.test_error);
  EXPECT_TRUE(std::isnan(back20[0].val_error));
}

}  // namespace

TEST(Metrics, NumbersAreShortestRoundTrip) {
  swd::run::EpochMetrics m;
  m.epoch = 1;
  m.lr = 0.0005;
  m.weight_decay = 0.1;
  m.train_loss = 1.0 / 3.0;
  const std::string row = swd::run::metrics_csv_row(m);
  EXPECT_EQ(row.rfind("1,0.0005,0.1,", 0), 0u) << row;
  const auto back = swd::run::parse_metrics_csv(swd::run::metrics_csv({m}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].train_loss, m.train_loss);  // exactly
}

namespace {

st::TrainConfig config_of(const std::vector<std::pair<std::string, std::string>>& settings) {
  st::TrainConfig c;
  for (const auto& [key, value] : settings) st::set_config_value(c, key, value);
  return c;
}

TEST(ResolveHyper, EachValueSaysHowItWasDerived) {
  // Given values stay; unset ones take the family's default.
  auto r = st::resolve_hyper(config_of({{"optimizer", "sgds"}, {"lr", "0.05"}}));
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0].role, "all");
  EXPECT_EQ(r.groups[0].lr, 0.05);
  EXPECT_EQ(r.groups[0].lr_from, "given");
  EXPECT_EQ(r.groups[0].weight_decay, 5e-4);
  EXPECT_EQ(r.groups[0].weight_decay_from, "default");
  EXPECT_EQ(r.given_lr, 0.05);
  EXPECT_FALSE(r.given_weight_decay.has_value());
  // adamw without a weight decay: 5e-4 / its lr, the paper's convention (not torch's 1e-2).
  r = st::resolve_hyper(config_of({{"optimizer", "adamw"}, {"lr", "0.01"}}));
  EXPECT_EQ(r.groups[0].weight_decay, 5e-4 / 0.01);
  EXPECT_NE(r.groups[0].weight_decay_from.find("default 0.0005 / lr"), std::string::npos) << r.groups[0].weight_decay_from;
  EXPECT_EQ(r.groups[0].lr_from, "given");
  // adamw with a weight decay: that one, undivided.
  r = st::resolve_hyper(config_of({{"optimizer", "adamw"}, {"weight-decay", "0.01"}}));
  EXPECT_EQ(r.groups[0].weight_decay, 0.01);
  EXPECT_EQ(r.groups[0].lr, 1e-3);
  EXPECT_EQ(r.groups[0].lr_from, "default (adam family)");
  // weight-decay-over-lr divides any optimizer's weight decay by its lr.
  r = st::resolve_hyper(config_of({{"optimizer", "sgdw"}, {"weight-decay", "5e-3"}, {"weight-decay-over-lr", "true"}}));
  EXPECT_EQ(r.base_weight_decay, 5e-3 / 0.1);
  EXPECT_NE(r.groups[0].weight_decay_from.find("weight-decay-over-lr"), std::string::npos);
  // The large-batch rule multiplies after the division; the base values stay unscaled.
  r = st::resolve_hyper(config_of({{"optimizer", "adamw"}, {"lr", "0.002"}, {"weight-decay-over-lr", "true"},
                                   {"batch-size", "512"}, {"scale-rule", "wd"}}));
  EXPECT_EQ(r.scale_k, 4.0);
  EXPECT_EQ(r.base_weight_decay, 5e-4 / 0.002);
  EXPECT_EQ(r.groups[0].weight_decay, 5e-4 / 0.002 * 4.0);
  EXPECT_EQ(r.groups[0].lr, 0.002);
  EXPECT_NE(r.groups[0].weight_decay_from.find("x 4 (scale-rule wd"), std::string::npos) << r.groups[0].weight_decay_from;
  r = st::resolve_hyper(config_of({{"optimizer", "sgds"}, {"batch-size", "256"}, {"scale-rule", "lr"}}));
  EXPECT_EQ(r.groups[0].lr, 0.2);
  EXPECT_EQ(r.base_lr, 0.1);
  EXPECT_EQ(r.optimizer.lr, 0.2);
  // --no-decay-bias-norm: a second group with weight decay 0.
  r = st::resolve_hyper(config_of({{"optimizer", "adams"}, {"no-decay-bias-norm", "true"}}));
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].role, "decay");
  EXPECT_EQ(r.groups[0].weight_decay, 5e-4);
  EXPECT_EQ(r.groups[1].role, "no decay");
  EXPECT_EQ(r.groups[1].weight_decay, 0.0);
  EXPECT_EQ(r.groups[1].lr, 1e-3);
}

TEST(ResolveHyper, OverLrIsAppliedOnceAndNeedsAPositiveLr) {
  auto c = config_of({{"optimizer", "adamw"}, {"lr", "0.01"}, {"weight-decay", "5e-3"},
                      {"weight-decay-over-lr", "true"}});
  st::resolve_optimizer_settings(c);
  EXPECT_EQ(*c.weight_decay, 5e-3 / 0.01);
  EXPECT_FALSE(c.weight_decay_over_lr);  // applied: config.json records the result
  auto again = c;
  st::resolve_optimizer_settings(again);
  EXPECT_EQ(*again.weight_decay, *c.weight_decay);
  EXPECT_EQ(st::config_to_json(c).find("over-lr"), std::string::npos);
  const auto zero = config_of({{"optimizer", "adamw"}, {"lr", "0"}, {"weight-decay-over-lr", "true"}});
  const std::string message = error_of([&] { st::resolve_hyper(zero); });
  EXPECT_NE(message.find("needs an lr > 0"), std::string::npos) << message;
  // adamw's default with lr 0 keeps lambda undivided (no division by zero).
  EXPECT_EQ(st::resolve_hyper(config_of({{"optimizer", "adamw"}, {"lr", "0"}})).base_weight_decay, 5e-4);
}

}  // namespace

namespace {

TEST(ResolveHyper, AScheduledLrIsCheckedLikeAWeightDecay) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{torch::zeros({2}, torch::requires_grad())});
  auto optimizer = st::make_optimizer("adams", st::default_hyper("adams"), std::move(groups));
  for (double bad : {-0.1, std::nan("")}) {
    EXPECT_NE(error_of([&] { optimizer->set_group_lr(0, bad); }).find("invalid lr"), std::string::npos);
    EXPECT_NE(error_of([&] { optimizer->set_group_weight_decay(0, bad); }).find("invalid weight_decay"),
              std::string::npos);
  }
  EXPECT_EQ(optimizer->group_hyper(0).lr, 1e-3);  // a refused value changes nothing
  optimizer->set_group_lr(0, 0.5);
  EXPECT_EQ(optimizer->group_hyper(0).lr, 0.5);
}

}  // namespace

TEST(TrainConfig, SettingsThatAreWordsListTheirChoicesFromOneTable) {
  // Help, the check and the parse take a setting's words from the table of the code that
  // parses them, so the three cannot drift.
  auto joined = [](const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " | ") + w;
    return out;
  };
  EXPECT_EQ(st::config_help("model"), joined(swd::models::model_names()));
  EXPECT_EQ(st::config_help("optimizer"), joined(st::optimizer_names()));
  EXPECT_EQ(st::config_help("lr-schedule"), "constant | step | cosine");
  EXPECT_EQ(st::config_help("progress"), "auto | bar | line | none");
  EXPECT_EQ(st::config_help("precision").rfind("fp32 | bf16 (", 0), 0u) << st::config_help("precision");
  EXPECT_EQ(st::config_help("scale-rule").rfind("none | lr | wd: ", 0), 0u) << st::config_help("scale-rule");
  for (const auto& kind : swd::schedule::schedule_kinds()) {
    const auto parsed = swd::schedule::schedule_kind_from_string(kind);
    EXPECT_EQ(swd::schedule::to_string(parsed), kind);
    EXPECT_EQ(swd::schedule::make_schedule({parsed, {}, 0.1}, 10)->describe().rfind(kind, 0), 0u) << kind;
  }
  st::TrainConfig c;
  const auto message = error_of([&] { st::set_config_value(c, "lr-schedule", "linear"); });
  EXPECT_NE(message.find("one of constant, step, cosine"), std::string::npos) << message;
  EXPECT_THROW(st::progress_mode_from_string("verbose"), std::invalid_argument);
  EXPECT_EQ(st::Progress::resolve(st::progress_mode_from_string("line"), stdout), st::Progress::Mode::Line);
  EXPECT_EQ(st::config_help("on-nonfinite").rfind("stop | skip: ", 0), 0u) << st::config_help("on-nonfinite");
  EXPECT_EQ(st::config_help("dataset"), joined(swd::data::dataset_names()));
  // Each word setting is parsed once into its type and written back as the same word; its
  // help lists the same words.
  const std::vector<std::pair<const char*, std::vector<std::string>>> word_settings = {
      {"lr-schedule", swd::schedule::schedule_kinds()},    {"wd-schedule", swd::schedule::schedule_kinds()},
      {"scale-rule", swd::schedule::scale_rule_names()},   {"progress", st::progress_mode_names()},
      {"precision", st::precision_names()},                {"on-nonfinite", st::on_nonfinite_names()}};
  for (const auto& [key, words] : word_settings) {
    EXPECT_NE(st::config_help(key).find(joined(words)), std::string::npos) << key;
    EXPECT_GE(words.size(), 2u) << key;
    for (const auto& word : words) {
      st::TrainConfig parsed;
      st::set_config_value(parsed, key, word);
      EXPECT_EQ(nlohmann::json::parse(st::config_to_json(parsed))[key], word) << key;
    }
  }
}
