#pragma once
// Batches for training and evaluation, prepared on background threads so the training loop
// never waits on data. Everything random (the epoch's order, crops, flips) is derived from
// (seed, epoch, sample index), so a run is the same whatever the thread timing, and can be
// resumed at any batch of any epoch.

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "swd/data/dataset.h"

namespace swd {
namespace data {

struct Batch {
  at::Tensor data;    ///< [b, C, H, W] float32, normalised
  at::Tensor target;  ///< [b] int64
  int64_t index = 0;  ///< batch index within the epoch
};

struct LoaderOptions {
  int64_t batch_size = 128;  ///< global batch size: summed over all ranks
  bool shuffle = true;       ///< a new permutation every epoch (training)
  bool drop_last = false;    ///< drop a final partial batch
  int64_t crop_padding = 0;  ///< random crop of the original size after zero padding (0: off)
  bool horizontal_flip = false;
  std::vector<double> mean;  ///< per-channel normalisation, (x/255 - mean) / std;
  std::vector<double> std;   ///< both empty: mean 0, std 1
  uint64_t seed = 0;
  int64_t workers = 1;       ///< background threads preparing batches (0: next() prepares them)
  int64_t prefetch = 4;      ///< batches prepared ahead
  /// Data parallelism: every rank computes the same global order; rank r takes its
  /// batch_size / world_size slice of each global batch (an uneven division is an error).
  /// A final partial global batch of m samples is split as evenly as possible and in rank
  /// order: rank r takes samples [r*m/W, (r+1)*m/W) of it (rounded down), so slices differ by
  /// at most one sample and a rank may get an empty batch when m < world_size.
  int64_t rank = 0;
  int64_t world_size = 1;
  /// Optional extra step on every prepared batch, run on a worker thread (so it must be
  /// thread-safe); an exception it throws reaches the caller of next().
  std::function<void(Batch&)> transform;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// Begins `epoch` (order and augmentation depend on it), skipping its first
  /// `skip_batches` batches (for resuming mid-epoch). Batches still being prepared for the
  /// previous epoch are abandoned.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  /// The next batch of the epoch, or nullopt at its end. Call from one thread. Throws
  /// std::logic_error before the first start_epoch; rethrows an exception raised while
  /// preparing a batch (and again on later calls, until the next start_epoch).
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
