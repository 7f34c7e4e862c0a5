#include "multi_tensor.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "fused_loop.h"

namespace swd {
namespace optim {
namespace multi {

std::vector<at::Scalar> scalars(const std::vector<double>& values) {
  return std::vector<at::Scalar>(values.begin(), values.end());
}

namespace {
Tensors expanded(const Tensors& like, const at::Tensor& scalar) {
  if (scalar.dim() != 0) {  // a broken invariant of the callers (errors.h)
    throw std::logic_error("multi-tensor path: invalid factor of " +
                           std::to_string(scalar.dim()) + " dimensions (expected a 0-dim tensor)");
  }
  Tensors out;
  out.reserve(like.size());
  for (const auto& t : like) out.push_back(scalar.expand_as(t));
  return out;
}
}  // namespace

void mul_(const Tensors& self, const at::Tensor& factor) {
  at::_foreach_mul_(self, expanded(self, factor));
}

void div_(const Tensors& self, const at::Tensor& divisor) {
  at::_foreach_div_(self, expanded(self, divisor));
}

at::Tensor sum_in_double(const at::Tensor& t) {
  if (fused::is_flat_cpu_float(t) && t.scalar_type() != at::kDouble) {
    return at::scalar_tensor(fused::sum_elements(t), at::kDouble);
  }
  return t.sum(at::kDouble);  // float64 as it is (the tests' bitwise paths)
}

at::Tensor vhat_sum(const Tensors& v, double beta2, const std::vector<int64_t>& steps) {
  at::Tensor sum;
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto s = sum_in_double(v[i]).div_(1 - std::pow(beta2, steps[i]));
    sum = sum.defined() ? sum.add(s) : s;
  }
  return sum;
}

Tensors gradients_with_l2(const Tensors& grads, const Tensors& params, const DecayHyper& hyper) {
  if (hyper.decay != Decay::L2 || hyper.weight_decay == 0) return grads;
  return at::_foreach_add(grads, params, hyper.weight_decay);  // g + lambda * theta
}

void apply_weight_decay(const Tensors& params, const DecayHyper& hyper, const EffectiveScale& scale) {
  const DecayFactor f = decay_factor_of(hyper, scale);  // the factor and its guard (decay.h)
  if (!f.applies) return;
  if (f.device.defined()) {
    mul_(params, f.device);
  } else {
    at::_foreach_mul_(params, f.host);
  }
}

}  // namespace multi
}  // namespace optim
}  // namespace swd
