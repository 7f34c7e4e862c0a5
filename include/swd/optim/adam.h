#pragma once
// Adam and AMSGrad with weight decay as an orthogonal choice:
//   Decay::L2        = torch.optim.Adam(weight_decay=lambda)
//   Decay::Decoupled = torch.optim.AdamW(weight_decay=lambda)
//   Decay::Stable    = AdamS (swd_optim.AdamS), the paper's stable weight decay.
// Update rules: docs/OPTIMIZERS.md and the paper (arXiv 2011.11152).

#include <torch/optim/optimizer.h>

#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "swd/optim/family.h"
#include "swd/optim/options.h"

namespace swd {
namespace optim {

struct AdamOptions : public detail::OptionsBase<AdamOptions> {
  using betas_t = std::tuple<double, double>;
  /// Every field unset: inherits the optimizer's defaults when used as a group's options.
  AdamOptions() = default;
  explicit AdamOptions(double lr) { this->lr(lr); }

  SWD_OPTION(double, lr) = 1e-3;
  SWD_OPTION(betas_t, betas) = std::make_tuple(0.9, 0.999);
  SWD_OPTION(double, eps) = 1e-8;
  SWD_OPTION(double, weight_decay) = 0.0;
  SWD_OPTION(bool, amsgrad) = false;
  SWD_OPTION(Decay, decay) = Decay::L2;
  /// The fast paths for this group's parameters (optimizer_base.h): the fused CPU kernels
  /// where they apply and, for parameters on a CUDA device, the multi-tensor (_foreach_)
  /// path. false: the op-by-op reference path on every device. The update is the same.
  SWD_OPTION(bool, fused) = true;

 public:
  static auto fields() {
    using detail::field;
    return std::make_tuple(field("lr", &AdamOptions::lr_), field("betas", &AdamOptions::betas_),
                           field("eps", &AdamOptions::eps_),
                           field("weight_decay", &AdamOptions::weight_decay_),
                           field("amsgrad", &AdamOptions::amsgrad_),
                           field("decay", &AdamOptions::decay_),
                           field("fused", &AdamOptions::fused_));
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Throws std::invalid_argument naming the bad option, its value and `where` it was found.
void validate(const AdamOptions& options, const std::string& where);

/// Per-parameter state. exp_avg_sq is the raw EMA of g*g (never bias-corrected in place).
struct AdamParamState : public ParamStateBase<AdamParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_avg_sq);
  /// sum(exp_avg_sq) in float64 as stored, kept by the fused path (docs/OPTIMIZERS.md, "The
  /// global vbar on the fused path"): pass 1 predicts sum(v_t) = b2 * sum(v_(t-1)) +
  /// (1 - b2) * sum(g_t^2) so that vbar needs no pass over v; pass 2 sums v as it stores it.
  /// NaN when not known (the reference path, AMSGrad, or an archive without it): then the fused path
  /// recomputes it from exp_avg_sq.
  TORCH_ARG(double, exp_avg_sq_sum) = std::numeric_limits<double>::quiet_NaN();
  TORCH_ARG(torch::Tensor, max_exp_avg_sq) = {};

 public:
  static auto fields() {
    return std::make_tuple(state_field("step", &AdamParamState::step_),
                           state_field("exp_avg", &AdamParamState::exp_avg_),
                           state_field("exp_avg_sq", &AdamParamState::exp_avg_sq_),
                           state_field("exp_avg_sq_sum", &AdamParamState::exp_avg_sq_sum_),
                           state_field("max_exp_avg_sq", &AdamParamState::max_exp_avg_sq_));
  }
};

class Adam : public FamilyOptimizer<Adam, AdamOptions, AdamParamState> {
 public:
  using FamilyOptimizer::FamilyOptimizer;

 private:  // the family's hooks (family.h); Adam customises every one
  friend FamilyOptimizer;
  bool needs_vbar() const { return any_group_uses(Decay::Stable); }
  torch::Tensor prepare(const torch::Tensor& param, const torch::Tensor& grad, const AdamOptions& o,
                        AdamParamState& state, bool want_vhat_sum);
  /// AdamS: 1 / sqrt(vbar).
  EffectiveScale effective_scale(const AdamOptions& o, const torch::Tensor& vbar) const;
  void update(torch::Tensor& param, const torch::Tensor& grad, const AdamOptions& o,
              AdamParamState& state, const torch::Tensor& vbar);
  bool static_scale() const { return false; }  // vbar and vhat come from the gradients
  /// sqrt(vhat) + eps, per element: the step is eta * mhat / (sqrt(vhat) + eps).
  torch::Tensor step_denominator(const AdamOptions& o, const AdamParamState& state) const;
  torch::Tensor prepare_many(const Tensors& params, const Tensors& grads, const AdamOptions& o,
                             const States& states, bool want_vhat_sum);
  void update_many(const Tensors& params, const Tensors& grads, const AdamOptions& o,
                   const States& states, const torch::Tensor& vbar);
  void fused_prepare(const torch::Tensor& param, const torch::Tensor& grad, const AdamOptions& o,
                     AdamParamState& state, const FusedScalars& scalars, fused::Loops& loops);
  void fused_update(torch::Tensor& param, const torch::Tensor& grad, const AdamOptions& o,
                    AdamParamState& state, const FusedScalars& scalars, fused::Loops& loops);
};

}  // namespace optim
}  // namespace swd
