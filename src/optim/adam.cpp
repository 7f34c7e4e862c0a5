// Adam / AMSGrad, matching torch.optim.Adam / AdamW (PyTorch 1.13) and swd_optim.AdamS.
#include "swd/optim/adam.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "fused_loop.h"
#include "multi_tensor.h"
#include "validation.h"

namespace swd {
namespace optim {

void validate(const AdamOptions& o, const std::string& where) {
  detail::require_common(o, "swd::optim::Adam", where);
  detail::require(o.eps() >= 0, "swd::optim::Adam", "eps", o.eps(), "eps >= 0", where);
  detail::require_betas(o, "swd::optim::Adam", where);
}

namespace {

/// m = 0, v = 0 (and vmax = 0 with AMSGrad) where not allocated yet, laid out like the
/// parameter; the running sum of v (fused path) is then 0.
void allocate_state(const torch::Tensor& param, const AdamOptions& o, AdamParamState& state) {
  if (!state.exp_avg().defined()) {
    state.exp_avg(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state.exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
    state.exp_avg_sq_sum(0.0);
  }
  if (o.amsgrad() && !state.max_exp_avg_sq().defined()) {
    state.max_exp_avg_sq(torch::zeros_like(param, at::MemoryFormat::Preserve));
  }
}

}  // namespace

torch::Tensor Adam::prepare(const torch::Tensor& param, const torch::Tensor& grad,
                            const AdamOptions& o, AdamParamState& state, bool want_vhat_sum) {
  allocate_state(param, o, state);
  state.step(state.step() + 1);
  state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());  // v changes; sum not kept
  const double beta1 = std::get<0>(o.betas());
  const double beta2 = std::get<1>(o.betas());
  state.exp_avg().mul_(beta1).add_(grad, 1 - beta1);                // m = b1*m + (1-b1)*g
  state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);   // v = b2*v + (1-b2)*g*g
  if (o.amsgrad()) {
    at::maximum_out(state.max_exp_avg_sq(), state.max_exp_avg_sq(), state.exp_avg_sq());
  }
  if (!want_vhat_sum) return {};
  // sum(vhat) with vhat = v / (1 - b2^t), or vmax / (1 - b2^t) with AMSGrad.
  const auto& v = o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq();
  return multi::sum_in_double(v).div_(1 - std::pow(beta2, state.step()));
}

EffectiveScale Adam::effective_scale(const AdamOptions&, const torch::Tensor& vbar) const {
  // AdamS: eta_eff / eta = 1 / sqrt(vbar). When every gradient so far was zero, vbar = 0 and
  // the reference divides by zero; we apply no decay for that step (the Adam step is zero too).
  // (masked_fill rather than where: every operation here also runs on the meta device, which
  // the tests use to show that no value is read back to the host.)
  if (!vbar.defined()) throw std::logic_error("Stable decay needs the global vbar");
  if (vbar.device().is_cpu()) {  // the same two IEEE operations on the host: no tensor ops
    const double v = vbar.item<double>();
    // as masked_fill below (NaN stays NaN)
    return {v <= 0 ? 0.0 : 1.0 / std::sqrt(v), {}, std::sqrt(v)};
  }
  return {1.0, vbar.sqrt().reciprocal().masked_fill(vbar <= 0, 0.0)};
}

namespace {
/// sqrt(vhat) + eps = sqrt(v) / sqrt(1 - b2^t) + eps (vmax with AMSGrad), as torch computes it.
torch::Tensor denominator(const AdamOptions& o, const AdamParamState& state) {
  const double bias_correction2 = 1 - std::pow(std::get<1>(o.betas()), state.step());
  const auto& v = o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq();
  return v.sqrt().div_(std::sqrt(bias_correction2)).add_(o.eps());  // in place after the sqrt
}
}  // namespace

void Adam::update(torch::Tensor& param, const torch::Tensor&, const AdamOptions& o,
                  AdamParamState& state, const torch::Tensor&) {
  const double bias_correction1 = 1 - std::pow(std::get<0>(o.betas()), state.step());
  // theta -= eta / (1 - b1^t) * m / (sqrt(vhat) + eps)
  param.addcdiv_(state.exp_avg(), denominator(o, state), -o.lr() / bias_correction1);
}

torch::Tensor Adam::step_denominator(const AdamOptions& o, const AdamParamState& state) const {
  const auto& v = o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq();
  if (!v.defined() || state.step() == 0) return {};
  return denominator(o, state).to(at::kDouble);  // the step is eta * mhat / (sqrt(vhat) + eps)
}

// ---- Fused path -----------------------------------------------------------------------------
// Without AMSGrad, pass 1 reads only the gradient: the running sum of v gives sum(vhat) before
// v itself is updated, and pass 2 does everything else in one pass, summing v as it stores it
// (the next step's running sum, see fused_loop.h). With AMSGrad and vbar
// needed, pass 1 updates v and vmax (sum(vmax) needs them) and pass 2 the rest.

void Adam::fused_prepare(const torch::Tensor& param, const torch::Tensor& grad,
                         const AdamOptions& o, AdamParamState& state, const FusedScalars& scalars,
                         fused::Loops& loops) {
  allocate_state(param, o, state);
  state.step(state.step() + 1);
  if (!scalars.with_vbar) return;
  const double beta2 = std::get<1>(o.betas());
  if (!o.amsgrad()) {  // sum(vhat) from the running sum of v: only the gradient is read
    fused::add_vhat_sum_from_running_sum(loops, param, grad, scalars.l2, beta2, state);
    return;
  }
  const double bias_correction2 = 1 - std::pow(beta2, state.step());
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, param.scalar_type(), "swd_adam_fused_prepare", [&] {
    using T = scalar_t;                // the elements
    using S = at::opmath_type<T>;      // the arithmetic (fused_loop.h)
    const S l2 = scalars.l2;
    const T* g = grad.data_ptr<T>();
    const T* p = param.data_ptr<T>();
    // docs/OPTIMIZERS.md, AMSGrad: v = b2*v + (1-b2)*g*g; vmax = max(vmax, v); sums vmax
    state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());
    const S b2 = beta2, one_minus_b2 = 1 - beta2;
    auto moments = [=](const S& gl, T& v, T& vmax) {
      v = S(v) * b2 + one_minus_b2 * gl * gl;
      vmax = std::max(S(vmax), S(v));
      return static_cast<double>(vmax);
    };
    auto vhat_sum = [bias_correction2](double sum) { return sum / bias_correction2; };
    T* v = state.exp_avg_sq().data_ptr<T>();
    T* vmax = state.max_exp_avg_sq().data_ptr<T>();
    if (l2 != T(0)) {
      loops.add_sum(
          param.numel(),
          [=](const T& g, const T& p, T& v, T& vmax) { return moments(S(g) + l2 * S(p), v, vmax); },
          vhat_sum, g, p, v, vmax);
    } else {  // theta is not read
      loops.add_sum(
          param.numel(), [=](const T& g, T& v, T& vmax) { return moments(S(g), v, vmax); },
          vhat_sum, g, v, vmax);
    }
  });
}

