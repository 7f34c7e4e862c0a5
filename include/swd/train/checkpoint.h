#pragma once
// checkpoint.pt: everything needed to continue a run exactly -- model, optimizer state (with
// each group's options), the epochs done and their metrics, the RNG state and the resolved
// configuration. Written atomically (files.h): a crash leaves the previous checkpoint valid.

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>
#include <vector>

#include "swd/train/metrics.h"

namespace swd {
namespace train {

struct CheckpointInfo {
  int64_t epochs_done = 0;
  std::vector<EpochMetrics> metrics;  ///< one per finished epoch
  std::string config_json;            ///< the run's resolved configuration
};

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const CheckpointInfo& info);

/// Restores model and optimizer in place and returns the rest. Throws std::runtime_error
/// naming the file when it is missing, truncated, corrupted or from another model.
CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer& optimizer);

}  // namespace train
}  // namespace swd
