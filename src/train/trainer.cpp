// The training loop, top to bottom. Run (run_setup.cpp) makes everything a run needs before
// its first step: the resolved configuration and folder, data, model, optimizer with its
// decay / no-decay groups, schedules and loaders. Here: the epochs, each a loop of steps
// (forward and backward over the step's micro-batches, the gradients summed over ranks, the
// optimizer step, and the running totals, read back to the host only when it needs numbers),
// then the end of the epoch (test pass, metrics row, weights and checkpoint).
#include "swd/train/trainer.h"

#include <torch/nn/functional/loss.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "swd/parallel/data_parallel.h"
#include "swd/run/run_log.h"
#include "swd/run/weights.h"
#include "swd/runtime.h"
#include "swd/train/device.h"
#include "swd/train/progress.h"
#include "swd/util/io.h"
#include "swd/util/signals.h"
#include "resume_check.h"
#include "run_setup.h"
#include "step_totals.h"

namespace swd {
namespace train {

namespace fs = std::filesystem;

namespace {

/// The squared L2 norm over every tensor, sum over tensors of ||t||^2, accumulated in float64
/// without temporaries, as a 0-dim tensor on the tensors' device (0 when none is defined).
torch::Tensor global_norm_sq(const std::vector<torch::Tensor>& tensors, const c10::Device& device) {
  torch::Tensor sum_sq;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    auto sq = at::linalg_vector_norm(t.detach(), 2, c10::nullopt, false, at::kDouble).square();
    sum_sq = sum_sq.defined() ? sum_sq.add_(sq) : sq;
  }
  return sum_sq.defined() ? sum_sq : torch::zeros({}, torch::dtype(torch::kDouble).device(device));
}

std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad());
  return grads;
}

struct Evaluation {
  double loss = 0;
  double error = 0;
};

