// SGD with momentum, matching torch.optim.SGD (PyTorch 1.13) and swd_optim.SGDS.
#include "swd/optim/sgd.h"

#include <ATen/ATen.h>

#include "validation.h"

namespace swd {
namespace optim {

void validate(const SGDOptions& o, const std::string& where) {
  const char* name = "swd::optim::SGD";
  detail::require_common(o, name, where);
  detail::require(o.momentum() >= 0, name, "momentum", o.momentum(), "momentum >= 0", where);
  if (o.decay() == Decay::Stable) {
    // The stable factor (1 - d) / (1 - mu) divides by 1 - momentum.
    detail::require(o.momentum() < 1, name, "momentum", o.momentum(),
                    "momentum < 1 with stable weight decay", where);
  }
  detail::require(o.dampening() >= 0 && o.dampening() <= 1, name, "dampening", o.dampening(),
                  "0 <= dampening <= 1", where);
  if (o.nesterov()) {
    detail::require(o.momentum() > 0, name, "momentum", o.momentum(),
                    "momentum > 0 with nesterov", where);
    detail::require(o.dampening() == 0, name, "dampening", o.dampening(),
                    "dampening == 0 with nesterov", where);
  }
}

torch::Tensor SGD::prepare(const torch::Tensor&, const torch::Tensor&,
                           const torch::optim::OptimizerOptions&,
                           torch::optim::OptimizerParamState&, bool) {
  return {};  // SGD keeps no moment that the decay depends on.
}

EffectiveScale SGD::effective_scale(const torch::optim::OptimizerOptions& options,
                                    const torch::Tensor&) const {
  // SGDS: eta_eff / eta = (1 - d) / (1 - mu), as swd_optim.SGDS (also when mu = 0).
  const auto& o = options_of(options);
  return {(1 - o.dampening()) / (1 - o.momentum()), {}};
}

void SGD::update(torch::Tensor& param, const torch::Tensor& grad,
                 const torch::optim::OptimizerOptions& options,
                 torch::optim::OptimizerParamState& param_state, const torch::Tensor&) {
  const auto& o = options_of(options);
  auto& state = state_of(param_state);
  torch::Tensor direction = grad;
  if (o.momentum() != 0) {
    // First step buf = g; later buf = mu*buf + (1-d)*g. Nesterov: u = g + mu*buf.
    if (!state.momentum_buffer().defined()) {
      state.momentum_buffer(grad.clone().detach());
    } else {
      state.momentum_buffer().mul_(o.momentum()).add_(grad, 1 - o.dampening());
    }
    direction = o.nesterov() ? grad.add(state.momentum_buffer(), o.momentum())
                             : state.momentum_buffer();
  }
  param.add_(direction, -o.lr());  // theta -= eta * u
}

}  // namespace optim
}  // namespace swd
