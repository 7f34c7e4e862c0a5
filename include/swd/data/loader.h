#pragma once
// Batches for training and evaluation, prepared on background threads so the training loop
// never waits on data. Everything random (the epoch's order, crops, flips) is derived from
// (seed, epoch, sample index), so a run is the same whatever the thread timing, and can be
// resumed at any batch of any epoch.

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "swd/data/dataset.h"

namespace swd {
namespace data {

struct LoaderOptions {
  int64_t batch_size = 128;  ///< global batch size: summed over all ranks
  bool shuffle = true;       ///< a new permutation every epoch (training)
  bool drop_last = false;    ///< drop a final partial batch
  int64_t crop_padding = 0;  ///< random crop of the original size after zero padding (0: off)
  bool horizontal_flip = false;
  std::vector<double> mean;  ///< per-channel normalisation, (x/255 - mean) / std
  std::vector<double> std;
  uint64_t seed = 0;
  int64_t workers = 1;       ///< background threads preparing batches
  int64_t prefetch = 4;      ///< batches prepared ahead
  /// Data parallelism: every rank computes the same global order; rank r takes its
  /// batch_size / world_size slice of each global batch (an uneven division is an error).
  int64_t rank = 0;
  int64_t world_size = 1;
};

struct Batch {
  at::Tensor data;    ///< [b, C, H, W] float32, normalised
  at::Tensor target;  ///< [b] int64
  int64_t index = 0;  ///< batch index within the epoch
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// Begins `epoch` (order and augmentation depend on it), skipping its first
  /// `skip_batches` batches (for resuming mid-epoch).
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  /// The next batch of the epoch, or nullopt at its end.
  std::optional<Batch> next();
  /// Global batches per epoch (the same on every rank).
  int64_t batches_per_epoch() const;
  const LoaderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace data
}  // namespace swd
