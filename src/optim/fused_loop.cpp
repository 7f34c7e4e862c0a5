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
         (type == at::kFloat || type == at::kDouble) && !t.is_neg() &&
         t.is_non_overlapping_and_dense();
}

bool same_layout(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() && t.device() == like.device() && t.layout() == at::kStrided &&
         t.scalar_type() == like.scalar_type() && !t.is_neg() && t.sizes() == like.sizes() &&
         t.strides() == like.strides();
}

double sum_elements(const at::Tensor& t) {
  double sum = 0;
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "swd_fused_sum", [&] {
    sum = sum_over_elements(
        t.numel(), [](const scalar_t& x) { return static_cast<double>(x); },
        t.data_ptr<scalar_t>());
  });
  return sum;
}

}  // namespace fused
}  // namespace optim
}  // namespace swd
