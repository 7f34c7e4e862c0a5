#pragma once
// The multi-tensor path's shared pieces (optimizer_base.h): the decay modes of decay.h over a
// list of parameters at once, and a list times or divided by a 0-dim device tensor, with
// ATen's _foreach_ ops. Each function does what its decay.h counterpart does per tensor, with
// the same operations, so that on the CPU the results are the reference path's bit for bit.

#include <ATen/Tensor.h>

#include <vector>

#include "swd/optim/decay.h"

namespace swd {
namespace optim {
namespace multi {

using Tensors = std::vector<at::Tensor>;

/// Per-tensor host numbers as the Scalar list the _foreach_ ops take.
std::vector<at::Scalar> scalars(const std::vector<double>& values);

/// self[i] *= factor, self[i] /= divisor: a 0-dim tensor on self's device, never read on the
/// host. (LibTorch 1.13 has no _foreach_ op taking one tensor: each tensor is paired with the
/// factor expanded to its shape, which CUDA runs tensor by tensor.)
void mul_(const Tensors& self, const at::Tensor& factor);
void div_(const Tensors& self, const at::Tensor& divisor);

/// The float64 sum of a tensor's elements as a 0-dim float64 tensor on its device, for the
/// reference and multi-tensor paths alike. A CPU tensor that the fused loops can walk is
/// summed in float64 as read (fused::sum_elements); at::sum with dtype=kDouble would first
/// copy it whole to float64, which costs more than the rest of a step's passes over it.
at::Tensor sum_in_double(const at::Tensor& t);

/// sum(vhat) over the tensors, vhat = v / (1 - b2^t) with each tensor's own step t
/// (docs/OPTIMIZERS.md, the global vbar): one float64 reduction per tensor (no _foreach_ op
/// sums in float64), added in order; a 0-dim float64 tensor on their device.
at::Tensor vhat_sum(const Tensors& v, double beta2, const std::vector<int64_t>& steps);

/// gradient_with_l2 for every parameter: g + lambda * theta in L2 mode, else the gradients.
Tensors gradients_with_l2(const Tensors& grads, const Tensors& params, const DecayHyper& hyper);

/// apply_weight_decay for every parameter: theta *= decay_factor_of(hyper, scale) (decay.h);
/// nothing in L2 mode or with lambda = 0.
void apply_weight_decay(const Tensors& params, const DecayHyper& hyper, const EffectiveScale& scale);

}  // namespace multi
}  // namespace optim
}  // namespace swd