/// Loss and error over the test set (or the validation set: `loader`), or its first `limit`
/// batches (limit > 0).
Evaluation evaluate(Run& run, data::BatchLoader& loader, int64_t limit) {
  torch::NoGradGuard no_grad;
  run.model->eval();
  loader.start_epoch(0);
  // Summed on the device, read back once at the end.
  auto loss_total = torch::zeros({}, torch::dtype(torch::kDouble).device(run.device));
  auto wrong_total = torch::zeros({}, torch::dtype(torch::kLong).device(run.device));
  int64_t seen = 0, batches = 0;
  while (auto next = loader.next()) {
    if (limit > 0 && batches++ >= limit) break;  // --limit-test-batches
    const auto batch = to_device(*next, run.device);
    auto logits = forward_with(*run.model, batch.data, run.device, run.config.precision,
                               run.config.channels_last);
    loss_total.add_(torch::nn::functional::cross_entropy(
                        logits, batch.target,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .to(torch::kDouble));
    wrong_total.add_(logits.argmax(1).ne(batch.target).sum());
    seen += batch.target.size(0);
  }
  run.model->train();
  const auto host = read_back({loss_total, wrong_total});
  // [dist] each rank evaluated its shard of the test set: add the counts up
  const auto total = run.group->sum({host[0], host[1], static_cast<double>(seen)}, "evaluation counts");
  return {total[0] / std::max(total[2], 1.0), total[1] / std::max(total[2], 1.0)};
}

/// The epochs of one run: the loop of steps, and the end of each epoch.
///
/// When the host synchronises with the device (docs/TRAINING.md, "Devices and precision"):
/// with one process and --on-nonfinite stop, a step's numbers stay on the device
/// (DeviceTotals) and are read back only when the host needs them -- a --log-every line, a
/// checkpoint, a progress-bar redraw (at most every 100 ms), a stop signal, the end of the
/// epoch; a non-finite step is reported at that readback, before anything is written from
/// the state after it. With several processes every step is read back and agreed over the
/// ranks (they must stop at the same step, for a signal or a non-finite loss on any of them),
/// and under --on-nonfinite skip every step is read back before the optimizer steps (the
/// step is skipped or taken on its numbers: one synchronisation per step on a GPU).
class Epochs {
 public:
  explicit Epochs(Run& run);
  /// Trains every epoch still to do. Throws StopRequested or NonFiniteError.
  void train();

 private:
  void train_epoch();
  void take_step(const parallel::Step& step);
  /// Forward and backward over this rank's micro-batches of the step: their loss and
  /// error sums (grad_norm_sq is left to the caller, after the gradients are reduced).
  StepSums forward_backward(const parallel::Step& step);
  /// Deferred: reads the device totals back into the epoch's totals; the last step's numbers.
  /// Throws NonFiniteError naming the first non-finite step since the last readback.
  Agreed read_totals();
  void end_epoch();
  /// The last step's sqrt(vbar) and decay per step, kept in the totals so that a checkpoint
  /// carries them to a resumed process that may take no step before the epoch's row.
  void note_last_step();
  void save_checkpoint_now();
  /// All ranks stop at the same step (`asked` is agreed over the group); rank 0 checkpoints.
  void stop_if_asked(bool asked);
  [[noreturn]] void fail_nonfinite(bool loss, int64_t batch_in_epoch, int64_t training_batch);

  Run& run_;
  run::CheckpointInfo& state_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> train_log_;  ///< [dist] rank 0 writes the logs
  run::StepLog step_log_;
  std::optional<run::EventFile> events_;  ///< --tensorboard (rank 0)
  Progress progress_;
  parallel::StepReader steps_;        ///< [dist] one optimizer step = one global batch
  parallel::GradientReducer reducer_; ///< [dist] gradients summed over ranks
  int64_t batches_ = 0;               ///< steps per epoch (--limit-batches)
  std::vector<torch::Tensor> params_;
  /// SIGINT/SIGTERM: finish the step, write a checkpoint, stop; another one ends the process,
  /// unless it comes within 2 s of the first (the same request: util::kSameRequestSeconds).
  util::SignalCatcher signals_{{SIGINT, SIGTERM}, util::SignalCatcher::Repeat::EndsProcess};
  /// Read back only when needed (one process, --on-nonfinite stop), else every step.
  bool deferred_ = false;
  DeviceTotals device_totals_;  ///< deferred: the totals since the last readback
  int64_t seen_before_ = 0;  ///< samples of the epoch trained on by an interrupted process
  std::chrono::steady_clock::time_point clock_;
};

Epochs::Epochs(Run& run)
    : run_(run),
      state_(run.state),
      train_log_(run.writes_files ? run::open_train_log(run.config.out, run.config.resume) : nullptr,
                 &std::fclose),
      step_log_((run.out / "steps.jsonl").string(), run.writes_files ? run.config.log_every : 0,
                run.state.position.steps_done, run.config.resume),
      progress_(run.writes_files ? run.config.progress : Progress::Mode::None,
                run.config.epochs, stdout, train_log_.get()),
      steps_(*run.train_loader, run.data.train.images.size(0), run.config.accumulate),
      reducer_(*run.group, run.model->parameters()),
      params_(run.model->parameters()),
      deferred_(run.group->world_size() == 1 && run.config.on_nonfinite == OnNonFinite::Stop) {
  if (run.writes_files && run.config.tensorboard) events_.emplace(run.out.string());
  const int64_t full = steps_.steps_per_epoch();
  batches_ = run.config.limit_batches > 0 ? std::min(full, run.config.limit_batches) : full;
}

void Epochs::train() {
  run_.model->train();
  if (run_.writes_files) progress_.message(run_banner(run_));  // [dist] rank 0's
  while (state_.position.epoch < run_.config.epochs) {
    train_epoch();
    end_epoch();
  }
}

void Epochs::train_epoch() {
  const int64_t epoch = state_.position.epoch;
  progress_.begin_epoch(epoch + 1, batches_, state_.position.batches_done);
  seen_before_ = state_.partial.seen;
  // The loader's batches are micro-batches: a step is `accumulate` of them.
  run_.train_loader->start_epoch(epoch, state_.position.batches_done * run_.config.accumulate);
  clock_ = std::chrono::steady_clock::now();
  if (deferred_) device_totals_.start(state_.partial, run_.device);
  try {
    while (auto step = steps_.next()) {
      if (step->index >= batches_) break;
      take_step(*step);
    }
    if (deferred_ && device_totals_.pending()) read_totals();  // (the last step read them)
  } catch (const NonFiniteError&) {
    throw;
  } catch (const StopRequested&) {
    throw;
  } catch (...) {
    // Deferred: a step after a non-finite one failed (its state is not finite); name the
    // first non-finite step rather than what followed from it.
    if (deferred_) read_totals();
    throw;
  }
}

void Epochs::take_step(const parallel::Step& step) {
  Run& r = run_;
  run::EpochTotals& totals = state_.partial;
  const int64_t epoch = state_.position.epoch;
  r.schedules.apply(*r.optimizer, static_cast<double>(epoch) + static_cast<double>(step.index) / batches_);
  r.optimizer->zero_grad();
  StepSums sums = forward_backward(step);
  reducer_.reduce();  // [dist] sum over ranks: the gradient of the global batch's mean loss
  sums.grad_norm_sq = global_norm_sq(gradients_of(params_), r.device);
  const int64_t training_batch = state_.position.steps_done + 1;
  std::optional<Agreed> now;  // the step's numbers, when read back
  // The dynamics: w before the step where it is measured (and at each logged step), the
  // decay budget after every step taken (swd/train/dynamics.h).
  const bool last_of_epoch = step.index + 1 == batches_;
  auto optimizer_step = [&] {
    r.dynamics->before_step(training_batch, step_log_.due(training_batch) ||
                                                (last_of_epoch && !r.dynamics->epoch_measured()));
    r.optimizer->step();
    r.dynamics->after_step();
  };
  if (deferred_) {
    optimizer_step();  // a non-finite step is reported at the next readback
    device_totals_.add(sums, training_batch);
  } else {
    now = agree_now(sums, *r.group, signals_.received() != 0);
    if (now->finite_loss && std::isfinite(now->grad_norm)) {
      optimizer_step();
      totals.loss_sum += now->loss_sum;
      totals.wrong += static_cast<int64_t>(now->wrong);
      totals.seen += static_cast<int64_t>(now->seen);
      totals.grad_norm_sum += now->grad_norm;
      totals.grad_norm_sq_sum += now->grad_norm * now->grad_norm;
      ++totals.steps;
    } else if (r.config.on_nonfinite == OnNonFinite::Skip) {
      ++totals.skipped;  // the step is skipped: parameters and optimizer state unchanged
    } else {
      fail_nonfinite(!now->finite_loss, step.index + 1, training_batch);
    }
  }
  ++state_.position.batches_done;
  ++state_.position.steps_done;
  const int64_t steps_done = state_.position.steps_done;
  step_log_.add_samples(now ? static_cast<int64_t>(now->seen) : sums.seen);
  const bool log_due = step_log_.due(steps_done);
  const bool checkpoint_due = r.writes_files && r.config.checkpoint_every > 0 &&
                              steps_done % r.config.checkpoint_every == 0;
  const bool stop = now ? now->stop : signals_.received() != 0;
  const bool epoch_done = state_.position.batches_done >= batches_;  // its metrics row is next
  if (!now && (log_due || checkpoint_due || stop || epoch_done ||
               progress_.redraw_due(state_.position.batches_done))) {
    now = read_totals();  // deferred: the host needs numbers
  }
  if (now) {
    progress_.batch(state_.position.batches_done, totals.seen - seen_before_,
                    totals.loss_sum / std::max<int64_t>(totals.seen, 1));
  }
  if (log_due) {  // before the step's checkpoint
    run::StepRecord record = run::step_record(*r.optimizer, steps_done, epoch + 1, now->mean_loss(), now->grad_norm);
    record.dynamics = r.dynamics->end_interval_json();
    if (events_) events_->scalars(steps_done, run::step_scalars(record));
    progress_.step_line(step_log_.write(std::move(record)));
  }
  const auto time = std::chrono::steady_clock::now();  // training time, kept across interruptions
  totals.seconds += std::chrono::duration<double>(time - clock_).count();
  clock_ = time;
  if (checkpoint_due) {
    save_checkpoint_now();
    kill_after_checkpoint_if_asked(steps_done);
  }
  stop_if_asked(stop);
}

StepSums Epochs::forward_backward(const parallel::Step& step) {
  Run& r = run_;
  const auto on_device = [&](torch::Dtype type) { return torch::zeros({}, torch::dtype(type).device(r.device)); };
  StepSums sums{on_device(torch::kDouble), on_device(torch::kLong), {}, 0};
  for (const auto& micro : step.micro) {  // [dist] this rank's micro-batches of the step
    const int64_t b = micro.target.size(0);
    if (b == 0) continue;  // a short last batch leaves some ranks nothing
    const auto batch = to_device(micro, r.device);
    auto logits = forward_with(*r.model, batch.data, r.device, r.config.precision, r.config.channels_last);
    auto loss = torch::nn::functional::cross_entropy(logits, batch.target);
    const double share = step.share(micro);  // n_micro / n_global (data_parallel.h)
    (share == 1.0 ? loss : loss * share).backward();
    sums.loss_sum.add_(loss.detach().to(torch::kDouble).mul(static_cast<double>(b)));
    sums.wrong.add_(logits.argmax(1).ne(batch.target).sum());
    sums.seen += b;
  }
  return sums;
}

Agreed Epochs::read_totals() {
  DeviceTotals::Bad bad;
  const Agreed last = device_totals_.read(state_.partial, bad);
  if (bad.training_batch > 0) {
    // Within an epoch, training batch - batch of the epoch is the same for every step.
    const int64_t offset = state_.position.steps_done - state_.position.batches_done;
    fail_nonfinite(bad.loss, bad.training_batch - offset, bad.training_batch);
  }
  return last;
}

void Epochs::end_epoch() {
  Run& r = run_;
  run::EpochTotals& totals = state_.partial;
  const int64_t epoch = state_.position.epoch;
  parallel::broadcast_buffers(*r.group, *r.model);  // [dist] evaluate rank 0's model (BatchNorm stats)
  // --eval-every N: the test pass every N epochs and after the last; other epochs leave
  // the test columns empty (NaN).
  const bool evaluated = (epoch + 1) % r.config.eval_every == 0 || epoch + 1 == r.config.epochs;
  Evaluation test{std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  Evaluation val = test;
  if (evaluated) {
    progress_.begin_evaluation();
    test = evaluate(r, *r.test_loader, r.config.limit_test_batches);
    if (r.val_loader) val = evaluate(r, *r.val_loader, r.config.limit_test_batches);  // --val-split
  }
  const auto now = std::chrono::steady_clock::now();
  totals.seconds += std::chrono::duration<double>(now - clock_).count();

  run::EpochMetrics m;
  m.epoch = epoch + 1;
  m.lr = r.optimizer->group_hyper(0).lr;
  m.weight_decay = r.optimizer->group_hyper(0).weight_decay;
  // Means over no samples or steps (every step skipped) are undefined: NaN, an empty cell.
  const double undefined = std::numeric_limits<double>::quiet_NaN();
  const double seen = static_cast<double>(totals.seen), steps = static_cast<double>(totals.steps);
  m.train_loss = totals.seen > 0 ? totals.loss_sum / seen : undefined;
  m.train_error = totals.seen > 0 ? static_cast<double>(totals.wrong) / seen : undefined;
  m.test_loss = test.loss;
  m.test_error = test.error;
  m.val_loss = val.loss;
  m.val_error = val.error;
  m.grad_norm = totals.steps > 0 ? totals.grad_norm_sum / steps : undefined;
  m.grad_norm_sq = totals.steps > 0 ? totals.grad_norm_sq_sum / steps : undefined;
  m.weight_norm = std::sqrt(global_norm_sq(params_, r.device).item<double>());
  note_last_step();
  m.sqrt_vbar = totals.sqrt_vbar;
  m.decay_per_step = totals.decay_per_step;
  m.seconds = totals.seconds;
  m.skipped_steps = totals.skipped;
  const auto dynamics = r.dynamics->end_epoch();  // per tracked tensor, then the aggregate
  const TensorDynamics& all = dynamics.back();
  m.tracked_norm = all.weight_norm;
  m.angular_update = all.angular_update;
  m.relative_update = all.relative_update;
  m.effective_lr = all.effective_lr;
  m.decay_rate = all.decay_rate;
  m.decay_budget = all.decay_budget;
  const std::string dynamics_rows = dynamics_csv_rows(epoch + 1, r.dynamics->names(), dynamics);
  state_.dynamics_csv += dynamics_rows;
  if (totals.skipped > 0) {
    progress_.message("epoch " + std::to_string(epoch + 1) + ": skipped " +
                      std::to_string(totals.skipped) + " steps with a non-finite loss or gradient");
  }

  // The next epoch's start is checkpointed first, then the metrics row appended: after a
  // crash between the two, resuming rewrites metrics.csv from the checkpoint, so no row is
  // lost or doubled.
  state_.metrics.push_back(m);
  // best.pt: this epoch when it is the best so far (best_epoch: on validation with --val-split)
  const bool best = evaluated && run::best_epoch(state_.metrics) + 1 == state_.metrics.size();
  state_.position.epoch = epoch + 1;
  state_.position.batches_done = 0;
  state_.partial = run::EpochTotals{};
  if (r.writes_files) {  // [dist] rank 0 only; the weights first: a crash redoes the epoch
    run::save_weights((r.out / "model.pt").string(), r.config.model, *r.model);
    if (best) run::save_weights((r.out / "best.pt").string(), r.config.model, *r.model);
    state_.dynamics_state = r.dynamics->state_json();
    run::save_checkpoint(r.checkpoint_path, *r.model, *r.optimizer, state_);
    util::append_line_durably(r.metrics_path, run::metrics_csv_row(m));
    if (events_) events_->scalars(state_.position.steps_done, run::epoch_scalars(m));
    util::append_line_durably(r.dynamics_path, dynamics_rows.substr(0, dynamics_rows.size() - 1));
  }
  progress_.end_epoch(m);
  stop_if_asked(r.group->sum({signals_.received() != 0 ? 1.0 : 0.0}, "stop signal")[0] != 0);
}

void Epochs::note_last_step() {
  run::EpochTotals& totals = state_.partial;
  const auto& optimizer = *run_.optimizer;
  if (optimizer.vbar().defined()) totals.sqrt_vbar = std::sqrt(optimizer.vbar().item<double>());
  if (const auto d = optimizer.decay_per_step(0)) totals.decay_per_step = d;
}

void Epochs::save_checkpoint_now() {
  note_last_step();
  state_.dynamics_state = run_.dynamics->state_json();
  if (run_.writes_files) run::save_checkpoint(run_.checkpoint_path, *run_.model, *run_.optimizer, state_);
}

void Epochs::stop_if_asked(bool asked) {
  if (!asked) return;
  save_checkpoint_now();
  const int signal = signals_.received() != 0 ? signals_.received() : SIGTERM;
  const std::string why = "stopped by signal " + std::to_string(signal) + " after " +
                          std::to_string(state_.position.steps_done) +
                          " batches; checkpoint written; continue with: swd train --resume "
                          "--out " + run_.config.out;
  progress_.end_line();  // the message (train_command prints it) starts a line of its own
  progress_.to_log("swd: " + why);
  throw StopRequested(signal, why);
}

void Epochs::fail_nonfinite(bool loss, int64_t batch_in_epoch, int64_t training_batch) {
  const std::string& checkpoint = run_.checkpoint_path;
  const std::string why =
      "non-finite " + std::string(loss ? "loss" : "gradient") + " at batch " +
      std::to_string(batch_in_epoch) + " of epoch " + std::to_string(state_.position.epoch + 1) +
      " (training batch " + std::to_string(training_batch) + "); " +
      (fs::exists(checkpoint) ? "the last good checkpoint is " + checkpoint
                              : std::string("no checkpoint was written yet")) +
      " (--on-nonfinite skip skips such steps)";
  progress_.end_line();
  progress_.to_log("swd: error: " + why);
  throw NonFiniteError(why);
}

RunSummary summary_of(const Run& run) {
  RunSummary summary;
  summary.out_dir = run.config.out;
  summary.epochs = run.state.metrics;
  for (const auto& m : summary.epochs) summary.skipped_steps += m.skipped_steps;
  summary.best_on_validation = run::chosen_on_validation(summary.epochs);
  if (const size_t best = run::best_epoch(summary.epochs); best < summary.epochs.size()) {
    summary.best_test_error = summary.epochs[best].test_error;
    summary.best_val_error = summary.epochs[best].val_error;
    summary.best_epoch = summary.epochs[best].epoch;
  }
  if (!summary.epochs.empty()) summary.final_test_error = summary.epochs.back().test_error;
  return summary;
}

}  // namespace

TrainConfig resume_config(const std::string& out_dir,
                          const std::vector<std::pair<std::string, std::string>>& overrides) {
  const std::string saved_json = util::read_file((fs::path(out_dir) / "config.json").string());
  TrainConfig config = config_from_json(saved_json);
  const auto saved = nlohmann::json::parse(saved_json);
  for (const auto& [key, value] : overrides) set_config_value(config, key, value);
  if (config.weight_decay_over_lr) {  // not in config.json: its weight-decay is the result
    throw ConfigError("cannot give weight-decay-over-lr when resuming: the run's weight-decay " +
                      saved.value("weight-decay", nlohmann::json()).dump() + " is already the weight decay it trains with");
  }
  const auto now = nlohmann::json::parse(config_to_json(config));
  for (const auto& [key, value] : now.items()) {
    if (!resume_may_change(key) && saved.contains(key) && saved[key] != value) {
      throw ConfigError("cannot change " + key + " when resuming (saved " +
                        saved[key].dump().substr(0, 80) + ", given " +
                        value.dump().substr(0, 80) + ")");
    }
  }
  config.out = out_dir;
  config.resume = true;
  return config;
}

RunSummary run_training(const TrainConfig& requested) {
  Run run(requested);  // the setup: configuration, folder, data, model, optimizer, loaders
  // After the setup has read and written every setting (a denormal lr such as 1e-320 is a
  // value the user gave, recorded as given), before the first step.
  configure_denormals();
  Epochs(run).train();
  return summary_of(run);
}

}  // namespace train
}  // namespace swd
