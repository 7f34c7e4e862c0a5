#include "swd/schedule/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "swd/schedule/scaling.h"
#include "swd/util/number.h"
#include "swd/util/words.h"

namespace swd {
namespace schedule {

namespace {
using util::shortest_number;  // every number a message or describe() shows, exactly
std::string join(const std::vector<double>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + shortest_number(values[i]);
  return out;
}
}  // namespace

double Constant::factor(double) const { return 1.0; }
std::string Constant::describe() const { return "constant"; }

Step::Step(std::vector<double> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {}

double Step::factor(double epoch) const {
  double f = 1.0;
  // gamma^(milestones reached), at the first step reaching it. The tolerance absorbs the
  // rounding of fractional milestones (0.4 * 3 = 1.2000000000000002 > 1 + 20/100); a step is
  // at least 1e-7 epochs long (10 million steps an epoch).
  for (double m : milestones_) {
    if (m <= epoch + 1e-9) f *= gamma_;
  }
  return f;
}
std::string Step::describe() const {
  return "step(milestones=" + join(milestones_) + "; gamma=" + shortest_number(gamma_) + ")";
}

Cosine::Cosine(double total_epochs, double floor) : total_epochs_(total_epochs), floor_(floor) {}

double Cosine::factor(double epoch) const {
  const double progress = std::clamp(epoch / total_epochs_, 0.0, 1.0);
  // floor + (1 - floor) * (1 + cos(pi * e / T)) / 2
  return floor_ + (1 - floor_) * 0.5 * (1 + std::cos(M_PI * progress));
}
std::string Cosine::describe() const {
  return "cosine(epochs=" + shortest_number(total_epochs_) + "; floor=" + shortest_number(floor_) + ")";
}

Warmup::Warmup(double warmup_epochs, std::shared_ptr<const Schedule> after)
    : warmup_epochs_(warmup_epochs), after_(std::move(after)) {}

double Warmup::factor(double epoch) const {
  const double ramp = epoch < warmup_epochs_ ? epoch / warmup_epochs_ : 1.0;  // linear 0 -> 1
  return ramp * after_->factor(epoch);
}
std::string Warmup::describe() const {
  return "warmup(" + shortest_number(warmup_epochs_) + " epochs) then " + after_->describe();
}

namespace {
constexpr util::Word<ScheduleKind> kKinds[] = {
    {"constant", ScheduleKind::Constant}, {"step", ScheduleKind::Step}, {"cosine", ScheduleKind::Cosine}};
constexpr util::Word<ScaleRule> kScaleRules[] = {
    {"none", ScaleRule::None}, {"lr", ScaleRule::LearningRate}, {"wd", ScaleRule::WeightDecay}};
}  // namespace

const std::vector<std::string>& schedule_kinds() {
  static const std::vector<std::string> names = util::word_names(kKinds);
  return names;
}

ScheduleKind schedule_kind_from_string(const std::string& name) {
  return util::parse_word(kKinds, name, "schedule");
}

std::string to_string(ScheduleKind kind) { return util::word_of(kKinds, kind); }

void check_milestones(const std::vector<double>& milestones, double total_epochs) {
  // Each must act within the run, once: m applies from the first step whose progress reaches
  // it (Step::factor), so 0 < m < total_epochs, in increasing order.
  for (size_t i = 0; i < milestones.size(); ++i) {
    if (!(milestones[i] > 0 && milestones[i] < total_epochs) ||
        (i > 0 && !(milestones[i] > milestones[i - 1]))) {
      throw std::invalid_argument(
          "invalid milestones " + join(milestones) + " (expected increasing epochs within the "
          "run of " + shortest_number(total_epochs) + " epochs, each > 0 and < " + shortest_number(total_epochs) +
          ": a milestone m multiplies the lr by gamma from the step at which m epochs are done)");
    }
  }
}

std::shared_ptr<const Schedule> make_schedule(const ScheduleSpec& spec, double total_epochs) {
  if (!(spec.warmup_epochs >= 0)) {
    throw std::invalid_argument("invalid warmup epochs " + shortest_number(spec.warmup_epochs) +
                                " (expected >= 0)");
  }
  std::shared_ptr<const Schedule> base;
  const ScheduleKind kind = spec.kind;
  if (kind == ScheduleKind::Constant) {
    base = std::make_shared<Constant>();
  } else if (kind == ScheduleKind::Step) {
    if (!(spec.gamma > 0)) {
      throw std::invalid_argument("invalid gamma " + shortest_number(spec.gamma) + " (expected > 0)");
    }
    std::vector<double> milestones = spec.milestones;
    if (milestones.empty()) {  // the paper's pattern: x gamma at 40% and 80% of the steps
      // 4T/10, not 0.4T: the nearest double to the fraction, so 6 epochs say 2.4 (not
      // 2.4000000000000004) wherever the schedule is shown; Step::factor's tolerance gives the
      // same steps either way.
      milestones = {total_epochs * 4 / 10, total_epochs * 8 / 10};
    } else {
      check_milestones(milestones, total_epochs);
    }
    base = std::make_shared<Step>(std::move(milestones), spec.gamma);
  } else {  // ScheduleKind::Cosine
    if (!(total_epochs > 0)) {
      throw std::invalid_argument("cosine schedule needs a positive number of epochs, got " +
                                  shortest_number(total_epochs));
    }
    base = std::make_shared<Cosine>(total_epochs, spec.floor);
  }
  if (spec.warmup_epochs > 0) return std::make_shared<Warmup>(spec.warmup_epochs, base);
  return base;
}

std::string to_string(ScaleRule rule) { return util::word_of(kScaleRules, rule); }

ScaleRule scale_rule_from_string(const std::string& name) {
  return util::parse_word(kScaleRules, name, "scale rule");
}

const std::vector<std::string>& scale_rule_names() {
  static const std::vector<std::string> names = util::word_names(kScaleRules);
  return names;
}

ScaledHyper scale_hyperparameters(ScaleRule rule, double base_lr, double base_weight_decay,
                                  int64_t base_batch_size, int64_t batch_size) {
  if (base_batch_size <= 0 || batch_size <= 0) {
    throw std::invalid_argument("batch sizes must be positive, got base " +
                                std::to_string(base_batch_size) + " and " +
                                std::to_string(batch_size));
  }
  ScaledHyper out{base_lr, base_weight_decay,
                  static_cast<double>(batch_size) / static_cast<double>(base_batch_size)};
  if (rule == ScaleRule::LearningRate) out.lr = base_lr * out.k;                    // eta -> k eta
  if (rule == ScaleRule::WeightDecay) out.weight_decay = base_weight_decay * out.k;  // lambda -> k lambda
  return out;
}

}  // namespace schedule
}  // namespace swd
