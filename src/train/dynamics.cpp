// The learning dynamics of a run (swd/train/dynamics.h; the definitions and the predictions
// they are compared with: docs/DYNAMICS.md).
#include "swd/train/dynamics.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "swd/util/csv.h"

namespace swd {
namespace train {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The sums one step's measurement needs, over the elements of w0 (before the step) and w1
/// (after), in float64: |w0|^2, |w1|^2, |w1 - w0|^2 and (w1 - w0).(w1 + w0) = |w1|^2 - |w0|^2
/// (the last two summed directly, so that they keep their digits when the step is small).
struct StepSums {
  double before_sq = 0, after_sq = 0, diff_sq = 0, diff_dot_sum = 0;
};

/// One pass over the memory where both tensors are plain CPU tensors of one floating dtype (the
/// usual case: a training step on the CPU), else ATen operations (any device and layout).
StepSums step_sums(const at::Tensor& before, const at::Tensor& after) {
  StepSums s;
  if (before.device().is_cpu() && after.device().is_cpu() && before.scalar_type() == after.scalar_type() &&
      before.is_contiguous() && after.is_contiguous() && at::isFloatingType(before.scalar_type())) {
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, before.scalar_type(), "swd_step_sums", [&] {
      const scalar_t* b = before.data_ptr<scalar_t>();
      const scalar_t* a = after.data_ptr<scalar_t>();
      for (int64_t i = 0, n = before.numel(); i < n; ++i) {
        const double x0 = static_cast<double>(b[i]), x1 = static_cast<double>(a[i]);
        const double d = x1 - x0;
        s.before_sq += x0 * x0;
        s.after_sq += x1 * x1;
        s.diff_sq += d * d;
        s.diff_dot_sum += d * (x1 + x0);
      }
    });
    return s;
  }
  const auto b = before.to(at::kDouble), a = after.to(at::kDouble);
  const auto d = a - b;
  s.before_sq = b.square().sum().item<double>();
  s.after_sq = a.square().sum().item<double>();
  s.diff_sq = d.square().sum().item<double>();
  s.diff_dot_sum = (d * (a + b)).sum().item<double>();
  return s;
}

/// The angle between w0 and w1, 2 atan2(|u0 - u1|, |u0 + u1|) with u = w / |w|: accurate for
/// the small angles of a training step, where acos of the cosine loses half the digits. From
/// |w1 - w0|^2 = |w0|^2 + |w1|^2 - 2 w0.w1:
///   |u0 - u1|^2 = (|w1 - w0|^2 - (|w1| - |w0|)^2) / (|w0| |w1|),  |u0 + u1|^2 = 4 - |u0 - u1|^2,
/// with |w1| - |w0| = (w1 - w0).(w1 + w0) / (|w0| + |w1|).
double angle_from(const StepSums& s) {
  const double n0 = std::sqrt(s.before_sq), n1 = std::sqrt(s.after_sq);
  if (!(n0 > 0) || !(n1 > 0)) return kNaN;
  const double dn = s.diff_dot_sum / (n0 + n1);
  const double chord_sq = std::min(4.0, std::max(0.0, s.diff_sq - dn * dn) / (n0 * n1));
  return 2 * std::atan2(std::sqrt(chord_sq), std::sqrt(4 - chord_sq));
}

double norm_of(const at::Tensor& t) {
  return at::linalg_vector_norm(t.detach(), 2, c10::nullopt, false, at::kDouble).item<double>();
}
}  // namespace

std::vector<std::string> tracked_parameters(const torch::nn::Module& model,
                                            const std::vector<std::string>& scale_invariant) {
  if (!scale_invariant.empty()) return scale_invariant;
  std::vector<std::string> names;
  for (const auto& item : model.named_parameters()) {
    if (item.value().dim() >= 2) names.push_back(item.key());
  }
  return names;
}

void DynamicsMeter::Sums::reset(std::size_t n) {
  angle.assign(n, 0.0);
  relative.assign(n, 0.0);
  effective_lr.assign(n, 0.0);
  measured = 0;
}

DynamicsMeter::DynamicsMeter(const torch::nn::Module& model, const std::vector<std::string>& tracked,
                             const optim::OptimizerBase& optimizer, int64_t every)
    : optimizer_(optimizer), names_(tracked), every_(every) {
  if (every < 1) throw std::invalid_argument("dynamics: every must be >= 1, got " + std::to_string(every));
  const auto named = model.named_parameters();
  std::unordered_map<const void*, std::size_t> group_of;
  const auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const auto& p : groups[g].params()) group_of[p.unsafeGetTensorImpl()] = g;
  }
  for (const auto& name : names_) {
    const auto* found = named.find(name);
    if (found == nullptr) throw std::invalid_argument("dynamics: the model has no parameter '" + name + "'");
    const auto g = group_of.find(found->unsafeGetTensorImpl());
    if (g == group_of.end()) {
      throw std::invalid_argument("dynamics: parameter '" + name + "' is in no parameter group");
    }
    params_.push_back(*found);
    groups_.push_back(g->second);
  }
  const std::size_t n = names_.size();
  budget_.assign(n, 0.0);
  rate_.assign(n, 0.0);
  l2_ratio_.assign(n, kNaN);
  epoch_.reset(n);
  interval_.reset(n);
}

