#include "swd/optim/decay.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace swd {
namespace optim {

std::string to_string(Decay decay) {
  switch (decay) {
    case Decay::L2: return "l2";
    case Decay::Decoupled: return "decoupled";
    case Decay::Stable: return "stable";
  }
  return "unknown";
}

Decay decay_from_string(const std::string& name) {
  if (name == "l2") return Decay::L2;
  if (name == "decoupled") return Decay::Decoupled;
  if (name == "stable") return Decay::Stable;
  throw std::invalid_argument("unknown weight-decay mode '" + name +
                              "' (expected l2, decoupled or stable)");
}

at::Tensor gradient_with_l2(const at::Tensor& grad, const at::Tensor& param,
                            const DecayHyper& hyper) {
  if (hyper.decay != Decay::L2 || hyper.weight_decay == 0) return grad;
  return grad.add(param, hyper.weight_decay);  // g + lambda * theta
}

double l2_coefficient(const DecayHyper& hyper) {
  return hyper.decay == Decay::L2 ? hyper.weight_decay : 0.0;
}

void apply_weight_decay(at::Tensor& param, const DecayHyper& hyper,
                        const EffectiveScale& scale) {
  if (hyper.decay == Decay::L2 || hyper.weight_decay == 0) return;
  if (hyper.decay == Decay::Decoupled) {
    param.mul_(1 - hyper.lr * hyper.weight_decay);  // theta *= 1 - eta * lambda
    return;
  }
  // Stable: theta *= 1 - eta * lambda * (eta_eff / eta)
  if (scale.device.defined()) {
    param.mul_(scale.device.mul(-hyper.lr * hyper.weight_decay).add_(1));
  } else {
    param.mul_(1 - hyper.lr * hyper.weight_decay * scale.host);
  }
}

double decay_factor(const DecayHyper& hyper, const EffectiveScale& scale) {
  if (hyper.decay == Decay::L2 || hyper.weight_decay == 0) return 1.0;
  if (hyper.decay == Decay::Decoupled) return 1 - hyper.lr * hyper.weight_decay;
  if (scale.device.defined()) {  // the same float64 operations as apply_weight_decay
    TORCH_CHECK(scale.device.device().is_cpu(), "decay_factor reads a CPU scalar only");
    return scale.device.mul(-hyper.lr * hyper.weight_decay).add_(1).item<double>();
  }
  return 1 - hyper.lr * hyper.weight_decay * scale.host;
}

}  // namespace optim
}  // namespace swd
