// swd plan (swd/train/plan.h): a run's steps and decay budget, without training it.
#include "swd/train/plan.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

#include <ATen/Parallel.h>

#include "swd/optim/adam.h"
#include "swd/train/device.h"
#include "swd/train/trainer.h"
#include "swd/util/csv.h"
#include "run_setup.h"

namespace swd {
namespace train {

namespace fs = std::filesystem;

namespace {

/// A temporary folder, removed with everything in it when this goes out of scope.
struct TemporaryFolder {
  fs::path path;
  TemporaryFolder() {
    std::string pattern = (fs::temp_directory_path() / "swd-plan-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder for the probe run");
    path = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

/// d / (eta * lambda) of the tracked weights, averaged over the second half of a probe run of
/// `steps` steps: the config's model, data and optimizer at their base lr and weight decay.
double probe_ratio(const TrainConfig& config, int64_t steps, int64_t steps_per_epoch) {
  TemporaryFolder folder;
  TrainConfig probe = config;
  probe.out = (folder.path / "probe").string();
  probe.resume = false;
  probe.epochs = 2;  // two halves: the ratio is read from the second
  probe.limit_batches = std::max<int64_t>(1, steps / 2);
  probe.lr_schedule = probe.wd_schedule = schedule::ScheduleKind::Constant;
  probe.warmup_epochs = 0;
  probe.limit_test_batches = 1;
  probe.eval_every = 2;
  probe.log_every = 0;
  probe.checkpoint_every = 0;
  probe.dynamics_every = std::min<int64_t>(10, probe.limit_batches);
  probe.progress = ProgressMode::None;
  probe.nproc = probe.world_size = 1;
  probe.rank = 0;
  const RunSummary summary = run_training(probe);
  const auto& first = summary.epochs.at(0);
  const auto& second = summary.epochs.at(1);
  const double unit = second.lr * second.weight_decay;
  if (!(unit > 0)) return 0.0;
  // The second half's steps: an epoch of a small training set may be shorter than asked.
  const int64_t taken = std::min(probe.limit_batches, steps_per_epoch);
  return (second.decay_budget - first.decay_budget) / (static_cast<double>(taken) * unit);
}

std::string efolds(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}


int64_t planned_steps_per_epoch(const Run& run) {
  const TrainConfig& c = run.config;
  // The loader's batches are micro-batches of batch_size / accumulate; a step is `accumulate`
  // of them; the last partial batch is kept (parallel::StepReader::steps_per_epoch).
  const int64_t samples = run.data.train.images.size(0);
  const int64_t micro = c.batch_size / c.accumulate;
  const int64_t batches = (samples + micro - 1) / micro;
  const int64_t full = (batches + c.accumulate - 1) / c.accumulate;
  return c.limit_batches > 0 ? std::min(full, c.limit_batches) : full;
}

RunPlan plan_without_probe(const Run& run) {
  const TrainConfig& c = run.config;
  RunPlan plan;
  plan.steps_per_epoch = planned_steps_per_epoch(run);
  plan.epochs = c.epochs;
  plan.steps = plan.steps_per_epoch * plan.epochs;

  const auto& optimizer = *run.optimizer;
  const auto tracked = run.dynamics->names();
  const std::set<std::string> tracked_set(tracked.begin(), tracked.end());
  std::set<const void*> tracked_tensors;
  for (const auto& item : run.model->named_parameters()) {
    if (tracked_set.count(item.key())) tracked_tensors.insert(item.value().unsafeGetTensorImpl());
  }
  const std::size_t groups = optimizer.param_groups().size();
  for (std::size_t g = 0; g < groups; ++g) {
    GroupPlan group;
    group.role = run.schedules.groups[g].role;
    group.lr = run.schedules.groups[g].lr;
    group.weight_decay = run.schedules.groups[g].weight_decay;
    for (const auto& p : optimizer.param_groups()[g].params()) {
      group.tracked = group.tracked || tracked_tensors.count(p.unsafeGetTensorImpl()) > 0;
    }
    if (const auto ratio = optimizer.static_decay_ratio(g)) {
      group.ratio = *ratio;
    } else if (group.weight_decay == 0) {
      group.ratio = 0;
    } else {
      group.ratio = std::numeric_limits<double>::quiet_NaN();  // measured by a probe (plan_run)
      group.estimated = true;
    }
    // sum over steps of lr_t * wd_t * ratio, with the schedules at each step's progress
    // (epoch + step / steps per epoch, as the trainer applies them).
    double sum = 0;
    for (int64_t e = 0; e < plan.epochs; ++e) {
      for (int64_t s = 0; s < plan.steps_per_epoch; ++s) {
        const double progress = static_cast<double>(e) + static_cast<double>(s) / plan.steps_per_epoch;
        sum += group.lr * run.schedules.lr->factor(progress) * group.weight_decay *
               run.schedules.wd->factor(progress);
      }
    }
    group.unit_budget = sum;
    group.budget = group.ratio == 0 ? 0.0 : sum * group.ratio;  // NaN until probed
    plan.groups.push_back(group);
  }
  return plan;
}

/// The tracked weights' budget (the smallest over the groups that hold them), the relaxation
/// time and the verdict, from the groups' budgets.
void complete_plan(const Run& run, RunPlan& plan) {
  plan.budget = std::numeric_limits<double>::infinity();
  for (const auto& group : plan.groups) {
    if (!group.tracked) continue;
    plan.budget = std::isnan(group.budget) || std::isnan(plan.budget) ? group.budget + plan.budget
                                                                       : std::min(plan.budget, group.budget);
    plan.estimated = plan.estimated || group.estimated;
  }
  if (std::isinf(plan.budget)) plan.budget = 0;
  // docs/DYNAMICS.md, "Relaxation": 1/(4d) for SGD and Adai, 1/(2d) for AdamW, 1/(3d) for Adam
  // whose rate grows with the norm (stable, L2).
  const auto& optimizer = *run.optimizer;
  const bool adam = dynamic_cast<const optim::Adam*>(&optimizer) != nullptr;
  const auto decay = plan.groups.empty() ? optim::Decay::L2 : optimizer.group_hyper(0).decay;
  const double k = !adam ? 4.0 : decay == optim::Decay::Decoupled ? 2.0 : 3.0;
  const double mean_rate = plan.steps > 0 ? plan.budget / static_cast<double>(plan.steps) : 0.0;
  plan.relaxation_efolds = 1 / k;
  plan.relaxation_steps = mean_rate > 0 ? 1 / (k * mean_rate) : std::numeric_limits<double>::infinity();
  plan.long_run = plan.budget >= kLongBudget;
}

}  // namespace

RunPlan plan_run(const TrainConfig& config, const PlanOptions& options) {
  Run run(config, Run::PlanOnly{});
  RunPlan plan = plan_without_probe(run);
  double probed = std::numeric_limits<double>::quiet_NaN();
  for (auto& group : plan.groups) {
    if (!group.estimated) continue;
    if (std::isnan(probed) && options.probe_steps > 0) {
      probed = probe_ratio(config, options.probe_steps, plan.steps_per_epoch);
      plan.probe_steps = options.probe_steps;
    }
    group.ratio = probed;
    group.budget = group.ratio == 0 ? 0.0 : group.unit_budget * group.ratio;
  }
  complete_plan(run, plan);
  return plan;
}

std::string run_banner(const Run& run) {
  const TrainConfig& c = run.config;
  int64_t parameters = 0;
  for (const auto& p : run.model->parameters()) parameters += p.numel();
  std::string data = c.dataset + ": train " + std::to_string(run.data.train.images.size(0));
  if (c.train_subset > 0) {
    data += " (class-balanced subset of " + std::to_string(run.full_train_size) + ", subset-seed " +
            std::to_string(c.subset_seed) + ")";
  }
  if (run.validation.size() > 0) {
    data += ", validation " + std::to_string(run.validation.size()) + " (held out, stratified, val-seed " +
            std::to_string(c.val_seed) + ": it chooses the best epoch)";
  }
  data += ", test " + std::to_string(run.data.test.images.size(0));
  std::string hyper;
  for (const auto& g : run.schedules.groups) {
    hyper += std::string(hyper.empty() ? "" : "; ") + (g.role == "all" ? "" : g.role + " group: ") +
             "lr " + util::shortest_number(g.lr) + " (" + g.lr_from + "), weight decay " +
             util::shortest_number(g.weight_decay) + " (" + g.weight_decay_from + ")";
  }
  const RunPlan plan = plan_without_probe(run);
  std::string budget;
  for (const auto& g : plan.groups) {
    if (!g.tracked) continue;
    budget += std::string(budget.empty() ? "" : ", ") + (g.role == "all" ? "" : g.role + " group ") +
              (g.estimated ? "see swd plan (measured by a probe for Adam with L2 or stable decay)"
                           : efolds(g.budget) + " e-folds");
  }
  return "swd train: " + c.model + " (" + std::to_string(parameters) + " parameters) | " + data +
         " | " + c.optimizer + ": " + hyper + " | schedule lr " + run.schedules.lr->describe() +
         ", weight decay " + run.schedules.wd->describe() + "; " + std::to_string(c.epochs) +
         (c.epochs == 1 ? " epoch x " : " epochs x ") + std::to_string(plan.steps_per_epoch) + " steps of batch " +
         std::to_string(c.batch_size) + " | " + run.device.str() + " (" + device_name(run.device) +
         "), threads " + std::to_string(at::get_num_threads()) +
         (c.world_size > 1 ? " x " + std::to_string(c.world_size) + " ranks" : "") + " | decay budget of the tracked "
         "weights: " + (budget.empty() ? "none tracked" : budget) + " (docs/DYNAMICS.md)";
}

std::string describe_plan(const RunPlan& plan) {
  std::string text;
  for (const auto& g : plan.groups) {
    text += "  group " + g.role + " (lr " + util::shortest_number(g.lr) + ", weight decay " +
            util::shortest_number(g.weight_decay) + "): budget " + efolds(g.budget) + " e-folds (" +
            (g.estimated ? "estimated from a " + std::to_string(plan.probe_steps) + "-step probe"
                         : std::string("exact")) +
            (g.tracked ? "; tracked weights" : "") + ")\n";
  }
  return text;
}

}  // namespace train
}  // namespace swd
