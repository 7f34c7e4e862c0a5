#pragma once
// Data parallelism and gradient accumulation for a training loop (docs/DISTRIBUTED.md).
//
// A global batch of B samples is split into W ranks x K micro-batches of b = B / (W*K).
// Each micro-batch's mean loss is weighted by its share of the global batch, n_micro / n_global,
// and the weighted gradients are summed over micro-batches (backward accumulates into .grad)
// and over ranks (GradientReducer). The result is exactly the gradient of the mean loss over
// the global batch:
//   sum_r sum_k (n_rk / n) * grad(mean loss over micro-batch rk) = grad((1/n) sum_i loss_i),
// also for the last, partial batch of an epoch, whose micro-batches may be unequal (or empty).
// With equal micro-batches the weight is 1/(W*K): the average over ranks of the average over
// micro-batches. The optimizer then steps once per global batch, so weight decay, schedules
// and the step count advance once per real step, never per micro-batch.

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "swd/data/loader.h"
#include "swd/parallel/group.h"

namespace swd {
namespace parallel {

/// Bucket size of the gradient allreduce and of broadcasts.
constexpr int64_t kDefaultBucketBytes = int64_t{4} << 20;

/// Throws std::invalid_argument unless `batch_size` splits into world_size x accumulate equal
/// micro-batches; the message names the three numbers.
void check_batch_split(int64_t batch_size, int64_t world_size, int64_t accumulate);

/// Rank 0's parameters and buffers, copied into `module` on every rank (start of training).
void broadcast_state(Group& group, torch::nn::Module& module);
/// Rank 0's buffers only (BatchNorm running statistics, before evaluation).
void broadcast_buffers(Group& group, torch::nn::Module& module);

/// One optimizer step's data on this rank.
struct Step {
  int64_t index = 0;           ///< the step within the epoch (= the global batch's index)
  int64_t global_samples = 0;  ///< samples of the global batch, over every rank and micro-batch
  std::vector<data::Batch> micro;  ///< this rank's micro-batches; a few may be empty
  /// The weight of `batch`'s mean loss: its samples / global_samples (see the top of the file).
  double share(const data::Batch& batch) const;
};

/// Groups a loader's micro-batches into steps of `accumulate` micro-batches. The loader's
/// batch_size is the global micro-batch B / accumulate (over every rank); the dataset has
/// `dataset_size` samples. Call loader.start_epoch as usual, then next() until nullopt.
class StepReader {
 public:
  StepReader(data::BatchLoader& loader, int64_t dataset_size, int64_t accumulate);
  /// Optimizer steps per epoch (the last one may be partial).
  int64_t steps_per_epoch() const;
  /// The next step's micro-batches, or nullopt at the end of the epoch. Throws
  /// std::logic_error if the epoch was started inside a step (skip not a multiple of K).
  std::optional<Step> next();

 private:
  data::BatchLoader& loader_;
  int64_t dataset_size_;
  int64_t accumulate_;
};

enum class Reduction { Sum, Average };

/// Sums (or averages) the gradients of `params` over the group's ranks with one allreduce per
/// bucket of about `bucket_bytes`, each bucket one dtype and device. A parameter that has a
/// gradient on some rank gets the reduced gradient on every rank (ranks without one add
/// zeros); a parameter without a gradient on every rank keeps none, so the optimizer skips it
/// as in one process. Parameters that do not require grad are left alone.
class GradientReducer {
 public:
  GradientReducer(Group& group, std::vector<at::Tensor> params,
                  int64_t bucket_bytes = kDefaultBucketBytes);
  /// Call after the step's last backward and before optimizer.step(), on every rank.
  void reduce(Reduction reduction = Reduction::Sum);
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  Group& group_;
  std::vector<at::Tensor> params_;
  std::vector<std::vector<size_t>> buckets_;  ///< indices into params_
};

}  // namespace parallel
}  // namespace swd
