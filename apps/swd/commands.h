#pragma once
// The subcommands of the swd tool. Each add_* registers its options; run_selected runs the
// one the user chose.

#include <CLI/CLI.hpp>

namespace swd {
namespace cli {

void add_train_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_export_command(CLI::App& app);

/// The sweep and report subcommands, once parsed; each returns the exit status.
int run_sweep();
int run_report();
int run_export();

/// Runs the parsed subcommand; returns the process exit status.
int run_selected(CLI::App& app);

}  // namespace cli
}  // namespace swd
