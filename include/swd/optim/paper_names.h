#pragma once
// The paper's names as thin aliases over the generic optimizers: the same implementation with
// the weight-decay mode fixed. `so::AdamS opt(params, so::AdamOptions(1e-3).weight_decay(5e-4))`
// is `so::Adam` with `.decay(so::Decay::Stable)`.

#include <torch/optim/optimizer.h>

#include <utility>
#include <vector>

#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/sgd.h"

namespace swd {
namespace optim {

/// `Base` with the defaults' decay mode set to `Mode`. Group options that set a mode
/// explicitly keep it.
template <typename Base, Decay Mode>
class WithDecay : public Base {
 public:
  using Options = typename Base::options_type;
  explicit WithDecay(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     Options defaults = Options())
      : Base(std::move(param_groups), defaults.decay(Mode)) {}
  explicit WithDecay(std::vector<torch::Tensor> params, Options defaults = Options())
      : Base(std::move(params), defaults.decay(Mode)) {}
};

using AdamS = WithDecay<Adam, Decay::Stable>;     ///< Adam with stable weight decay.
using AdamW = WithDecay<Adam, Decay::Decoupled>;  ///< Adam with decoupled weight decay.
using SGDS = WithDecay<SGD, Decay::Stable>;       ///< SGD with stable weight decay.
using SGDW = WithDecay<SGD, Decay::Decoupled>;    ///< SGD with decoupled weight decay.
using AdaiS = WithDecay<Adai, Decay::Stable>;     ///< Adai with stable weight decay.

}  // namespace optim
}  // namespace swd
