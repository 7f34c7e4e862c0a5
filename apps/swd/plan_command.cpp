// swd plan: a run's (or every run of a sweep's) steps, decay budget, relaxation time and
// verdict, before training (swd/train/plan.h, docs/DYNAMICS.md).
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "swd/config/config.h"
#include "swd/sweep/plan.h"
#include "swd/train/plan.h"

namespace swd {
namespace cli {

namespace {
struct PlanFlags {
  ConfigFlags settings;
  std::string sweep_file;
  std::vector<std::string> set;
  int64_t probe_steps = 200;
};
PlanFlags& plan_flags() {
  static PlanFlags flags;
  return flags;
}
CLI::App* plan_app = nullptr;

std::string number(double v, const char* format = "%.3g") {
  if (std::isinf(v)) return "inf";
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

std::string verdict(const train::RunPlan& plan) {
  if (std::isnan(plan.budget)) return "unknown (the budget needs a probe: --probe-steps N > 0)";
  return std::string(plan.long_run ? "long" : "short") + " (budget " + number(plan.budget) +
         (plan.long_run ? " >= " : " < ") + number(train::kLongBudget) + " e-folds" +
         (plan.estimated ? ", estimated" : "") + ")";
}

int plan_one(const train::TrainConfig& config, int64_t probe_steps) {
  const auto plan = train::plan_run(config, {probe_steps});
  std::printf("swd plan: %s, %s, %s\n", config.model.c_str(), config.optimizer.c_str(), config.dataset.c_str());
  std::printf("  steps: %lld per epoch x %lld epochs = %lld\n", static_cast<long long>(plan.steps_per_epoch),
              static_cast<long long>(plan.epochs), static_cast<long long>(plan.steps));
  std::printf("%s", train::describe_plan(plan).c_str());
  std::printf("  relaxation of the tracked weights' norm: %s steps (%s e-folds; docs/DYNAMICS.md)\n",
              number(plan.relaxation_steps, "%.0f").c_str(), number(plan.relaxation_efolds).c_str());
  std::printf("  verdict: %s\n", verdict(plan).c_str());
  return 0;
}

int plan_sweep(const PlanFlags& f) {
  auto spec = sweep::read_sweep_file(f.sweep_file);
  for (const auto& assignment : f.set) sweep::force_setting(spec, assignment);
  const auto runs = sweep::expand(spec);
  // Runs that differ only in their seed share a plan (the budget does not depend on it).
  std::map<std::string, train::RunPlan> by_settings;
  std::printf("%-60s %8s %10s %10s  %s\n", "run", "steps", "budget", "relax", "verdict");
  for (const auto& run : runs) {
    auto config = train::config_from_json(sweep::run_json(run));
    auto key_config = config;
    key_config.seed = 0;
    key_config.out.clear();
    const std::string key = train::config_to_json(key_config);
    auto found = by_settings.find(key);
    if (found == by_settings.end()) {
      found = by_settings.emplace(key, train::plan_run(config, {f.probe_steps})).first;
    }
    const auto& plan = found->second;
    std::printf("%-60s %8lld %10s %10s  %s\n", run.folder.c_str(), static_cast<long long>(plan.steps),
                (number(plan.budget) + (plan.estimated ? "~" : "")).c_str(),
                number(plan.relaxation_steps, "%.0f").c_str(), verdict(plan).c_str());
  }
  std::printf("budget: e-folds of decay of the tracked weights (~: estimated from a %lld-step probe); "
              "relax: steps to relax their norm (docs/DYNAMICS.md)\n",
              static_cast<long long>(f.probe_steps));
  return 0;
}
}  // namespace

void add_plan_command(CLI::App& app) {
  plan_app = app.add_subcommand(
      "plan", "say before training how long a run is in the unit that matters: its steps, the decay "
              "budget of each parameter group in e-folds, the relaxation time and a verdict (long: "
              "a budget of at least 3 e-folds for the scale-invariant weights)");
  auto& f = plan_flags();
  add_config_flags(*plan_app, f.settings);
  plan_app->add_option("--sweep", f.sweep_file, "plan every run of this sweep file instead")
      ->check(CLI::ExistingFile);
  plan_app->add_option("--set", f.set, "with --sweep: KEY=VALUE in every run (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  plan_app->add_option("--probe-steps", f.probe_steps,
                       "steps of the probe run that measures the decay rate where it depends on "
                       "training (Adam with L2 or stable decay; 0: no probe)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

int run_plan() {
  auto& f = plan_flags();
  if (!f.sweep_file.empty()) return plan_sweep(f);
  if (!f.set.empty()) {
    throw train::ConfigError("--set " + f.set.front() + " is for a sweep file (--sweep FILE); for one "
                             "run give the setting as a flag, e.g. --" +
                             f.set.front().substr(0, f.set.front().find('=')) + " VALUE");
  }
  train::TrainConfig config;
  for (const auto& [key, text] : given_settings(*plan_app, f.settings)) {
    train::set_config_value(config, key, text);
  }
  return plan_one(config, f.probe_steps);
}

}  // namespace cli
}  // namespace swd
