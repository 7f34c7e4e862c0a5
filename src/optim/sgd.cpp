// SGD with momentum, matching torch.optim.SGD (PyTorch 1.13) and swd_optim.SGDS.
#include "swd/optim/sgd.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>

#include "fused_loop.h"
#include "multi_tensor.h"
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

EffectiveScale SGD::effective_scale(const SGDOptions& o, const torch::Tensor&) const {
  // SGDS: eta_eff / eta = (1 - d) / (1 - mu), as swd_optim.SGDS (also when mu = 0).
  return {(1 - o.dampening()) / (1 - o.momentum()), {}};
}

void SGD::update(torch::Tensor& param, const torch::Tensor& grad, const SGDOptions& o,
                 SGDParamState& state, const torch::Tensor&) {
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

// ---- Fused path: decay, momentum and step in one pass -----------------------------------

void SGD::fused_update(torch::Tensor& param, const torch::Tensor& grad, const SGDOptions& o,
                       SGDParamState& state, const FusedScalars& scalars, fused::Loops& loops) {
  const bool first = o.momentum() != 0 && !state.momentum_buffer().defined();
  if (first) state.momentum_buffer(torch::zeros_like(param, at::MemoryFormat::Preserve));
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, param.scalar_type(), "swd_sgd_fused", [&] {
    using T = scalar_t;                // the elements
    using S = at::opmath_type<T>;      // the arithmetic (fused_loop.h)
    const S l2 = scalars.l2, decay = scalars.decay_factor, neg_lr = -o.lr();
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    if (o.momentum() == 0) {
      // docs/OPTIMIZERS.md, SGD (the paper, arXiv 2011.11152): g += lambda*theta (L2);
      // theta *= decay factor; theta -= eta*g
      loops.add(
          param.numel(),
          [=](T& p, const T& g) {
            const S gl = S(g) + l2 * S(p);
            p = S(p) * decay;
            p = S(p) + neg_lr * gl;
          },
          p, g);
      return;
    }
    // docs/OPTIMIZERS.md, SGD with momentum: buf = mu*buf + (1-d)*g, or buf = g on the first step
    // (written as 0*buf + 1*g over a zeroed buffer); u = g + mu*buf (Nesterov) or buf;
    // theta *= decay factor; theta -= eta*u.
    const S mu = first ? 0.0 : o.momentum();
    const S damp = first ? 1.0 : 1 - o.dampening();
    const S nesterov_mu = o.momentum();
    auto step = [&](auto nesterov) {
      loops.add(
          param.numel(),
          [=](T& p, const T& g, T& buf) {
            const S gl = S(g) + l2 * S(p);
            p = S(p) * decay;
            buf = S(buf) * mu + damp * gl;
            if constexpr (decltype(nesterov)::value) {
              p = S(p) + neg_lr * (gl + nesterov_mu * S(buf));
            } else {
              p = S(p) + neg_lr * S(buf);
            }
          },
          p, g, state.momentum_buffer().data_ptr<T>());
    };
    if (o.nesterov()) {
      step(std::true_type{});
    } else {
      step(std::false_type{});
    }
  });
}

// ---- Multi-tensor path: update() over a group's parameters at once (multi_tensor.h) --------

void SGD::update_many(const Tensors& params, const Tensors& grads, const SGDOptions& o,
                      const States& states, const torch::Tensor&) {
  if (o.momentum() == 0) {
    at::_foreach_add_(params, grads, -o.lr());  // theta -= eta * g
    return;
  }
  // First step buf = g; later buf = mu*buf + (1-d)*g. Nesterov: u = g + mu*buf.
  std::vector<torch::Tensor> buffers, later_buffers, later_grads;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& state = *states[i];
    if (!state.momentum_buffer().defined()) {
      state.momentum_buffer(grads[i].clone().detach());
    } else {
      later_buffers.push_back(state.momentum_buffer());
      later_grads.push_back(grads[i]);
    }
    buffers.push_back(state.momentum_buffer());
  }
  if (!later_buffers.empty()) {
    at::_foreach_mul_(later_buffers, o.momentum());
    at::_foreach_add_(later_buffers, later_grads, 1 - o.dampening());
  }
  const auto direction = o.nesterov() ? at::_foreach_add(grads, buffers, o.momentum()) : buffers;
  at::_foreach_add_(params, direction, -o.lr());  // theta -= eta * u
}

}  // namespace optim
}  // namespace swd
