#pragma once
// The subcommands of the swd tool. Each add_* registers its options; run_selected runs the
// one the user chose.

#include <CLI/CLI.hpp>

namespace swd {
namespace cli {

void add_train_command(CLI::App& app);

/// Runs the parsed subcommand; returns the process exit status.
int run_selected(CLI::App& app);

}  // namespace cli
}  // namespace swd
