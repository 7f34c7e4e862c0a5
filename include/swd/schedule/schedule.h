#pragma once
// Learning-rate and weight-decay schedules as first-class objects. A schedule maps training
// progress, measured in epochs (fractional within an epoch), to a multiplier of the base
// value. The same types serve the learning rate and the weight decay.

#include <memory>
#include <string>
#include <vector>

namespace swd {
namespace schedule {

class Schedule {
 public:
  virtual ~Schedule() = default;
  /// Multiplier of the base value at `epoch` (>= 0; 2.5 = halfway through the third epoch).
  virtual double factor(double epoch) const = 0;
  /// A short description, e.g. "step(milestones=80,160; gamma=0.1)".
  virtual std::string describe() const = 0;
};

/// factor = 1.
class Constant : public Schedule {
 public:
  double factor(double epoch) const override;
  std::string describe() const override;
};

/// factor = gamma^(number of milestones <= epoch): the paper's "x0.1 at epochs 80 and 160" is
/// Step({80, 160}, 0.1). A milestone may be fractional: the factor changes at the first step
/// whose progress (epoch + step / steps per epoch) reaches it, so whole-epoch milestones change
/// at epoch boundaries and the default 40% / 80% of a run change at 40% / 80% of its steps.
class Step : public Schedule {
 public:
  Step(std::vector<double> milestones, double gamma);
  double factor(double epoch) const override;
  std::string describe() const override;

 private:
  std::vector<double> milestones_;
  double gamma_;
};

/// Cosine annealing from 1 to `floor` over `total_epochs`: floor + (1-floor)(1+cos(pi e/T))/2.
class Cosine : public Schedule {
 public:
  explicit Cosine(double total_epochs, double floor = 0.0);
  double factor(double epoch) const override;
  std::string describe() const override;

 private:
  double total_epochs_;
  double floor_;
};

/// Linear warm-up from 0 over `warmup_epochs`, then `after` (whose clock keeps counting from
/// epoch 0, so milestones keep their meaning).
class Warmup : public Schedule {
 public:
  Warmup(double warmup_epochs, std::shared_ptr<const Schedule> after);
  double factor(double epoch) const override;
  std::string describe() const override;

 private:
  double warmup_epochs_;
  std::shared_ptr<const Schedule> after_;
};

/// The kinds of schedule, and their names as the CLI and config files spell them
/// (schedule_kinds(): constant, step, cosine).
enum class ScheduleKind { Constant, Step, Cosine };
const std::vector<std::string>& schedule_kinds();
/// Throws std::invalid_argument naming `name` and the kinds.
ScheduleKind schedule_kind_from_string(const std::string& name);
std::string to_string(ScheduleKind kind);

/// What a schedule is made from.
struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::Constant;
  std::vector<double> milestones; ///< step: epochs (fractional allowed); empty = 40% and 80% of
                                  ///< the run's steps
  double gamma = 0.1;             ///< step
  double floor = 0.0;             ///< cosine
  double warmup_epochs = 0.0;
};

/// Refuses milestones given for a run of `total_epochs` unless each acts within the run, once:
/// strictly increasing, each with 0 < m < total_epochs (a milestone m multiplies the lr by
/// gamma from the first step at which m epochs are done). Throws std::invalid_argument naming
/// them.
void check_milestones(const std::vector<double>& milestones, double total_epochs);

/// Builds the schedule for a run of `total_epochs`. Throws std::invalid_argument naming given
/// milestones that check_milestones refuses, gamma <= 0, or warmup_epochs < 0.
std::shared_ptr<const Schedule> make_schedule(const ScheduleSpec& spec, double total_epochs);

}  // namespace schedule
}  // namespace swd