void Adam::fused_update(torch::Tensor& param, const torch::Tensor& grad, const AdamOptions& o,
                        AdamParamState& state, const FusedScalars& scalars, fused::Loops& loops) {
  if (!scalars.with_vbar) state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());
  const double beta1 = std::get<0>(o.betas());
  const double beta2 = std::get<1>(o.betas());
  const double bias_correction1 = 1 - std::pow(beta1, state.step());
  const double bias_correction2 = 1 - std::pow(beta2, state.step());
  const bool moments_done = o.amsgrad() && scalars.with_vbar;  // by fused_prepare
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, param.scalar_type(), "swd_adam_fused_update", [&] {
    using T = scalar_t;                // the elements
    using S = at::opmath_type<T>;      // the arithmetic (fused_loop.h)
    const S l2 = scalars.l2, decay = scalars.decay_factor;
    const S b1 = beta1, one_minus_b1 = 1 - beta1, b2 = beta2, one_minus_b2 = 1 - beta2;
    const S sqrt_bc2 = std::sqrt(bias_correction2), eps = o.eps();
    const S neg_step = -o.lr() / bias_correction1;
    // docs/OPTIMIZERS.md, Adam (the paper, arXiv 2011.11152): g += lambda*theta (L2);
    // theta *= decay factor (Decoupled, Stable); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
    // vmax = max(vmax, v) (AMSGrad);
    // theta -= eta/(1-b1^t) * m / (sqrt(v or vmax)/sqrt(1-b2^t) + eps), in torch's order.
    auto moments_and_step = [=](T& p, const T& g, T& m, T& v, T& vmax, auto amsgrad,
                                auto update_v) {
      const S gl = S(g) + l2 * S(p);
      p = S(p) * decay;
      m = S(m) * b1 + one_minus_b1 * gl;
      if constexpr (decltype(update_v)::value) {
        v = S(v) * b2 + one_minus_b2 * gl * gl;
        if constexpr (decltype(amsgrad)::value) vmax = std::max(S(vmax), S(v));
      }
      const S denom = std::sqrt(S(decltype(amsgrad)::value ? vmax : v)) / sqrt_bc2 + eps;
      p = S(p) + neg_step * S(m) / denom;
      return static_cast<double>(v);
    };
    using Yes = std::true_type;
    using No = std::false_type;
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* m = state.exp_avg().data_ptr<T>();
    const int64_t n = param.numel();
    auto adam = [=](T& p, const T& g, T& m, T& v) {
      return moments_and_step(p, g, m, v, v, No{}, Yes{});
    };
    if (!o.amsgrad() && scalars.with_vbar) {  // sum(v) as stored: the next step's running sum
      fused::add_pass_keeping_running_sum(loops, n, adam, state, p, g, m,
                                          state.exp_avg_sq().data_ptr<T>());
    } else if (!o.amsgrad()) {
      loops.add(n, adam, p, g, m, state.exp_avg_sq().data_ptr<T>());
    } else if (!moments_done) {
      loops.add(
          n,
          [=](T& p, const T& g, T& m, T& v, T& vmax) {
            moments_and_step(p, g, m, v, vmax, Yes{}, Yes{});
          },
          p, g, m, state.exp_avg_sq().data_ptr<T>(), state.max_exp_avg_sq().data_ptr<T>());
    } else {
      loops.add(
          n,
          [=](T& p, const T& g, T& m, T& vmax) {
            moments_and_step(p, g, m, vmax, vmax, Yes{}, No{});
          },
          p, g, m, state.max_exp_avg_sq().data_ptr<T>());
    }
  });
}

