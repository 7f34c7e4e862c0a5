#pragma once
// SGD with momentum (dampening, Nesterov) and weight decay as an orthogonal choice:
//   Decay::L2        = torch.optim.SGD(weight_decay=lambda)
//   Decay::Decoupled = SGDW: theta *= 1 - eta*lambda
//   Decay::Stable    = SGDS (swd_optim.SGDS): theta *= 1 - eta*lambda*(1-d)/(1-mu)
// Update rules: docs/OPTIMIZERS.md and the paper (arXiv 2011.11152).

#include <torch/optim/optimizer.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "swd/optim/family.h"
#include "swd/optim/options.h"

namespace swd {
namespace optim {

struct SGDOptions : public detail::OptionsBase<SGDOptions> {
  /// lr is required, as in LibTorch and the reference.
  explicit SGDOptions(double lr) { this->lr(lr); }

  SWD_OPTION(double, lr) = 0.0;
  SWD_OPTION(double, momentum) = 0.0;
  SWD_OPTION(double, dampening) = 0.0;
  SWD_OPTION(double, weight_decay) = 0.0;
  SWD_OPTION(bool, nesterov) = false;
  SWD_OPTION(Decay, decay) = Decay::L2;
  /// The fast paths for this group's parameters (optimizer_base.h): the fused CPU kernels
  /// where they apply and, for parameters on a CUDA device, the multi-tensor (_foreach_)
  /// path. false: the op-by-op reference path on every device. The update is the same.
  SWD_OPTION(bool, fused) = true;

 public:
  static auto fields() {
    using detail::field;
    return std::make_tuple(field("lr", &SGDOptions::lr_), field("momentum", &SGDOptions::momentum_),
                           field("dampening", &SGDOptions::dampening_),
                           field("weight_decay", &SGDOptions::weight_decay_),
                           field("nesterov", &SGDOptions::nesterov_),
                           field("decay", &SGDOptions::decay_),
                           field("fused", &SGDOptions::fused_));
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

void validate(const SGDOptions& options, const std::string& where);

struct SGDParamState : public ParamStateBase<SGDParamState> {
  TORCH_ARG(torch::Tensor, momentum_buffer);

 public:
  static auto fields() {
    return std::make_tuple(state_field("momentum_buffer", &SGDParamState::momentum_buffer_));
  }
};

class SGD : public FamilyOptimizer<SGD, SGDOptions, SGDParamState> {
 public:
  using FamilyOptimizer::FamilyOptimizer;

 private:  // the family's hooks (family.h): no moments before the decay, no vbar
  friend FamilyOptimizer;
  /// SGDS: (1 - d) / (1 - mu).
  EffectiveScale effective_scale(const SGDOptions& o, const torch::Tensor& vbar) const;
  /// The L2 term passes through the momentum: its gain in steady state is eta_eff / eta.
  double l2_gain(const SGDOptions& o) const { return effective_scale(o, {}).host; }
  void update(torch::Tensor& param, const torch::Tensor& grad, const SGDOptions& o,
              SGDParamState& state, const torch::Tensor& vbar);
  void update_many(const Tensors& params, const Tensors& grads, const SGDOptions& o,
                   const States& states, const torch::Tensor& vbar);
  void fused_update(torch::Tensor& param, const torch::Tensor& grad, const SGDOptions& o,
                    SGDParamState& state, const FusedScalars& scalars, fused::Loops& loops);
};

}  // namespace optim
}  // namespace swd
