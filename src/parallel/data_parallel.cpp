// Data parallelism on top of parallel::Group: state broadcast, micro-batch steps, bucketed
// gradient reduction. The arithmetic is derived in data_parallel.h.
#include "swd/parallel/data_parallel.h"

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros_like.h>

#include <algorithm>
#include <stdexcept>
#include <string>


namespace swd {
namespace parallel {

void check_batch_split(int64_t batch_size, int64_t world_size, int64_t accumulate) {
  if (world_size < 1 || accumulate < 1) {
    throw std::invalid_argument("world size " + std::to_string(world_size) + " and accumulate " +
                                std::to_string(accumulate) + " must both be >= 1");
  }
  const int64_t parts = world_size * accumulate;
  if (batch_size % parts != 0) {
    throw std::invalid_argument(
        "batch size " + std::to_string(batch_size) + " is not divisible by world size " +
        std::to_string(world_size) + " x accumulate " + std::to_string(accumulate) + " = " +
        std::to_string(parts) + " (the global batch is split into equal micro-batches of " +
        "batch-size / (world-size x accumulate) samples)");
  }
}

void broadcast_state(Group& group, torch::nn::Module& module) {
  auto tensors = module.parameters();
  for (const auto& b : module.buffers()) tensors.push_back(b);
  group.broadcast(tensors, kDefaultBucketBytes, "broadcast of rank 0's parameters and buffers");
}

void broadcast_buffers(Group& group, torch::nn::Module& module) {
  group.broadcast(module.buffers(), kDefaultBucketBytes, "broadcast of rank 0's buffers");
}

// ---- steps of K micro-batches --------------------------------------------------------------

double Step::share(const data::Batch& batch) const {
  return static_cast<double>(batch.target.size(0)) / static_cast<double>(global_samples);
}

StepReader::StepReader(data::BatchLoader& loader, int64_t dataset_size, int64_t accumulate)
    : loader_(loader), dataset_size_(dataset_size), accumulate_(accumulate) {
  if (accumulate < 1) {
    throw std::invalid_argument("accumulate " + std::to_string(accumulate) + " must be >= 1");
  }
}

int64_t StepReader::steps_per_epoch() const {
  return (loader_.batches_per_epoch() + accumulate_ - 1) / accumulate_;
}

std::optional<Step> StepReader::next() {
  auto first = loader_.next();
  if (!first) return std::nullopt;
  if (first->index % accumulate_ != 0) {
    throw std::logic_error("StepReader: the epoch starts at micro-batch " +
                           std::to_string(first->index) + ", inside a step of " +
                           std::to_string(accumulate_) + " micro-batches");
  }
  Step step;
  step.index = first->index / accumulate_;
  const int64_t micro_batch = loader_.options().batch_size;  // global, over every rank
  const int64_t last = std::min((step.index + 1) * accumulate_, loader_.batches_per_epoch()) - 1;
  auto global_size = [&](int64_t k) { return std::min(micro_batch, dataset_size_ - k * micro_batch); };
  step.global_samples = global_size(first->index);
  step.micro.push_back(std::move(*first));
  while (step.micro.back().index < last) {
    auto batch = loader_.next();
    if (!batch) throw std::logic_error("StepReader: the loader ended inside a step");
    step.global_samples += global_size(batch->index);
    step.micro.push_back(std::move(*batch));
  }
  return step;
}

// ---- bucketed gradient reduction -------------------------------------------------------------

GradientReducer::GradientReducer(Group& group, std::vector<at::Tensor> params, int64_t bucket_bytes)
    : group_(group) {
  for (auto& p : params) {
    if (p.requires_grad()) params_.push_back(p);
  }
  // Fill one open bucket per (dtype, device) in parameter order; close it once it is full.
  std::vector<std::pair<size_t, int64_t>> open;  // (bucket index, bytes so far)
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    auto same_kind = [&](const std::pair<size_t, int64_t>& b) {
      const auto& q = params_[buckets_[b.first].front()];
      return q.scalar_type() == p.scalar_type() && q.device() == p.device();
    };
    auto it = std::find_if(open.begin(), open.end(), same_kind);
    if (it != open.end() && it->second + bytes > bucket_bytes) {
      open.erase(it);
      it = open.end();
    }
    if (it == open.end()) {
      buckets_.emplace_back();
      open.emplace_back(buckets_.size() - 1, 0);
      it = open.end() - 1;
    }
    buckets_[it->first].push_back(i);
    it->second += bytes;
  }
}

void GradientReducer::reduce(Reduction reduction) {
  const int64_t world = group_.world_size();
  if (world == 1) return;
  // Each bucket: its gradients (zeros where this rank has none) and, last, one flag per
  // parameter (1 where this rank has a gradient), reduced in the same allreduce.
  std::vector<std::vector<at::Tensor>> lists;
  for (const auto& bucket : buckets_) {
    std::vector<at::Tensor> list;
    std::vector<double> has_grad;
    for (size_t i : bucket) {
      auto& grad = params_[i].mutable_grad();
      has_grad.push_back(grad.defined() ? 1.0 : 0.0);
      if (!grad.defined()) grad = at::zeros_like(params_[i]);
      list.push_back(grad);
    }
    const auto& p = params_[bucket.front()];
    list.push_back(at::tensor(has_grad, at::kDouble).to(p.device(), p.scalar_type()));
    lists.push_back(std::move(list));
  }
  group_.allreduce_sum(lists, "gradient allreduce");
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto counts = lists[b].back().to(at::kCPU, at::kDouble);
    const double* count = counts.data_ptr<double>();
    for (size_t j = 0; j < buckets_[b].size(); ++j) {
      auto& grad = params_[buckets_[b][j]].mutable_grad();
      if (count[j] == 0) {
        grad = at::Tensor();  // no rank had a gradient: the optimizer skips it, as in one process
      } else if (reduction == Reduction::Average) {
        grad.div_(static_cast<double>(world));
      }
    }
  }
}

}  // namespace parallel
}  // namespace swd