// ---- Multi-tensor path: prepare() and update() over a group's parameters at once -----------

torch::Tensor Adam::prepare_many(const Tensors& params, const Tensors& grads, const AdamOptions& o,
                                 const States& states, bool want_vhat_sum) {
  const double beta1 = std::get<0>(o.betas());
  const double beta2 = std::get<1>(o.betas());
  std::vector<torch::Tensor> m, v, vmax;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& state = *states[i];
    allocate_state(params[i], o, state);
    state.step(state.step() + 1);
    state.exp_avg_sq_sum(std::numeric_limits<double>::quiet_NaN());  // v changes; sum not kept
    m.push_back(state.exp_avg());
    v.push_back(state.exp_avg_sq());
    if (o.amsgrad()) vmax.push_back(state.max_exp_avg_sq());
  }
  at::_foreach_mul_(m, beta1);                       // m = b1*m + (1-b1)*g
  at::_foreach_add_(m, grads, 1 - beta1);
  at::_foreach_mul_(v, beta2);                       // v = b2*v + (1-b2)*g*g
  at::_foreach_addcmul_(v, grads, grads, 1 - beta2);
  if (o.amsgrad()) at::_foreach_maximum_(vmax, v);  // vmax = max(vmax, v)
  if (!want_vhat_sum) return {};
  // sum(vhat) with vhat = v / (1 - b2^t), or vmax / (1 - b2^t) with AMSGrad.
  std::vector<int64_t> steps;
  for (const auto* s : states) steps.push_back(s->step());
  return multi::vhat_sum(o.amsgrad() ? vmax : v, beta2, steps);
}

void Adam::update_many(const Tensors& params, const Tensors&, const AdamOptions& o,
                       const States& states, const torch::Tensor&) {
  std::vector<torch::Tensor> m, v;
  std::vector<double> sqrt_bc2, neg_step;
  for (auto* s : states) {
    const auto& state = *s;
    m.push_back(state.exp_avg());
    v.push_back(o.amsgrad() ? state.max_exp_avg_sq() : state.exp_avg_sq());
    sqrt_bc2.push_back(std::sqrt(1 - std::pow(std::get<1>(o.betas()), state.step())));
    neg_step.push_back(-o.lr() / (1 - std::pow(std::get<0>(o.betas()), state.step())));
  }
  // theta -= eta / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), as update() computes it.
  auto denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, multi::scalars(sqrt_bc2));
  at::_foreach_add_(denom, o.eps());
  at::_foreach_addcdiv_(params, m, denom, multi::scalars(neg_step));
}

}  // namespace optim
}  // namespace swd
