// Step numbers and running totals (step_totals.h).
#include "step_totals.h"

#include <ATen/ATen.h>

#include <cmath>

#include "swd/train/device.h"

namespace swd {
namespace train {

Agreed agree_now(const StepSums& sums, parallel::Group& group, bool stop_asked) {
  const auto host = read_back({sums.loss_sum, sums.wrong, sums.grad_norm_sq});
  const auto agreed = group.sum({host[0], host[1], static_cast<double>(sums.seen),
                                 std::isfinite(host[0]) ? 0.0 : 1.0,
                                 stop_asked ? 1.0 : 0.0},
                                "step totals");
  return {agreed[0], agreed[1], agreed[2], std::sqrt(host[2]), agreed[3] == 0, agreed[4] != 0};
}

void DeviceTotals::start(const run::EpochTotals& totals, const c10::Device& device) {
  const auto as_double = at::dtype(at::kDouble).device(device);
  loss_sum_ = at::full({}, totals.loss_sum, as_double);
  wrong_ = at::full({}, totals.wrong, at::dtype(at::kLong).device(device));
  grad_norm_sum_ = at::full({}, totals.grad_norm_sum, as_double);
  grad_norm_sq_sum_ = at::full({}, totals.grad_norm_sq_sum, as_double);
  first_bad_ = at::zeros({}, at::dtype(at::kLong).device(device));
  last_loss_sum_ = at::zeros({}, as_double);
  last_grad_norm_ = at::zeros({}, as_double);
  last_seen_ = seen_ = steps_ = 0;
}

void DeviceTotals::add(const StepSums& sums, int64_t training_batch) {
  // As the host adds them: loss_sum += l, wrong += w, g = sqrt(grad_norm_sq),
  // grad_norm_sum += g, grad_norm_sq_sum += g * g.
  const auto g = sums.grad_norm_sq.sqrt();
  loss_sum_.add_(sums.loss_sum);
  wrong_.add_(sums.wrong);
  grad_norm_sum_.add_(g);
  grad_norm_sq_sum_.add_(g.mul(g));
  const auto bad_loss = at::isfinite(sums.loss_sum).logical_not();
  const auto first = bad_loss.logical_or(at::isfinite(g).logical_not()).logical_and(first_bad_.eq(0));
  first_bad_ = at::where(first, bad_loss.to(at::kLong).add(2 * training_batch), first_bad_);
  last_loss_sum_ = sums.loss_sum;
  last_grad_norm_ = g;
  last_seen_ = sums.seen;
  seen_ += sums.seen;
  ++steps_;
}

Agreed DeviceTotals::read(run::EpochTotals& totals, Bad& bad) {
  const auto host = read_back({loss_sum_, wrong_, grad_norm_sum_, grad_norm_sq_sum_,
                               last_loss_sum_, last_grad_norm_, first_bad_});
  const auto code = static_cast<int64_t>(host[6]);
  bad = {code / 2, code % 2 == 1};
  if (code != 0) return {};
  totals.loss_sum = host[0];
  totals.wrong = static_cast<int64_t>(host[1]);
  totals.grad_norm_sum = host[2];
  totals.grad_norm_sq_sum = host[3];
  totals.seen += seen_;
  totals.steps += steps_;
  seen_ = steps_ = 0;
  return {host[4], 0, static_cast<double>(last_seen_), host[5], true, false};
}

}  // namespace train
}  // namespace swd
