// swd: the command-line tool. Every failure ends with one line "swd: error: ..." and exit
// status 2.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>
#include <algorithm>

#include "commands.h"
#include "swd/errors.h"
#include "swd/provenance.h"
#include "swd/util/suggest.h"

namespace {

/// The subcommands' names, in the order of `swd --help`.
std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

/// A one-line message for a mistyped command or option, naming the nearest valid one; "" when
/// the command line has no such word.
std::string typo_message(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  const std::string command = argv[1];
  const auto names = command_names(app);
  if (std::find(names.begin(), names.end(), command) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return "unknown command '" + command + "'" + swd::util::did_you_mean(command, names) +
           " (expected one of " + list + ")";
  }
  std::vector<std::string> flags;
  for (const auto* option : app.get_subcommand(command)->get_options()) {
    for (const auto& name : option->get_lnames()) flags.push_back("--" + name);
  }
  flags.push_back("--help");
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const std::string flag = arg.substr(0, arg.find('='));
    if (std::find(flags.begin(), flags.end(), flag) != flags.end()) continue;
    const std::string hint = swd::util::did_you_mean(flag, flags);
    return "unknown option '" + flag + "' for swd " + command + (hint.empty() ? " (swd " + command + " --help lists them)" : hint);
  }
  return "";
}

}  // namespace

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
    const std::string typo = typo_message(app, argc, argv);
    std::fprintf(stderr, "swd: error: %s\n", typo.empty() ? e.what() : typo.c_str());
    return 2;
  }
  try {
    namespace cli = swd::cli;
    if (app.got_subcommand("train")) return cli::run_train();
    if (app.got_subcommand("sweep")) return cli::run_sweep();
    if (app.got_subcommand("report")) return cli::run_report();
    if (app.got_subcommand("export")) return cli::run_export();
    if (app.got_subcommand("plan")) return cli::run_plan();
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "swd: error: %s\n", swd::message_of(e).c_str());
    return 2;
  }
}
