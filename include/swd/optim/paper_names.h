#pragma once
// The paper's names as thin aliases over the generic optimizers: the same implementation with
// the weight-decay mode fixed and the defaults of the class each name stands for.
// `so::AdamS opt(params, so::AdamOptions(1e-3).weight_decay(5e-4))` is `so::Adam` with
// `.decay(so::Decay::Stable)`; `so::AdamS opt(params)` decays with 1e-4, as swd_optim.AdamS.

#include <torch/optim/optimizer.h>

#include <utility>
#include <vector>

#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/sgd.h"

namespace swd {
namespace optim {

namespace detail {
/// The options' own defaults: weight decay 0, as swd_optim.SGDS and swd_optim.AdaiS have it.
struct OwnDefaults {
  template <typename Options>
  static void apply(Options&) {}
};
/// Weight decay 1e-4 unless set: swd_optim.AdamS's default (the paper's code).
struct AdamSDefaults {
  template <typename Options>
  static void apply(Options& o) {
    if (!o.weight_decay_.is_set) o.weight_decay(1e-4);
  }
};
/// Weight decay 1e-2 unless set: torch.optim.AdamW's and torch::optim::AdamW's default.
struct AdamWDefaults {
  template <typename Options>
  static void apply(Options& o) {
    if (!o.weight_decay_.is_set) o.weight_decay(1e-2);
  }
};
}  // namespace detail

/// `Base` with the defaults' decay mode set to `Mode`, and the defaults of the class the name
/// stands for where `Defaults` says so (docs/OPTIMIZERS.md, "The paper's names"). Group options
/// that set a mode or a weight decay explicitly keep it; those that leave them unset inherit
/// these defaults.
template <typename Base, Decay Mode, typename Defaults = detail::OwnDefaults>
class WithDecay : public Base {
 public:
  using Options = typename Base::options_type;
  explicit WithDecay(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     Options defaults = Options())
      : Base(std::move(param_groups), complete(std::move(defaults))) {}
  explicit WithDecay(std::vector<torch::Tensor> params, Options defaults = Options())
      : Base(std::move(params), complete(std::move(defaults))) {}

 private:
  static Options complete(Options defaults) {
    Defaults::apply(defaults);
    defaults.decay(Mode);
    return defaults;
  }
};

/// Adam with stable weight decay; weight decay 1e-4 unless set (swd_optim.AdamS).
using AdamS = WithDecay<Adam, Decay::Stable, detail::AdamSDefaults>;
/// Adam with decoupled weight decay; weight decay 1e-2 unless set (torch.optim.AdamW).
using AdamW = WithDecay<Adam, Decay::Decoupled, detail::AdamWDefaults>;
using SGDS = WithDecay<SGD, Decay::Stable>;       ///< SGD with stable weight decay (default 0).
using SGDW = WithDecay<SGD, Decay::Decoupled>;    ///< SGD with decoupled weight decay (default 0).
using AdaiS = WithDecay<Adai, Decay::Stable>;     ///< Adai with stable weight decay (default 0).

}  // namespace optim
}  // namespace swd
