#include "fused_loop.h"

#include <ATen/Dispatch.h>

namespace swd {
namespace optim {
namespace fused {

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
