#pragma once
// Runs a sweep: every run of the grid a child `swd train` process, up to `jobs` at a time;
// finished runs are skipped, broken ones resumed, runs.csv is kept current after every run,
// and a stop signal (SIGINT, SIGTERM, SIGHUP) stops the children and leaves the folder ready
// to continue. `swd sweep` is this function behind its command-line flags.

#include <cstdint>
#include <string>
#include <vector>

#include "swd/sweep/plan.h"

namespace swd {
namespace sweep {

struct RunnerOptions {
  /// The sweep's folder (created if missing). Required.
  std::string out;
  /// Runs at a time, >= 1.
  int64_t jobs = 1;
  /// LibTorch threads per run (when the sweep does not set `threads` itself); 0: threads_per_run.
  int64_t threads = 0;
  /// List the runs and what would be done; start nothing, write nothing.
  bool dry_run = false;
  /// `swd sweep --primary-first`: the runs in an arm of an [analysis] primary test
  /// (RunPlan::decides_primary) first, each part in grid order.
  bool primary_first = false;
  /// `swd sweep --shard K/N`: run only the K-th (1..N) of N disjoint slices of the grid, the
  /// runs whose index i (grid order, from 0) has i mod N = K - 1; several shards share one
  /// folder (each takes a shard lock; runs.csv and sweep.json are written under a lock and
  /// list every run). 1/1: the whole grid.
  int64_t shard = 1;
  int64_t shards = 1;
  /// The swd executable that runs `train` (`swd sweep` gives "/proc/self/exe", itself).
  /// Required: a program that embeds swd is not swd.
  std::string program;
};

/// The runs of shard `shard` of `shards` (RunnerOptions), in grid order. Throws
/// std::invalid_argument unless 1 <= shard <= shards.
std::vector<RunPlan> shard_runs(const std::vector<RunPlan>& runs, int64_t shard, int64_t shards);

/// Threads for each of `jobs` runs sharing `cores`: max(1, cores / jobs).
int64_t threads_per_run(int64_t cores, int64_t jobs);

/// Runs `spec` as `options` say; prints one line per run and a summary on standard output.
/// Returns the exit status of `swd sweep`: 0 when every run finished, 2 when some failed or are
/// blocked (named on standard error), 128 + the signal when stopped by one. Throws
/// std::invalid_argument for bad options, std::runtime_error when the folder cannot be made or
/// another sweep holds it, train::ConfigError for a bad run in the grid.
int run_sweep(const SweepSpec& spec, const RunnerOptions& options);

}  // namespace sweep
}  // namespace swd
