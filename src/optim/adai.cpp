// Adai (Adaptive Inertia), matching swd_optim.Adai (L2) and swd_optim.AdaiS.
#include "swd/optim/adai.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "fused_loop.h"
#include "multi_tensor.h"
#include "validation.h"

namespace swd {
namespace optim {

void validate(const AdaiOptions& o, const std::string& where) {
  const char* name = "swd::optim::Adai";
  detail::require_common(o, name, where);
  detail::require(o.eps() >= 0 && o.eps() <= 1, name, "eps", o.eps(),
                  "0 <= eps <= 1 (eps bounds the inertia: beta1 <= 1 - eps)", where);
  detail::require_betas(o, name, where);
}

namespace {

/// Refuses bfloat16 parameters before their state changes: the state (prod(beta1) with it)
/// has the parameter's dtype, and bfloat16's 8 bits round 1 - eps to 1 for the default eps
/// (1e-3), so that prod stays 1 and theta -= eta * m / (1 - prod) divides by zero.
void require_inertia_dtype(const torch::Tensor& param) {
  if (param.scalar_type() != at::kBFloat16) return;
  throw std::invalid_argument(
      "swd::optim::Adai cannot step a bfloat16 parameter: its state, the product of the "
      "inertia factors among it, would be bfloat16, where 1 - eps rounds to 1 and the step "
      "divides by zero; keep float32 parameters (a float32 copy for the optimizer)");
}

/// m = 0, v = 0, prod(beta1) = 1, laid out like the parameter.
void allocate_state(const torch::Tensor& param, AdaiParamState& state) {
  state.exp_avg(torch::zeros_like(param, at::MemoryFormat::Preserve));
  state.exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
  state.beta1_prod(torch::ones_like(param, at::MemoryFormat::Preserve));
}

}  // namespace

torch::Tensor Adai::prepare(const torch::Tensor& param, const torch::Tensor& grad,
                            const AdaiOptions& o, AdaiParamState& state, bool) {
  require_inertia_dtype(param);
  if (!state.exp_avg().defined()) allocate_state(param, state);
  state.step(state.step() + 1);
  state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());  // v changes; sum not kept
  const double beta2 = std::get<1>(o.betas());
  state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);  // v = b2*v + (1-b2)*g*g
  // sum(vhat), vhat = v / (1 - b2^t)
  return multi::sum_in_double(state.exp_avg_sq()).div_(1 - std::pow(beta2, state.step()));
}

void Adai::update(torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
                  AdaiParamState& state, const torch::Tensor& vbar) {
  const double beta0 = std::get<0>(o.betas());
  const double bias_correction2 = 1 - std::pow(std::get<1>(o.betas()), state.step());
  const auto vhat = state.exp_avg_sq() / bias_correction2;
  // When every gradient so far was zero, vbar = 0 = vhat: the reference gets 0/0 = NaN. We
  // take vhat/vbar = 0 there, so beta1 = 1 - eps and the step is zero.
  // (masked_fill rather than where: it also runs on the meta device, see adam.cpp.)
  const auto safe_vbar = vbar.masked_fill(vbar <= 0, 1.0);
  // beta1 = clamp(1 - beta0 * vhat / vbar, 0, 1 - eps)
  const auto beta1 = (vhat / safe_vbar).mul_(-beta0).add_(1).clamp_(0, 1 - o.eps());
  state.beta1_prod().mul_(beta1);                                        // prod *= beta1
  state.exp_avg().mul_(beta1).addcmul_(at::rsub(beta1, 1), grad);             // m = b1*m + (1-b1)*g
  param.add_(state.exp_avg() / at::rsub(state.beta1_prod(), 1), -o.lr());     // theta -= eta*m/(1-prod)
}

// ---- Fused path -----------------------------------------------------------------------------
// Pass 1 reads only the gradient: the running sum of v gives sum(vhat) for the global vbar
// before v is updated. Pass 2 updates v, the inertia, m and theta in one pass, summing v as it
// stores it (the next step's running sum, see fused_loop.h).

void Adai::fused_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                         const AdaiOptions& o, AdaiParamState& state, const FusedScalars& scalars,
                         fused::Loops& loops) {
  require_inertia_dtype(param);
  if (!state.exp_avg().defined()) {
    allocate_state(param, state);
    state.exp_avg_sq_sum(0.0);
  }
  state.step(state.step() + 1);
  if (!scalars.with_vbar) throw std::logic_error("Adai needs the global vbar at every step");
  fused::add_vhat_sum_from_running_sum(loops, param, grad, scalars.l2, std::get<1>(o.betas()),
                                       state);
}

