// swd sweep CONFIG: runs the grid of a sweep file (the scheduler is swd/sweep/runner.h).
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "swd/sweep/plan.h"
#include "swd/sweep/runner.h"

namespace swd {
namespace cli {

namespace fs = std::filesystem;

namespace {

struct SweepFlags {
  std::string config_file;
  std::string out;
  int64_t jobs = 1;
  std::vector<std::string> set;
  bool dry_run = false;
  bool primary_first = false;
  std::string shard;  ///< "K/N"
};
SweepFlags& sweep_flags() {
  static SweepFlags flags;
  return flags;
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sweep_app = app.add_subcommand("sweep", "run a grid of swd train runs described in a TOML or JSON file");
  auto& f = sweep_flags();
  sweep_app->add_option("config", f.config_file, "the sweep file (.toml or .json)")
      ->required()
      ->check(CLI::ExistingFile);
  sweep_app->add_option("--jobs", f.jobs, "runs at a time; each gets max(1, cores / jobs) threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sweep_app->add_option("--out", f.out, "the sweep's folder (default runs/<config file name>)");
  sweep_app->add_option("--set", f.set, "KEY=VALUE: this value in every run (repeatable)")
      ->allow_extra_args(false)  // one KEY=VALUE per --set: a later argument stays positional
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sweep_app->add_flag("--dry-run", f.dry_run,
                      "list the runs, each with the lr and weight decay swd train will resolve, and "
                      "what a sweep would do; start nothing");
  sweep_app->add_flag("--primary-first", f.primary_first,
                      "start the runs of the [analysis] primary tests' arms first (all their seeds), "
                      "then the rest in grid order: a sweep cut short still decides its tests");
  sweep_app->add_option("--shard", f.shard,
                        "K/N: run only the K-th of N disjoint slices of the grid (runs K, K+N, K+2N, "
                        "...), into the same folder as the other shards (a Slurm job array: "
                        "--shard $SLURM_ARRAY_TASK_ID/N with --array=1-N; docs/DISTRIBUTED.md)");
  sweep_app->footer(
      "The sweep file (TOML or JSON; the whole format, with an example: docs/SWEEPS.md):\n"
      "  title = \"...\"          the report's heading\n"
      "  [base]                 any swd train key = its value in every run\n"
      "  [grid]                 any swd train key = a list of values; the runs are the product\n"
      "  [override.NAME]        settings for the runs that match NAME: an optimizer (adamw) or\n"
      "                         \"KEY=VALUE\"; weight-decay-over-lr = true: weight decay := wd / lr\n"
      "  [set]                  like --set KEY=VALUE: one value in every run, applied last\n"
      "  [report]               pairs = [[\"A\", \"B\"], ...]: more comparisons, paired over seeds\n"
      "  [analysis]             primary = [\"A - B < 0 on METRIC at KEY=VALUE, ...\", ...]: the tests\n"
      "                         fixed before the runs; swd report shows them first, Holm-adjusted\n"
      "Keys take dashes or underscores. `swd train --help` lists every key.");
}

int run_sweep() {
  auto& f = sweep_flags();
  auto spec = sweep::read_sweep_file(f.config_file);
  for (const auto& assignment : f.set) sweep::force_setting(spec, assignment);
  sweep::RunnerOptions options;
  options.out = f.out.empty() ? "runs/" + fs::path(f.config_file).stem().string() : f.out;
  options.jobs = f.jobs;
  options.dry_run = f.dry_run;
  options.primary_first = f.primary_first;
  if (!f.shard.empty()) {  // K/N, both positive integers
    const auto slash = f.shard.find('/');
    const auto digits = [](const std::string& t) {
      return !t.empty() && t.size() < 10 && t.find_first_not_of("0123456789") == std::string::npos;
    };
    const std::string k = f.shard.substr(0, slash), n = slash == std::string::npos ? "" : f.shard.substr(slash + 1);
    if (slash == std::string::npos || !digits(k) || !digits(n) || std::stoll(k) < 1 ||
        std::stoll(k) > std::stoll(n)) {
      throw std::invalid_argument("invalid value '" + f.shard.substr(0, 40) + "' for --shard (expected "
                                  "K/N with 1 <= K <= N, e.g. 2/4)");
    }
    options.shard = std::stoll(k);
    options.shards = std::stoll(n);
  }
  options.program = "/proc/self/exe";  // each run is this swd's `train`
  return sweep::run_sweep(spec, options);
}

}  // namespace cli
}  // namespace swd
