#include "fused_loop.h"

#include <ATen/Dispatch.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "swd/optim/optimizer_base.h"

namespace swd {
namespace optim {

namespace {
bool cpu_has_avx2() {
#if SWD_FUSED_HAVE_AVX2
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

std::atomic<bool>& avx2_selected() {
  static std::atomic<bool> selected{[] {
    const char* env = std::getenv("SWD_FUSED_ISA");
    return cpu_has_avx2() && !(env != nullptr && std::strcmp(env, "baseline") == 0);
  }()};
  return selected;
}
}  // namespace

FusedIsa fused_isa() {
  return avx2_selected().load(std::memory_order_relaxed) ? FusedIsa::Avx2 : FusedIsa::Baseline;
}

FusedIsa set_fused_isa(FusedIsa isa) {
  avx2_selected().store(isa == FusedIsa::Avx2 && cpu_has_avx2(), std::memory_order_relaxed);
  return fused_isa();
}

namespace fused {

bool use_avx2() { return avx2_selected().load(std::memory_order_relaxed); }

bool is_flat_cpu_float(const at::Tensor& t) {
  const auto type = t.scalar_type();
  return t.defined() && t.device().is_cpu() && t.layout() == at::kStrided &&
         (type == at::kFloat || type == at::kDouble || type == at::kBFloat16) && !t.is_neg() &&
         t.is_non_overlapping_and_dense();
}

bool same_layout(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() && t.device() == like.device() && t.layout() == at::kStrided &&
         t.scalar_type() == like.scalar_type() && !t.is_neg() && t.sizes() == like.sizes() &&
         t.strides() == like.strides();
}

double Loops::run() {
  std::vector<Job> jobs;
  jobs.swap(jobs_);
  if (jobs.empty()) return 0.0;
  // The jobs' elements laid end to end in one virtual array, and each sum's first block.
  std::vector<int64_t> offset(jobs.size() + 1, 0);
  std::vector<std::size_t> first_block(jobs.size() + 1, 0);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    offset[j + 1] = offset[j] + jobs[j].n;
    const int64_t blocks = jobs[j].finish ? (jobs[j].n + kSumBlock - 1) / kSumBlock : 0;
    first_block[j + 1] = first_block[j] + static_cast<std::size_t>(blocks);
  }
  std::vector<double> partial(first_block.back(), 0.0);
  // Each thread takes one range of the virtual array: a loop is cut at the range's ends; a
  // sum's block is taken whole by the thread whose range holds its first element.
  at::parallel_for(0, offset.back(), kGrain, [&](int64_t begin, int64_t end) {
    auto j = static_cast<std::size_t>(
        std::upper_bound(offset.begin(), offset.end(), begin) - offset.begin() - 1);
    for (; j < jobs.size() && offset[j] < end; ++j) {
      const Job& job = jobs[j];
      const int64_t lo = std::max(begin, offset[j]) - offset[j];
      const int64_t hi = std::min(end, offset[j + 1]) - offset[j];
      if (!job.finish) {
        job.over(lo, hi);
        continue;
      }
      for (int64_t b = (lo + kSumBlock - 1) / kSumBlock; b * kSumBlock < hi; ++b) {
        partial[first_block[j] + static_cast<std::size_t>(b)] =
            job.over(b * kSumBlock, std::min(job.n, (b + 1) * kSumBlock));
      }
    }
  });
  double result = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    if (!jobs[j].finish) continue;
    const auto first = partial.begin() + static_cast<std::ptrdiff_t>(first_block[j]);
    const auto last = partial.begin() + static_cast<std::ptrdiff_t>(first_block[j + 1]);
    result += jobs[j].finish(std::accumulate(first, last, 0.0));
  }
  return result;
}

double sum_elements(const at::Tensor& t) {
  double sum = 0;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, t.scalar_type(), "swd_fused_sum", [&] {
    Loops loops;
    loops.add_sum(
        t.numel(), [](const scalar_t& x) { return static_cast<double>(x); },
        [](double total) { return total; }, t.data_ptr<scalar_t>());
    sum = loops.run();
  });
  return sum;
}

}  // namespace fused
}  // namespace optim
}  // namespace swd
