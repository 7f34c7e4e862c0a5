#pragma once
// The scaffolding every fused kernel shares (private to the library).
//
// A fused kernel is a per-element lambda over one element of the parameter, its gradient and
// its state tensors, run once over each parameter's memory by for_each_element (in parallel
// chunks, plain loops the compiler vectorises; see docs/PERFORMANCE.md for why plain loops and
// not at::vec::Vectorized). sum_over_elements is the same pass with a float64 sum.
// Callers hand raw pointers into tensors that fused_supported() accepted: dense, one layout.

#include <ATen/Parallel.h>
#include <ATen/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace swd {
namespace optim {
namespace fused {

/// Elements per parallel chunk: a smaller tensor is updated by one thread.
constexpr int64_t kGrain = 1 << 15;
/// Elements per block of a sum. Partial sums are taken per block and added in block order,
/// so a sum does not depend on the number of threads.
constexpr int64_t kSumBlock = 1 << 16;

/// Whether `t` is a float32/float64 CPU tensor whose elements fill its memory (contiguous in
/// some dimension order, no gaps, no overlap) and that an elementwise pass can treat as a flat
/// array.
bool is_flat_cpu_float(const at::Tensor& t);

/// Whether `t` can be walked in lockstep with `like` (is_flat_cpu_float(like) assumed): same
/// dtype, device, sizes and strides.
bool same_layout(const at::Tensor& t, const at::Tensor& like);

namespace detail {

// Each chunk works on a local copy of the kernel: its captured scalars then cannot alias the
// arrays, so the compiler keeps them in registers and vectorises the loop.
template <typename F, typename... T>
inline void run_chunk(const F& kernel, int64_t n, T* __restrict__... arrays) {
  const F f = kernel;
  for (int64_t i = 0; i < n; ++i) f(arrays[i]...);
}

template <typename F, typename... T>
inline double sum_chunk(const F& kernel, int64_t n, T* __restrict__... arrays) {
  const F f = kernel;
  // Independent accumulators: a float64 sum the compiler can vectorise without reassociating.
  constexpr int kLanes = 8;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] += f(arrays[i + k]...);
  }
  double tail = 0;
  for (; i < n; ++i) tail += f(arrays[i]...);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) +
         tail;
}

}  // namespace detail

/// Calls f(arrays[i]...) for every i in [0, n), in parallel chunks. The arrays must not overlap;
/// f takes a reference to one element of each and may write the non-const ones.
template <typename F, typename... T>
void for_each_element(int64_t n, const F& f, T*... arrays) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    detail::run_chunk(f, end - begin, (arrays + begin)...);
  });
}

/// As for_each_element, and returns the float64 sum of what f returns.
template <typename F, typename... T>
double sum_over_elements(int64_t n, const F& f, T*... arrays) {
  if (n <= 0) return 0.0;
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(static_cast<std::size_t>(blocks), 0.0);
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = b * kSumBlock;
      partial[b] = detail::sum_chunk(f, std::min(kSumBlock, n - begin), (arrays + begin)...);
    }
  });
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

/// sum((g + l2 * theta)^2) in float64 over one parameter, g + l2*theta rounded to T as the
/// kernels round it. Reads theta only when l2 != 0.
template <typename T>
double sum_of_squares(int64_t n, const T* grad, const T* param, T l2) {
  if (l2 != T(0)) {
    return sum_over_elements(
        n,
        [=](const T& g, const T& p) {
          const double gl = static_cast<double>(T(g + l2 * p));
          return gl * gl;
        },
        grad, param);
  }
  return sum_over_elements(
      n,
      [](const T& g) {
        const double gd = static_cast<double>(g);
        return gd * gd;
      },
      grad);
}

/// float64 sum of the elements of a tensor that is_flat_cpu_float accepts.
double sum_elements(const at::Tensor& t);

}  // namespace fused
}  // namespace optim
}  // namespace swd
