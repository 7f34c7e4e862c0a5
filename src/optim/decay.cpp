#include "swd/optim/decay.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "swd/util/words.h"

namespace swd {
namespace optim {

namespace {
constexpr util::Word<Decay> kDecays[] = {
    {"l2", Decay::L2}, {"decoupled", Decay::Decoupled}, {"stable", Decay::Stable}};
}  // namespace

std::string to_string(Decay decay) { return util::word_of(kDecays, decay); }

Decay decay_from_string(const std::string& name) {
  return util::parse_word(kDecays, name, "weight-decay mode");
}

at::Tensor gradient_with_l2(const at::Tensor& grad, const at::Tensor& param,
                            const DecayHyper& hyper) {
  if (hyper.decay != Decay::L2 || hyper.weight_decay == 0) return grad;
  return grad.add(param, hyper.weight_decay);  // g + lambda * theta
}

double l2_coefficient(const DecayHyper& hyper) {
  return hyper.decay == Decay::L2 ? hyper.weight_decay : 0.0;
}

double decay_rate(const DecayHyper& hyper, const EffectiveScale& scale) {
  if (hyper.decay == Decay::L2 || hyper.weight_decay == 0) return 0.0;
  if (hyper.decay == Decay::Decoupled) return hyper.lr * hyper.weight_decay;  // eta * lambda
  // Stable: eta * lambda * (eta_eff / eta)
  const double s = scale.device.defined() ? scale.device.item<double>() : scale.host;
  return hyper.lr * hyper.weight_decay * s;
}

DecayFactor decay_factor_of(const DecayHyper& hyper, const EffectiveScale& scale) {
  DecayFactor f;
  if (hyper.decay == Decay::L2 || hyper.weight_decay == 0) return f;  // no multiplicative decay
  f.applies = true;
  if (hyper.decay == Decay::Decoupled) {
    f.host = 1 - decay_rate(hyper, scale);  // theta *= 1 - eta * lambda
    return f;
  }
  // Stable: theta *= 1 - eta * lambda * (eta_eff / eta)   (docs/OPTIMIZERS.md, "The stable
  // decay factor"; the paper, arXiv 2011.11152). Below 0 the weights would change sign: the
  // factor becomes NaN, so that the failure shows (check_stable_factor refuses a host one
  // before any parameter changes; a device one is not read back).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (scale.device.defined()) {
    f.device = scale.device.mul(-hyper.lr * hyper.weight_decay).add_(1);
    f.device.masked_fill_(f.device < 0, nan);
  } else {
    f.host = 1 - decay_rate(hyper, scale);
    if (f.host < 0) f.host = nan;
  }
  return f;
}

void apply_weight_decay(at::Tensor& param, const DecayHyper& hyper,
                        const EffectiveScale& scale) {
  const DecayFactor f = decay_factor_of(hyper, scale);
  if (!f.applies) return;
  if (f.device.defined()) {
    param.mul_(f.device);
  } else {
    param.mul_(f.host);
  }
}

void check_stable_factor(std::size_t group, const DecayHyper& hyper, const EffectiveScale& scale) {
  if (hyper.decay != Decay::Stable || scale.device.defined()) return;
  const double factor = 1 - decay_rate(hyper, scale);  // as decay_factor_of
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
  const DecayFactor f = decay_factor_of(hyper, scale);
  if (!f.device.defined()) return f.host;
  if (!f.device.device().is_cpu()) throw std::logic_error("decay_factor reads a CPU scalar only");
  return f.device.item<double>();
}

}  // namespace optim
}  // namespace swd
