// Adam / AMSGrad, matching torch.optim.Adam / AdamW (PyTorch 1.13) and swd_optim.AdamS.
#include "swd/optim/adam.h"

#include <ATen/ATen.h>

#include <cmath>

#include "validation.h"

namespace swd {
namespace optim {

void validate(const AdamOptions& o, const std::string& where) {
  detail::require_common(o, "swd::optim::Adam", where);
  detail::require(o.eps() >= 0, "swd::optim::Adam", "eps", o.eps(), "eps >= 0", where);
  detail::require_betas(o, "swd::optim::Adam", where);
}

torch::Tensor Adam::prepare(const torch::Tensor& param, const torch::Tensor& grad,
                            const torch::optim::OptimizerOptions& options,
                            torch::optim::OptimizerParamState& param_state,
                            bool want_vhat_sum) {
  const auto& o = options_of(options);
  auto& state = state_of(param_state);
  if (!state.exp_avg().defined()) {
    state.exp_avg(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state.exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
  }
  if (o.amsgrad() && !state.max_exp_avg_sq().defined()) {
    state.max_exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
  }
  state.step(state.step() + 1);
  const double beta1 = std::get<0>(o.betas());
  const double beta2 = std::get<1>(o.betas());
  state.exp_avg().mul_(beta1).add_(grad, 1 - beta1);                // m = b1*m + (1-b1)*g
  state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);   // v = b2*v + (1-b2)*g*g
  if (o.amsgrad()) {
    at::maximum_out(state.max_exp_avg_sq(), state.max_exp_avg_sq(), state.exp_avg_sq());
  }
  if (!want_vhat_sum) return {};
  // sum(vhat) with vhat = v / (1 - b2^t), or vmax / (1 - b2^t) with AMSGrad.
  const auto& v = o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq();
  return v.sum(at::kDouble).div_(1 - std::pow(beta2, state.step()));
}

EffectiveScale Adam::effective_scale(const torch::optim::OptimizerOptions&,
                                     const torch::Tensor& vbar) const {
  // AdamS: eta_eff / eta = 1 / sqrt(vbar). When every gradient so far was zero, vbar = 0 and
  // the reference divides by zero; we apply no decay for that step (the Adam step is zero too).
  TORCH_CHECK(vbar.defined(), "Stable decay needs the global vbar");
  return {1.0, at::where(vbar > 0, vbar.sqrt().reciprocal(), at::zeros_like(vbar))};
}

void Adam::update(torch::Tensor& param, const torch::Tensor&,
                  const torch::optim::OptimizerOptions& options,
                  torch::optim::OptimizerParamState& param_state, const torch::Tensor&) {
  const auto& o = options_of(options);
  auto& state = state_of(param_state);
  const double bias_correction1 = 1 - std::pow(std::get<0>(o.betas()), state.step());
  const double bias_correction2 = 1 - std::pow(std::get<1>(o.betas()), state.step());
  const auto& v = o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq();
  // theta -= eta / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), as torch computes it.
  const auto denom = (v.sqrt() / std::sqrt(bias_correction2)).add_(o.eps());
  param.addcdiv_(state.exp_avg(), denom, -o.lr() / bias_correction1);
}

}  // namespace optim
}  // namespace swd