void Adai::fused_update(torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
                        AdaiParamState& state, const FusedScalars& scalars, fused::Loops& loops) {
  const double beta0 = std::get<0>(o.betas());
  const double beta2 = std::get<1>(o.betas());
  const double bias_correction2 = 1 - std::pow(beta2, state.step());
  // vbar = 0 (every gradient so far zero): vhat/vbar taken as 0, as in update(); a NaN vbar
  // stays NaN, as there.
  const double safe_vbar = scalars.vbar <= 0 ? 1.0 : scalars.vbar;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, param.scalar_type(), "swd_adai_fused_update", [&] {
    using T = scalar_t;                // the elements
    using S = at::opmath_type<T>;      // the arithmetic (fused_loop.h)
    const S l2 = scalars.l2, decay = scalars.decay_factor, neg_lr = -o.lr();
    const S b2 = beta2, one_minus_b2 = 1 - beta2, bc2 = bias_correction2;
    const S vbar = safe_vbar, neg_beta0 = -beta0, max_beta1 = 1 - o.eps();
    const S smallest_normal = static_cast<S>(std::numeric_limits<T>::min());
    // docs/OPTIMIZERS.md, Adai (the paper, arXiv 2011.11152): g += lambda*theta (L2);
    // theta *= 1 - eta*lambda (AdaiS); v = b2*v + (1-b2)*g*g;
    // beta1 = clamp(1 - beta0 * (v/(1-b2^t)) / vbar, 0, 1-eps);
    // prod *= beta1; m = beta1*m + (1-beta1)*g; theta -= eta * m/(1-prod), in update()'s order.
    // prod falls towards 0 over training, through the subnormal numbers, where arithmetic is
    // many times slower on x86 CPUs; below the smallest normal number it is stored as 0
    // instead: 1 - prod is exactly 1 long before (for prod < 2^-54, float64 included), so theta
    // and m are the same as without the flush. (The reference path keeps the subnormals.)
    fused::add_pass_keeping_running_sum(
        loops, param.numel(),
        [=](T& p, const T& g, T& m, T& v, T& prod) {
          const S gl = S(g) + l2 * S(p);
          p = S(p) * decay;
          v = S(v) * b2 + one_minus_b2 * gl * gl;
          const S beta1 = std::min(std::max(S(v) / bc2 / vbar * neg_beta0 + S(1), S(0)), max_beta1);
          prod = S(prod) * beta1;
          prod = S(prod) < smallest_normal ? S(0) : S(prod);
          m = S(m) * beta1 + (S(1) - beta1) * gl;
          p = S(p) + neg_lr * (S(m) / (S(1) - S(prod)));
          return static_cast<double>(v);
        },
        state, param.data_ptr<T>(), grad.data_ptr<T>(), state.exp_avg().data_ptr<T>(),
        state.exp_avg_sq().data_ptr<T>(), state.beta1_prod().data_ptr<T>());
  });
}

// ---- Multi-tensor path: prepare() and update() over a group's parameters at once -----------

torch::Tensor Adai::prepare_many(const Tensors& params, const Tensors& grads, const AdaiOptions& o,
                                 const States& states, bool) {
  const double beta2 = std::get<1>(o.betas());
  for (const auto& p : params) require_inertia_dtype(p);
  std::vector<torch::Tensor> v;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& state = *states[i];
    if (!state.exp_avg().defined()) allocate_state(params[i], state);
    state.step(state.step() + 1);
    state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());  // v changes; sum not kept
    v.push_back(state.exp_avg_sq());
  }
  at::_foreach_mul_(v, beta2);  // v = b2*v + (1-b2)*g*g
  at::_foreach_addcmul_(v, grads, grads, 1 - beta2);
  std::vector<int64_t> steps;
  for (const auto* s : states) steps.push_back(s->step());
  return multi::vhat_sum(v, beta2, steps);  // sum(vhat), vhat = v / (1 - b2^t)
}

void Adai::update_many(const Tensors& params, const Tensors& grads, const AdaiOptions& o,
                       const States& states, const torch::Tensor& vbar) {
  std::vector<torch::Tensor> m, v, prod;
  std::vector<double> bc2;
  for (auto* s : states) {
    const auto& state = *s;
    m.push_back(state.exp_avg());
    v.push_back(state.exp_avg_sq());
    prod.push_back(state.beta1_prod());
    bc2.push_back(1 - std::pow(std::get<1>(o.betas()), state.step()));
  }
  // As update(): vbar <= 0 (every gradient so far zero) takes vhat/vbar = 0.
  const auto safe_vbar = vbar.masked_fill(vbar <= 0, 1.0);
  auto beta1 = at::_foreach_div(v, multi::scalars(bc2));  // vhat = v / (1 - b2^t)
  multi::div_(beta1, safe_vbar);
  at::_foreach_mul_(beta1, -std::get<0>(o.betas()));       // beta1 = clamp(1 - beta0 * vhat / vbar,
  at::_foreach_add_(beta1, 1.0);                           //               0, 1 - eps)
  for (auto& b : beta1) b.clamp_(0, 1 - o.eps());
  at::_foreach_mul_(prod, beta1);                          // prod *= beta1
  auto one_minus_beta1 = at::_foreach_neg(beta1);
  at::_foreach_add_(one_minus_beta1, 1.0);
  at::_foreach_mul_(m, beta1);                             // m = b1*m + (1-b1)*g
  at::_foreach_addcmul_(m, one_minus_beta1, grads);
  auto one_minus_prod = at::_foreach_neg(prod);
  at::_foreach_add_(one_minus_prod, 1.0);
  at::_foreach_add_(params, at::_foreach_div(m, one_minus_prod), -o.lr());  // theta -= eta*m/(1-prod)
}

}  // namespace optim
}  // namespace swd