void DynamicsMeter::before_step(int64_t step, bool force) {
  measuring_ = force || step % every_ == 0;
  before_.clear();
  if (!measuring_) return;
  torch::NoGradGuard no_grad;
  for (const auto& p : params_) before_.push_back(p.detach().clone(at::MemoryFormat::Contiguous));
}

void DynamicsMeter::after_step() {
  torch::NoGradGuard no_grad;
  const std::size_t n = params_.size();
  // Decay rates of this step, per group: decay_per_step for the multiplicative modes (exact,
  // with the step's lr, weight decay and vbar); for L2, eta * lambda times the ratio measured
  // at the last measured step (ParamDynamics::l2_rate / (eta * lambda)).
  std::unordered_map<std::size_t, std::optional<double>> group_rate;
  std::vector<optim::OptimizerBase::ParamDynamics> measured(measuring_ ? n : 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t g = groups_[i];
    const auto hyper = optimizer_.group_hyper(g);
    if (measuring_) measured[i] = optimizer_.param_dynamics(g, params_[i]);
    if (hyper.decay == optim::Decay::L2) {
      const double unit = hyper.lr * hyper.weight_decay;
      if (measuring_ || std::isnan(l2_ratio_[i])) {
        const double rate = measuring_ ? measured[i].l2_rate : optimizer_.param_dynamics(g, params_[i]).l2_rate;
        if (unit != 0) l2_ratio_[i] = rate / unit;
      }
      rate_[i] = unit == 0 || std::isnan(l2_ratio_[i]) ? 0.0 : unit * l2_ratio_[i];
    } else {
      auto found = group_rate.find(g);
      if (found == group_rate.end()) found = group_rate.emplace(g, optimizer_.decay_per_step(g)).first;
      rate_[i] = found->second.value_or(0.0);
    }
    budget_[i] += rate_[i];  // e-folds: sum over steps of d (docs/DYNAMICS.md)
  }
  if (!measuring_) return;
  for (std::size_t i = 0; i < n; ++i) {
    const StepSums sums = step_sums(before_[i], params_[i].detach().contiguous());
    const double n0 = std::sqrt(sums.before_sq);
    const double angle = angle_from(sums);
    const double relative = n0 > 0 ? std::sqrt(sums.diff_sq) / n0 : kNaN;
    // eta_eff = eta * step scale / |w|^2, the step on the unit sphere (docs/DYNAMICS.md)
    const double lr = optimizer_.group_hyper(groups_[i]).lr;
    const double effective = n0 > 0 ? lr * measured[i].step_scale / (n0 * n0) : kNaN;
    for (Sums* sums : {&epoch_, &interval_}) {
      sums->angle[i] += angle;
      sums->relative[i] += relative;
      sums->effective_lr[i] += effective;
    }
  }
  ++epoch_.measured;
  ++interval_.measured;
  before_.clear();
  measuring_ = false;
}

std::vector<TensorDynamics> DynamicsMeter::finish(Sums& sums) {
  const std::size_t n = params_.size();
  std::vector<TensorDynamics> rows(n + 1);
  TensorDynamics& all = rows[n];
  double norm_sq = 0;
  const double count = static_cast<double>(sums.measured);
  for (std::size_t i = 0; i < n; ++i) {
    TensorDynamics& r = rows[i];
    r.weight_norm = norm_of(params_[i]);
    r.angular_update = sums.measured > 0 ? sums.angle[i] / count : kNaN;
    r.relative_update = sums.measured > 0 ? sums.relative[i] / count : kNaN;
    r.effective_lr = sums.measured > 0 ? sums.effective_lr[i] / count : kNaN;
    r.decay_rate = rate_[i];
    r.decay_budget = budget_[i];
    norm_sq += r.weight_norm * r.weight_norm;
    all.angular_update += r.angular_update;
    all.relative_update += r.relative_update;
    all.effective_lr += r.effective_lr;
    all.decay_rate += r.decay_rate;
    all.decay_budget += r.decay_budget;
  }
  const double tensors = static_cast<double>(std::max<std::size_t>(n, 1));
  all.weight_norm = std::sqrt(norm_sq);
  all.angular_update /= tensors;
  all.relative_update /= tensors;
  all.effective_lr /= tensors;
  all.decay_rate /= tensors;
  all.decay_budget /= tensors;
  if (n == 0) all.angular_update = all.relative_update = all.effective_lr = kNaN;
  sums.reset(n);
  return rows;
}

