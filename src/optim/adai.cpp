// Adai (Adaptive Inertia), matching swd_optim.Adai (L2) and swd_optim.AdaiS.
#include "swd/optim/adai.h"

#include <ATen/ATen.h>

#include <cmath>

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

torch::Tensor Adai::prepare(const torch::Tensor& param, const torch::Tensor& grad,
                            const torch::optim::OptimizerOptions& options,
                            torch::optim::OptimizerParamState& param_state, bool) {
  const auto& o = options_of(options);
  auto& state = state_of(param_state);
  if (!state.exp_avg().defined()) {
    state.exp_avg(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state.exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state.beta1_prod(torch::ones_like(param, at::MemoryFormat::Preserve));
  }
  state.step(state.step() + 1);
  const double beta2 = std::get<1>(o.betas());
  state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);  // v = b2*v + (1-b2)*g*g
  // sum(vhat), vhat = v / (1 - b2^t)
  return state.exp_avg_sq().sum(at::kDouble).div_(1 - std::pow(beta2, state.step()));
}

EffectiveScale Adai::effective_scale(const torch::optim::OptimizerOptions&,
                                     const torch::Tensor&) const {
  return {1.0, {}};  // Adai's effective learning rate is eta: AdaiS decays by eta * lambda.
}

void Adai::update(torch::Tensor& param, const torch::Tensor& grad,
                  const torch::optim::OptimizerOptions& options,
                  torch::optim::OptimizerParamState& param_state, const torch::Tensor& vbar) {
  const auto& o = options_of(options);
  auto& state = state_of(param_state);
  const double beta0 = std::get<0>(o.betas());
  const double bias_correction2 = 1 - std::pow(std::get<1>(o.betas()), state.step());
  const auto vhat = state.exp_avg_sq() / bias_correction2;
  // When every gradient so far was zero, vbar = 0 = vhat: the reference gets 0/0 = NaN. We
  // take vhat/vbar = 0 there, so beta1 = 1 - eps and the step is zero.
  const auto safe_vbar = at::where(vbar > 0, vbar, at::ones_like(vbar));
  // beta1 = clamp(1 - beta0 * vhat / vbar, 0, 1 - eps)
  const auto beta1 = (vhat / safe_vbar).mul_(-beta0).add_(1).clamp_(0, 1 - o.eps());
  state.beta1_prod().mul_(beta1);                                        // prod *= beta1
  state.exp_avg().mul_(beta1).addcmul_(at::rsub(beta1, 1), grad);             // m = b1*m + (1-b1)*g
  param.add_(state.exp_avg() / at::rsub(state.beta1_prod(), 1), -o.lr());     // theta -= eta*m/(1-prod)
}

}  // namespace optim
}  // namespace swd
