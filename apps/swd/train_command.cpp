// swd train: every key of the configuration table is a --flag; --config FILE (TOML or JSON)
// supplies values first, flags given on the command line override them.
#include <csignal>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "launch.h"
#include "swd/config/config.h"
#include "swd/train/trainer.h"
#include "swd/util/signals.h"

namespace swd {
namespace cli {

namespace {
ConfigFlags& train_flags() {
  static ConfigFlags flags;
  return flags;
}
CLI::App* train_app = nullptr;
/// Flags that get a --no-KEY form: not those already negative (no --no-no-...) nor --resume.
bool has_negation(const std::string& key) { return key.rfind("no-", 0) != 0 && key != "resume"; }
}  // namespace

void add_config_flags(CLI::App& command, ConfigFlags& flags) {
  command.add_option("--config", flags.config_file, "TOML or JSON file of settings")
      ->check(CLI::ExistingFile);
  for (const auto& key : train::config_keys()) {
    if (train::config_key_is_flag(key)) {
      command.add_flag("--" + key, flags.switches[key], train::config_help(key));
      if (has_negation(key)) {
        command.add_flag("--no-" + key, flags.negated[key], "turn --" + key + " off")
            ->excludes("--" + key);
      }
    } else {
      auto* option = command.add_option("--" + key, flags.values[key], train::config_help(key))
                         ->type_name(train::config_type(key))
                         ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // the last one wins
      if (const auto shown = train::config_default(key); !shown.empty()) option->default_str(shown);
    }
  }
}

std::vector<std::pair<std::string, std::string>> given_settings(const CLI::App& command,
                                                                const ConfigFlags& flags) {
  // Settings in order of precedence: the config file, then the flags given.
  std::vector<std::pair<std::string, std::string>> given;
  if (!flags.config_file.empty()) given = train::read_config_file(flags.config_file);
  for (const auto& key : train::config_keys()) {
    const bool flag = train::config_key_is_flag(key);
    if (flag && has_negation(key) && command.count("--no-" + key) > 0) given.emplace_back(key, "false");
    if (command.count("--" + key) == 0) continue;
    given.emplace_back(key, flag ? "true" : flags.values.at(key));
  }
  return given;
}

void add_train_command(CLI::App& app) {
  train_app = app.add_subcommand("train", "train one model and write its run folder");
  add_config_flags(*train_app, train_flags());
}

int run_train() {
  const auto given = given_settings(*train_app, train_flags());
  train::TrainConfig config;
  for (const auto& [key, text] : given) train::set_config_value(config, key, text);
  if (config.resume) {  // the saved configuration, with the settings above on top
    if (config.out.empty()) {
      throw train::ConfigError("--resume needs --out DIR, the run to continue");
    }
    config = train::resume_config(config.out, given);
  }
  // Rank, world size and rendezvous from torchrun's or Slurm's environment where no flag gives
  // them (docs/DISTRIBUTED.md).
  std::set<std::string> keys;
  for (auto [key, text] : given) {
    std::replace(key.begin(), key.end(), '_', '-');
    keys.insert(key);
  }
  take_launch_environment(config, keys, [](const char* name) { return std::getenv(name); });
  if (config.nproc > 1) return launch_local_workers(config);  // N local ranks of this command
  // The trainer's own catcher (the same one: util/signals.h) ends with the training; this one
  // holds until the process exits, so that a signal of the stop request that arrives after
  // the checkpoint (Ctrl-C to `timeout swd train` sends two) is still that request.
  util::SignalCatcher stop_request({SIGINT, SIGTERM}, util::SignalCatcher::Repeat::EndsProcess);
  train::RunSummary summary;
  try {
    summary = train::run_training(config);
  } catch (const train::StopRequested& stop) {
    std::fprintf(stderr, "swd: %s\n", stop.what());
    std::fflush(nullptr);
    std::_Exit(128 + stop.signal);  // 130 for SIGINT, 143 for SIGTERM; the checkpoint is on disk
  } catch (const train::NonFiniteError& error) {
    std::fprintf(stderr, "swd: error: %s\n", error.what());
    return 3;
  }
  if (config.rank != 0) return 0;  // rank 0 reports the run
  const std::string skipped =
      summary.skipped_steps == 0
          ? ""
          : "; " + std::to_string(summary.skipped_steps) +
                " steps skipped (non-finite loss or gradient; see skipped_steps in metrics.csv)";
  char chosen[96];  // on what the best epoch was chosen
  if (summary.best_on_validation) {
    std::snprintf(chosen, sizeof chosen, "chosen on validation, val error %.2f%%", 100 * summary.best_val_error);
  } else {
    std::snprintf(chosen, sizeof chosen, "chosen on the test set; --val-split N holds samples out for it");
  }
  std::printf("done: best test error %.2f%% (epoch %lld, %s), final test error %.2f%%%s  -> %s\n",
              100 * summary.best_test_error, static_cast<long long>(summary.best_epoch), chosen,
              100 * summary.final_test_error, skipped.c_str(), summary.out_dir.c_str());
  return 0;
}
}  // namespace cli
}  // namespace swd
