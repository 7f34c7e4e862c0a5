#pragma once
// Adai (Adaptive Inertia) with weight decay as an orthogonal choice:
//   Decay::L2                 = swd_optim.Adai(weight_decay=lambda)
//   Decay::Stable / Decoupled = AdaiS (swd_optim.AdaiS): theta *= 1 - eta*lambda. Adai's
//                               effective learning rate is eta, so the two coincide.
// betas = (beta0, beta2); eps is the inertia bound (beta1 <= 1 - eps).
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

struct AdaiOptions : public detail::OptionsBase<AdaiOptions> {
  using betas_t = std::tuple<double, double>;
  /// lr is required, as in the reference.
  explicit AdaiOptions(double lr) { this->lr(lr); }

  SWD_OPTION(double, lr) = 0.0;
  SWD_OPTION(betas_t, betas) = std::make_tuple(0.1, 0.99);
  SWD_OPTION(double, eps) = 1e-3;
  SWD_OPTION(double, weight_decay) = 0.0;
  SWD_OPTION(Decay, decay) = Decay::L2;
  /// The fast paths for this group's parameters (optimizer_base.h): the fused CPU kernels
  /// where they apply and, for parameters on a CUDA device, the multi-tensor (_foreach_)
  /// path. false: the op-by-op reference path on every device. The update is the same.
  SWD_OPTION(bool, fused) = true;

 public:
  static auto fields() {
    using detail::field;
    return std::make_tuple(field("lr", &AdaiOptions::lr_), field("betas", &AdaiOptions::betas_),
                           field("eps", &AdaiOptions::eps_),
                           field("weight_decay", &AdaiOptions::weight_decay_),
                           field("decay", &AdaiOptions::decay_),
                           field("fused", &AdaiOptions::fused_));
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

void validate(const AdaiOptions& options, const std::string& where);

struct AdaiParamState : public ParamStateBase<AdaiParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_avg_sq);
  /// sum(exp_avg_sq) in float64 as stored, kept by the fused path (docs/OPTIMIZERS.md, "The
  /// global vbar on the fused path"): pass 1 predicts sum(v_t) = b2 * sum(v_(t-1)) +
  /// (1 - b2) * sum(g_t^2) so that vbar needs no pass over v; pass 2 sums v as it stores it.
  /// NaN when not known (the reference path, or an archive without it): then the fused path
  /// recomputes it from exp_avg_sq.
  TORCH_ARG(double, exp_avg_sq_sum) = std::numeric_limits<double>::quiet_NaN();
  TORCH_ARG(torch::Tensor, beta1_prod);

 public:
  static auto fields() {
    return std::make_tuple(state_field("step", &AdaiParamState::step_),
                           state_field("exp_avg", &AdaiParamState::exp_avg_),
                           state_field("exp_avg_sq", &AdaiParamState::exp_avg_sq_),
                           state_field("exp_avg_sq_sum", &AdaiParamState::exp_avg_sq_sum_),
                           state_field("beta1_prod", &AdaiParamState::beta1_prod_));
  }
};

class Adai : public FamilyOptimizer<Adai, AdaiOptions, AdaiParamState> {
 public:
  using FamilyOptimizer::FamilyOptimizer;

 private:  // the family's hooks (family.h); eta_eff / eta is the default 1
  friend FamilyOptimizer;
  bool needs_vbar() const { return true; }
  torch::Tensor prepare(const torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
                        AdaiParamState& state, bool want_vhat_sum);
  void update(torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
              AdaiParamState& state, const torch::Tensor& vbar);
  torch::Tensor prepare_many(const Tensors& params, const Tensors& grads, const AdaiOptions& o,
                             const States& states, bool want_vhat_sum);
  void update_many(const Tensors& params, const Tensors& grads, const AdaiOptions& o,
                   const States& states, const torch::Tensor& vbar);
  void fused_prepare(const torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
                     AdaiParamState& state, const FusedScalars& scalars, fused::Loops& loops);
  void fused_update(torch::Tensor& param, const torch::Tensor& grad, const AdaiOptions& o,
                    AdaiParamState& state, const FusedScalars& scalars, fused::Loops& loops);
};

}  // namespace optim
}  // namespace swd
