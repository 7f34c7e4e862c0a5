#pragma once
// `swd train --nproc N`: N local worker processes of one data-parallel run.

#include "swd/train/config.h"

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

}  // namespace cli
}  // namespace swd
