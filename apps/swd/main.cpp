// swd: the command-line tool. Every failure ends with one line "swd: error: ..." and exit
// status 2.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "commands.h"
#include "swd/errors.h"
#include "swd/provenance.h"

int main(int argc, char** argv) {
  CLI::App app{"swd: weight decay done right -- train, sweep and report"};
  app.require_subcommand(1);
  app.set_version_flag("--version", swd::version_line());
  swd::cli::add_train_command(app);
  swd::cli::add_sweep_command(app);
  swd::cli::add_report_command(app);
  swd::cli::add_export_command(app);
  swd::cli::add_plan_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "swd: error: %s\n", e.what());
    return 2;
  }
  try {
    return swd::cli::run_selected(app);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "swd: error: %s\n", swd::message_of(e).c_str());
    return 2;
  }
}
