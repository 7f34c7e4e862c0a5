#pragma once
// The scaffolding every fused kernel shares (private to the library).
//
// A fused kernel is a per-element lambda over one element of the parameter, its gradient and
// its state tensors, run once over each parameter's memory (plain loops the compiler
// vectorises; see docs/PERFORMANCE.md for why plain loops and not at::vec::Vectorized). A step
// queues every parameter's kernel in a Loops and runs them all in one parallel region, split
// between the threads by element count. for_each_element and sum_over_elements run one
// kernel at once. Callers hand raw pointers into tensors that is_flat_cpu_float / same_layout
// accepted.

#include <ATen/Parallel.h>
#include <ATen/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <functional>
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

/// Whether the loops below run their AVX2+FMA variant (see set_fused_isa in optimizer_base.h).
bool use_avx2();

namespace detail {

// Every loop exists twice: compiled for the baseline ISA the library is built for, and (on
// x86-64) for AVX2 with FMA through a target attribute, taken at run time where the CPU has
// them. The kernels themselves are written once; they are inlined into both variants.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SWD_FUSED_HAVE_AVX2 1
#define SWD_FUSED_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define SWD_FUSED_HAVE_AVX2 0
#endif

// Each chunk works on a local copy of the kernel: its captured scalars then cannot alias the
// arrays, so the compiler keeps them in registers and vectorises the loop.
template <typename F, typename... T>
[[gnu::always_inline]] inline void loop(const F& kernel, int64_t n, T* __restrict__... arrays) {
  const F f = kernel;
  for (int64_t i = 0; i < n; ++i) f(arrays[i]...);
}

// A float64 sum with kLanes independent accumulators, which the compiler can vectorise
// without reassociating (more lanes than vector slots keep the adds from waiting on each
// other).
template <int kLanes, typename F, typename... T>
[[gnu::always_inline]] inline double sum_loop(const F& kernel, int64_t n,
                                              T* __restrict__... arrays) {
  const F f = kernel;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] += f(arrays[i + k]...);
  }
  for (int width = kLanes / 2; width > 0; width /= 2) {  // pairwise: fixed order
    for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
  }
  for (; i < n; ++i) acc[0] += f(arrays[i]...);
  return acc[0];
}

template <typename F, typename... T>
void run_chunk_baseline(const F& kernel, int64_t n, T*... arrays) {
  loop(kernel, n, arrays...);
}
template <typename F, typename... T>
double sum_chunk_baseline(const F& kernel, int64_t n, T*... arrays) {
  return sum_loop<8>(kernel, n, arrays...);
}
#if SWD_FUSED_HAVE_AVX2
template <typename F, typename... T>
SWD_FUSED_TARGET_AVX2 void run_chunk_avx2(const F& kernel, int64_t n, T*... arrays) {
  loop(kernel, n, arrays...);
}
template <typename F, typename... T>
SWD_FUSED_TARGET_AVX2 double sum_chunk_avx2(const F& kernel, int64_t n, T*... arrays) {
  return sum_loop<16>(kernel, n, arrays...);
}
#endif

template <typename F, typename... T>
void run_chunk(const F& kernel, int64_t n, T*... arrays) {
#if SWD_FUSED_HAVE_AVX2
  if (use_avx2()) return run_chunk_avx2(kernel, n, arrays...);
#endif
  run_chunk_baseline(kernel, n, arrays...);
}
template <typename F, typename... T>
double sum_chunk(const F& kernel, int64_t n, T*... arrays) {
#if SWD_FUSED_HAVE_AVX2
  if (use_avx2()) return sum_chunk_avx2(kernel, n, arrays...);
#endif
  return sum_chunk_baseline(kernel, n, arrays...);
}

}  // namespace detail

/// The loops of one optimizer step over its fused parameters, run together: each parameter's
/// kernel is queued (add, add_sum) and run() executes everything queued in one parallel region,
/// the elements of all queued loops split evenly between the threads, so that small tensors
/// leave no thread idle and a step pays for one region instead of one per parameter. Queued
/// loops must not write memory that another queued loop touches.
class Loops {
 public:
  /// Queues f(arrays[i]...) for every i in [0, n); f takes a reference to one element of each
  /// array and may write the non-const ones.
  template <typename F, typename... T>
  void add(int64_t n, const F& f, T*... arrays) {
    if (n <= 0) return;
    jobs_.push_back({n, [f, arrays...](int64_t begin, int64_t end) {
                       detail::run_chunk(f, end - begin, (arrays + begin)...);
                       return 0.0;
                     },
                     nullptr});
  }

  /// Queues the float64 sum of what f returns over [0, n): partial sums over blocks of
  /// kSumBlock elements, added in block order, so that it does not depend on the number of
  /// threads. After the parallel region, run() calls finish(sum) for each queued sum, in the
  /// order they were queued.
  template <typename F, typename Finish, typename... T>
  void add_sum(int64_t n, const F& f, Finish finish, T*... arrays) {
    jobs_.push_back({std::max<int64_t>(n, 0),
                     [f, arrays...](int64_t begin, int64_t end) {
                       return detail::sum_chunk(f, end - begin, (arrays + begin)...);
                     },
                     std::function<double(double)>(std::move(finish))});
  }

  /// Runs everything queued and empties the queue. Returns the sum, in queuing order, of
  /// what the finish calls of the queued sums returned (0 without sums).
  double run();

 private:
  struct Job {
    int64_t n;
    std::function<double(int64_t, int64_t)> over;  ///< the kernel over [begin, end)
    std::function<double(double)> finish;          ///< sums only
  };
  std::vector<Job> jobs_;
};

/// Calls f(arrays[i]...) for every i in [0, n), in parallel chunks. The arrays must not overlap;
/// f takes a reference to one element of each and may write the non-const ones.
template <typename F, typename... T>
void for_each_element(int64_t n, const F& f, T*... arrays) {
  Loops loops;
  loops.add(n, f, arrays...);
  loops.run();
}

/// As for_each_element, and returns the float64 sum of what f returns (Loops::add_sum).
template <typename F, typename... T>
double sum_over_elements(int64_t n, const F& f, T*... arrays) {
  Loops loops;
  loops.add_sum(n, f, [](double sum) { return sum; }, arrays...);
  return loops.run();
}

/// Queues sum((g + l2 * theta)^2) in float64 over one parameter, g + l2*theta rounded to T as
/// the kernels round it, then finish(sum). Reads theta only when l2 != 0.
template <typename T, typename Finish>
void add_sum_of_squares(Loops& loops, int64_t n, const T* grad, const T* param, T l2,
                        Finish finish) {
  if (l2 != T(0)) {
    loops.add_sum(
        n,
        [=](const T& g, const T& p) {
          const double gl = static_cast<double>(T(g + l2 * p));
          return gl * gl;
        },
        std::move(finish), grad, param);
    return;
  }
  loops.add_sum(
      n,
      [](const T& g) {
        const double gd = static_cast<double>(g);
        return gd * gd;
      },
      std::move(finish), grad);
}

/// The same sum, at once.
template <typename T>
double sum_of_squares(int64_t n, const T* grad, const T* param, T l2) {
  Loops loops;
  add_sum_of_squares(loops, n, grad, param, l2, [](double sum) { return sum; });
  return loops.run();
}

/// float64 sum of the elements of a tensor that is_flat_cpu_float accepts.
double sum_elements(const at::Tensor& t);

}  // namespace fused
}  // namespace optim
}  // namespace swd
