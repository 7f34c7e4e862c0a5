#pragma once
// `swd train --nproc N`: N local worker processes of one data-parallel run.

#include <functional>
#include <set>
#include <string>

#include "swd/config/config.h"

namespace swd {
namespace cli {

/// Re-executes this program N = config.nproc times with --rank r --world-size N
/// --master-addr 127.0.0.1 --master-port <--master-port, or a free port> appended to its own arguments, and
/// waits. Rank 0 prints as usual; the other ranks' standard output is discarded and their
/// standard error is shown prefixed with "[rank r] ". SIGINT, SIGTERM and SIGHUP are forwarded
/// to every worker. When a worker fails, the others are stopped (SIGTERM, then SIGKILL after
/// a grace period). Returns 0 when every worker succeeded, 2 after a failure, 128 + signal
/// when interrupted. Throws ConfigError / std::invalid_argument for a configuration that cannot
/// be split into N ranks, before anything starts.
int launch_local_workers(const train::TrainConfig& config);

/// Takes the launch settings that `given` (the keys set by flags or the config file, dashes)
/// leaves out from the environment of the launcher that started this process
/// (docs/DISTRIBUTED.md): torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
/// (and its agent's store: TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT), else
/// Slurm's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID with the rendezvous address given once
/// (MASTER_ADDR and MASTER_PORT, or the flags). Flags win; with --nproc (swd starts the ranks
/// itself) the environment is not read. Throws train::ConfigError, one line
/// naming the variables, for a half-set environment: a rank without a world size or the
/// reverse, or several ranks and no rendezvous address or port. `get` reads a variable
/// (std::getenv; nullptr or "" when unset).
void take_launch_environment(train::TrainConfig& config, const std::set<std::string>& given,
                             const std::function<const char*(const char*)>& get);

}  // namespace cli
}  // namespace swd
