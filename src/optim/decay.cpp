#include "swd/optim/decay.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <sstream>
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
  // Stable: theta *= 1 - eta * lambda * (eta_eff / eta)   (docs/OPTIMIZERS.md; the paper,
  // arXiv 2011.11152). A device factor below 0 becomes NaN (see decay.h).
  if (scale.device.defined()) {
    auto factor = scale.device.mul(-hyper.lr * hyper.weight_decay).add_(1);
    param.mul_(factor.masked_fill_(factor < 0, std::numeric_limits<double>::quiet_NaN()));
  } else {
    param.mul_(1 - hyper.lr * hyper.weight_decay * scale.host);
  }
}

void check_stable_factor(std::size_t group, const DecayHyper& hyper, const EffectiveScale& scale) {
  if (hyper.decay != Decay::Stable || hyper.weight_decay == 0 || scale.device.defined()) return;
  const double factor = 1 - hyper.lr * hyper.weight_decay * scale.host;
  if (!(factor < 0)) return;  // [0, 1]; NaN (a NaN gradient) goes on to the weights, visibly
  std::ostringstream message;
  message.precision(6);
  message << "stable weight decay: the decay factor 1 - lr*weight_decay*(eta_eff/eta) = "
          << factor << " of parameter group " << group << " is below 0 (lr " << hyper.lr
          << ", weight_decay " << hyper.weight_decay << ", eta_eff/eta " << scale.host;
  if (!std::isnan(scale.sqrt_vbar)) message << " = 1/sqrt(vbar), sqrt(vbar) " << scale.sqrt_vbar;
  message << "); expected lr*weight_decay*(eta_eff/eta) <= 1: the weights would change sign."
          << " Lower lr or weight_decay, or warm the learning rate up";
  throw StableDecayError(message.str());
}

double decay_factor(const DecayHyper& hyper, const EffectiveScale& scale) {
  if (hyper.decay == Decay::L2 || hyper.weight_decay == 0) return 1.0;
  if (hyper.decay == Decay::Decoupled) return 1 - hyper.lr * hyper.weight_decay;
  if (scale.device.defined()) {  // the same float64 operations as apply_weight_decay
    if (!scale.device.device().is_cpu()) {
      throw std::logic_error("decay_factor reads a CPU scalar only");
    }
    return scale.device.mul(-hyper.lr * hyper.weight_decay).add_(1).item<double>();
  }
  return 1 - hyper.lr * hyper.weight_decay * scale.host;
}

}  // namespace optim
}  // namespace swd
