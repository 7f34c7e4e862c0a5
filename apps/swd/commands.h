#pragma once
// The subcommands of the swd tool. Each add_* registers its options and each run_* runs its
// command once parsed; main.cpp dispatches between them.

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace swd {
namespace cli {

void add_train_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_plan_command(CLI::App& app);

/// The settings of `swd train` as flags (every key of the configuration table, and --config
/// FILE), shared by `swd plan`.
struct ConfigFlags {
  std::string config_file;
  std::map<std::string, std::string> values;  // key -> text, for flags with a value
  std::map<std::string, bool> switches;       // key -> given, for boolean flags
  std::map<std::string, bool> negated;        // key -> --no-KEY given
};
void add_config_flags(CLI::App& command, ConfigFlags& flags);
/// The (key, text) settings given: the config file's, then the flags', in that order.
std::vector<std::pair<std::string, std::string>> given_settings(const CLI::App& command,
                                                                const ConfigFlags& flags);

/// The subcommands, once parsed; each returns the exit status.
int run_train();
int run_sweep();
int run_report();
int run_export();
int run_plan();

}  // namespace cli
}  // namespace swd
