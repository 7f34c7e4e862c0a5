#pragma once
// The three weight-decay modes of docs/OPTIMIZERS.md (the paper, arXiv 2011.11152), each
// implemented once and shared by every optimizer family (SGD, Adam, Adai). A family only
// supplies its effective-learning-rate scale; the decay mode decides what to do with it.

#include <ATen/Tensor.h>

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

namespace swd {
namespace optim {

enum class Decay {
  L2,         ///< g += lambda * theta before the moments (torch's `weight_decay`).
  Decoupled,  ///< theta *= 1 - eta * lambda before the step (SGDW, AdamW).
  Stable,     ///< theta *= 1 - eta_eff * lambda before the step (SGDS, AdamS, AdaiS).
};

/// "l2", "decoupled", "stable".
std::string to_string(Decay decay);
/// Inverse of to_string; throws std::invalid_argument naming the bad value.
Decay decay_from_string(const std::string& name);

/// The hyper-parameters of one parameter group that the decay modes need.
struct DecayHyper {
  double lr = 0;
  double weight_decay = 0;
  Decay decay = Decay::L2;
};

/// A family's effective learning rate divided by its learning rate, eta_eff / eta.
/// Either a host number (SGD: (1-d)/(1-mu); Adai: 1) or a 0-dim tensor on the parameters'
/// device (Adam: 1/sqrt(vbar)), so that no host synchronisation is needed.
struct EffectiveScale {
  double host = 1.0;
  at::Tensor device;  ///< Used instead of `host` when defined.
  /// The sqrt(vbar) that `host` is the reciprocal of (Adam), for messages; NaN otherwise.
  double sqrt_vbar = std::numeric_limits<double>::quiet_NaN();
};

/// A Stable step whose decay factor 1 - eta*lambda*(eta_eff/eta) fell below 0 (Adam: vbar
/// below (eta*lambda)^2): theta would change sign and grow. The rule is in docs/OPTIMIZERS.md
/// ("The stable decay factor"). Thrown by step() after pass 1 and before any parameter changes.
class StableDecayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws StableDecayError, naming the parameter group, lr, weight decay, eta_eff/eta and
/// (Adam) sqrt(vbar), when the Stable factor of `hyper` with the host `scale` is below 0.
/// Does nothing for other modes, for lambda = 0, or for a device scale (see apply_weight_decay).
void check_stable_factor(std::size_t group, const DecayHyper& hyper, const EffectiveScale& scale);

/// L2 mode: the gradient the moments see, g + lambda * theta. Other modes (or lambda = 0):
/// the gradient itself, no copy.
at::Tensor gradient_with_l2(const at::Tensor& grad, const at::Tensor& param,
                            const DecayHyper& hyper);
/// The same rule for the fused kernels, which compute g + l2 * theta per element: lambda in L2
/// mode, else 0.
double l2_coefficient(const DecayHyper& hyper);

/// The per-step decay rate d of a multiplicative mode, theta *= 1 - d: eta * lambda
/// (Decoupled), eta * lambda * scale (Stable); 0 in L2 mode or with lambda = 0. Reads a
/// device scale back to the host (a synchronisation on a GPU).
double decay_rate(const DecayHyper& hyper, const EffectiveScale& scale);

/// The factor theta_{t-1} is multiplied by before the family's step, for one group: the one
/// statement of each mode's factor and of its guard, used by the reference, fused and
/// multi-tensor paths alike (docs/OPTIMIZERS.md).
///   L2 mode or lambda = 0: none (applies = false);
///   Decoupled:             1 - eta * lambda;
///   Stable:                1 - eta * lambda * scale   (scale = eta_eff / eta).
/// A Stable factor below 0 becomes NaN (on the host, where check_stable_factor refuses it
/// first, and as a 0-dim tensor on the scale's device, which is never read back), so the
/// failure shows in the loss rather than as weights that silently flip sign.
struct DecayFactor {
  bool applies = false;
  double host = 1.0;  ///< the factor, unless `device` is defined
  at::Tensor device;  ///< a 0-dim tensor on the scale's device, when the scale is one
};
DecayFactor decay_factor_of(const DecayHyper& hyper, const EffectiveScale& scale);

/// theta *= decay_factor_of(hyper, scale); nothing in L2 mode or with lambda = 0.
/// Applied to theta_{t-1}, before the family's step.
void apply_weight_decay(at::Tensor& param, const DecayHyper& hyper,
                        const EffectiveScale& scale);
/// decay_factor_of as a host number, for the fused kernels (1 where no decay applies).
/// Reads a device factor back, so only for CPU tensors.
double decay_factor(const DecayHyper& hyper, const EffectiveScale& scale);

}  // namespace optim
}  // namespace swd