std::vector<TensorDynamics> DynamicsMeter::end_epoch() { return finish(epoch_); }

namespace {
nlohmann::ordered_json to_json(const TensorDynamics& d) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  return {{"weight_norm", number(d.weight_norm)},       {"angular_update", number(d.angular_update)},
          {"relative_update", number(d.relative_update)}, {"effective_lr", number(d.effective_lr)},
          {"decay_rate", number(d.decay_rate)},         {"decay_budget", number(d.decay_budget)}};
}
}  // namespace

std::string DynamicsMeter::end_interval_json() {
  const auto rows = finish(interval_);
  nlohmann::ordered_json out = to_json(rows.back());
  nlohmann::ordered_json tensors = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < names_.size(); ++i) tensors[names_[i]] = to_json(rows[i]);
  out["tensors"] = tensors;
  return out.dump();
}

std::string DynamicsMeter::state_json() const {
  // NaN (an L2 ratio not measured yet) is written as null.
  auto list = [](const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (double x : v) a.push_back(std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x));
    return a;
  };
  auto sums = [&](const Sums& s) {
    return nlohmann::json{{"angle", list(s.angle)}, {"relative", list(s.relative)},
                          {"effective_lr", list(s.effective_lr)}, {"measured", s.measured}};
  };
  return nlohmann::json{{"tensors", names_},        {"budget", list(budget_)},
                        {"rate", list(rate_)},      {"l2_ratio", list(l2_ratio_)},
                        {"epoch", sums(epoch_)},    {"interval", sums(interval_)}}
      .dump();
}

void DynamicsMeter::restore(const std::string& json) {
  const std::size_t n = names_.size();
  try {
    const auto doc = nlohmann::json::parse(json);
    if (doc.at("tensors").get<std::vector<std::string>>() != names_) {
      throw std::runtime_error("its tracked tensors differ from this run's");
    }
    auto list = [&](const nlohmann::json& a) {
      std::vector<double> v;
      for (const auto& x : a) v.push_back(x.is_null() ? kNaN : x.get<double>());
      if (v.size() != n) throw std::runtime_error("a list of " + std::to_string(v.size()) + " values, expected " + std::to_string(n));
      return v;
    };
    auto sums = [&](const nlohmann::json& s) {
      Sums out;
      out.angle = list(s.at("angle"));
      out.relative = list(s.at("relative"));
      out.effective_lr = list(s.at("effective_lr"));
      out.measured = s.at("measured").get<int64_t>();
      if (out.measured < 0) throw std::runtime_error("a negative count of measured steps");
      return out;
    };
    auto budget = list(doc.at("budget")), rate = list(doc.at("rate")), ratio = list(doc.at("l2_ratio"));
    Sums epoch = sums(doc.at("epoch")), interval = sums(doc.at("interval"));
    budget_ = std::move(budget);
    rate_ = std::move(rate);
    l2_ratio_ = std::move(ratio);
    epoch_ = std::move(epoch);
    interval_ = std::move(interval);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("its dynamics state is malformed (") + e.what() + ")");
  }
}

double equilibrium_angular_update(double decay_rate, double momentum) {
  if (!(decay_rate >= 0) || !(momentum >= 0 && momentum < 1)) return kNaN;
  return std::sqrt(2 * decay_rate * (1 - momentum) / (1 + momentum));  // docs/DYNAMICS.md, (E1)
}

double update_averaging(const std::string& family, double momentum, double first_beta) {
  if (family == "sgd") return momentum;
  if (family == "adam") return first_beta;
  if (family == "adai") return 1 - first_beta;  // beta1 = 1 - beta0 vhat/vbar, vhat ~ vbar
  return kNaN;
}

void DynamicsMeter::forget_budget() { budget_.assign(budget_.size(), kNaN); }

std::string dynamics_csv_header() {
  return "epoch,tensor,weight_norm,angular_update,relative_update,effective_lr,decay_rate,"
         "decay_budget";
}

std::string dynamics_csv_rows(int64_t epoch, const std::vector<std::string>& names,
                              const std::vector<TensorDynamics>& rows) {
  auto cell = [](double v) { return std::isnan(v) ? std::string() : util::shortest_number(v); };
  std::string text;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    text += util::csv_line({std::to_string(epoch), i < names.size() ? names[i] : "*",
                            cell(r.weight_norm), cell(r.angular_update), cell(r.relative_update),
                            cell(r.effective_lr), cell(r.decay_rate), cell(r.decay_budget)}) +
            "\n";
  }
  return text;
}

}  // namespace train
}  // namespace swd
