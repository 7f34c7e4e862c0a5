#pragma once
// The scaffolding every fused kernel shares (private to the library).
//
// A fused kernel is a per-element lambda over one element of the parameter, its gradient and
// its state tensors, run once over each parameter's memory (plain loops the compiler
// vectorises; see docs/PERFORMANCE.md for why plain loops and not at::vec::Vectorized). It
// computes in at::opmath_type of the element type (float for bfloat16, the type itself for
// float32 and float64) and rounds to the element type where it stores a weight or a moment.
// A step queues every parameter's kernel in a Loops and runs them all in one parallel region,
// split between the threads by element count. Callers hand raw pointers into tensors that
// is_flat_cpu_float / same_layout accepted.

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/Tensor.h>

#include <algorithm>
#include <cmath>
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

/// Whether `t` is a float32/float64/bfloat16 CPU tensor whose elements fill its memory (contiguous in
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

/// Queues sum((g + l2 * theta)^2) in float64 over one parameter, g + l2*theta computed in
/// the kernels' type (at::opmath_type<T>) as they compute it, then finish(sum). Reads theta
/// only when l2 != 0.
template <typename T, typename Finish>
void add_sum_of_squares(Loops& loops, int64_t n, const T* grad, const T* param, double l2,
                        Finish finish) {
  using S = at::opmath_type<T>;
  const S l2s = l2;
  if (l2s != S(0)) {
    loops.add_sum(
        n,
        [=](const T& g, const T& p) {
          const double gl = static_cast<double>(S(S(g) + l2s * S(p)));
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

/// float64 sum of the elements of a tensor that is_flat_cpu_float accepts.
double sum_elements(const at::Tensor& t);

/// Stable Adam (without AMSGrad) and Adai: queues sum(vhat) over one parameter, predicted
/// from the running sum of v that the state keeps (exp_avg_sq_sum), docs/OPTIMIZERS.md
/// ("The global vbar") and the paper (arXiv 2011.11152):
///   sum(v_t) = b2 * sum(v_(t-1)) + (1 - b2) * sum(g_t^2),  g with the L2 term l2 * theta;
///   sum(vhat_t) = sum(v_t) / (1 - b2^t).
/// b2 and 1 - b2 are taken as the kernels' type rounds them, as the kernels update v with
/// them. The running sum is the exact float64 sum of v as stored, written back by pass 2
/// (add_pass_keeping_running_sum), so the prediction differs from the sum of the v the kernels
/// store only by one step's rounding of each element, and the difference never accumulates.
/// The finish updates the running sum and returns sum(vhat_t). Where the running sum is unknown
/// (NaN: v was last changed by the reference path), it is first taken from v.
template <typename State>
void add_vhat_sum_from_running_sum(Loops& loops, const at::Tensor& param,
                                   const at::Tensor& grad, double l2, double beta2,
                                   State& state) {
  if (std::isnan(state.exp_avg_sq_sum())) state.exp_avg_sq_sum(sum_elements(state.exp_avg_sq()));
  const double bias_correction2 = 1 - std::pow(beta2, state.step());
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, param.scalar_type(), "swd_fused_vhat_sum", [&] {
    const double b2 = static_cast<at::opmath_type<scalar_t>>(beta2);
    const double one_minus_b2 = static_cast<at::opmath_type<scalar_t>>(1 - beta2);
    add_sum_of_squares<scalar_t>(
        loops, param.numel(), grad.data_ptr<scalar_t>(), param.data_ptr<scalar_t>(), l2,
        [&state, b2, one_minus_b2, bias_correction2](double squares) {
          state.exp_avg_sq_sum(b2 * state.exp_avg_sq_sum() + one_minus_b2 * squares);
          return state.exp_avg_sq_sum() / bias_correction2;
        });
  });
}

/// Pass 2 of Stable Adam (without AMSGrad) and Adai: queues `kernel`, which updates v and
/// returns v as stored, and afterwards sets the running sum to the float64 sum of those values
/// (the same blocks and order as sum_elements, so the two agree bitwise).
template <typename State, typename F, typename... T>
void add_pass_keeping_running_sum(Loops& loops, int64_t n, const F& kernel, State& state,
                                  T*... arrays) {
  loops.add_sum(
      n, kernel,
      [&state](double sum_v) {
        state.exp_avg_sq_sum(sum_v);
        return 0.0;
      },
      arrays...);
}

}  // namespace fused
}  // namespace optim
}  // namespace swd
