// The training loop, top to bottom: folder, data, model, optimizer, schedules, epochs.
#include "swd/train/trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "swd/data/dataset.h"
#include "swd/data/loader.h"
#include "swd/models/models.h"
#include "swd/runtime.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"
#include "swd/train/checkpoint.h"
#include "swd/train/files.h"
#include "swd/train/optimizer_factory.h"
#include "swd/train/progress.h"
#include "stop_signals.h"

namespace swd {
namespace train {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kResumeMayChange = {
    "epochs", "threads", "workers", "progress", "limit-batches", "checkpoint-every", "out", "resume"};

std::string default_out_dir(const std::string& optimizer) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + std::string(stamp) + "-" + optimizer;
}

/// Refuses to start over a run that holds results (a checkpoint, or finished epochs in
/// metrics.csv) unless resuming it; a folder with only a config.json is a run that never
/// finished anything, and starting again loses nothing.
void check_folder(const TrainConfig& config) {
  const fs::path out(config.out);
  if (config.resume) {
    if (!fs::exists(out / "config.json")) {
      throw std::runtime_error("cannot resume: no run in " + config.out + " (no config.json)");
    }
    return;
  }
  const bool has_results =
      fs::exists(out / "checkpoint.pt") ||
      (fs::exists(out / "metrics.csv") &&
       !parse_metrics_csv(read_file((out / "metrics.csv").string())).empty());
  if (has_results) {
    throw std::runtime_error(config.out + " already holds a run; pass --resume to continue it "
                             "or choose another --out");
  }
}

void create_folder(const std::string& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) throw std::runtime_error("cannot create " + path + ": " + error.message());
}

data::DatasetSpec dataset_spec(const TrainConfig& c) {
  data::DatasetSpec spec;
  spec.name = c.dataset;
  spec.data_dir = c.data_dir;
  spec.synthetic_train = c.synthetic_train;
  spec.synthetic_test = c.synthetic_test;
  spec.synthetic_size = c.synthetic_size;
  spec.synthetic_channels = c.synthetic_channels;
  spec.synthetic_classes = c.synthetic_classes;
  spec.seed = c.seed;
  return spec;
}

/// The L2 norm over every gradient (the loss's only: weight decay never enters .grad).
/// sqrt(sum over tensors of ||t||^2), accumulated in float64 without temporaries.
double global_norm(const std::vector<torch::Tensor>& tensors) {
  torch::Tensor sum_sq;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    auto sq = at::linalg_vector_norm(t.detach(), 2, c10::nullopt, false, at::kDouble).square();
    sum_sq = sum_sq.defined() ? sum_sq.add_(sq) : sq;
  }
  return sum_sq.defined() ? std::sqrt(sum_sq.item<double>()) : 0.0;
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

Evaluation evaluate(models::Classifier& model, data::BatchLoader& loader) {
  torch::NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0);
  double loss_sum = 0;
  int64_t wrong = 0, seen = 0;
  while (auto batch = loader.next()) {
    auto logits = model.forward(batch->data);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, batch->target,
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    wrong += logits.argmax(1).ne(batch->target).sum().item<int64_t>();
    seen += batch->target.size(0);
  }
  model.train();
  return {loss_sum / std::max<int64_t>(seen, 1), static_cast<double>(wrong) / std::max<int64_t>(seen, 1)};
}

}  // namespace

TrainConfig resume_config(const std::string& out_dir,
                          const std::vector<std::pair<std::string, std::string>>& overrides) {
  const std::string saved_json = read_file((fs::path(out_dir) / "config.json").string());
  TrainConfig config = config_from_json(saved_json);
  const auto saved = nlohmann::json::parse(saved_json);
  for (const auto& [key, value] : overrides) set_config_value(config, key, value);
  const auto now = nlohmann::json::parse(config_to_json(config));
  for (const auto& [key, value] : now.items()) {
    const bool may_change =
        std::find(kResumeMayChange.begin(), kResumeMayChange.end(), key) != kResumeMayChange.end();
    if (!may_change && saved.contains(key) && saved[key] != value) {
      throw ConfigError("cannot change " + key + " when resuming (saved " + saved[key].dump() +
                        ", given " + value.dump() + ")");
    }
  }
  config.out = out_dir;
  config.resume = true;
  return config;
}

RunSummary run_training(const TrainConfig& requested) {
  // --- Configuration and output folder ----------------------------------------------------
  TrainConfig config = requested;
  if (config.out.empty()) config.out = default_out_dir(config.optimizer);
  OptimizerHyper hyper =
      resolve_hyper(config.optimizer, config.lr, config.weight_decay, config.momentum,
                    config.dampening, config.nesterov, config.betas, config.eps);
  // Record the resolved values, so config.json alone reruns the run.
  config.lr = hyper.lr;
  config.weight_decay = hyper.weight_decay;
  config.momentum = hyper.momentum;
  config.betas = hyper.betas;
  config.eps = hyper.eps;
  // Large batches: lr or weight decay scaled by k = batch / base batch (method.md claim 2).
  const auto scaled = schedule::scale_hyperparameters(
      schedule::scale_rule_from_string(config.scale_rule), hyper.lr, hyper.weight_decay,
      config.base_batch_size, config.batch_size);
  hyper.lr = scaled.lr;
  hyper.weight_decay = scaled.weight_decay;
  check_folder(config);
  const fs::path out(config.out);
  TrainConfig saved_form = config;
  saved_form.resume = false;
  auto saved_json = nlohmann::json::parse(config_to_json(saved_form));
  saved_json["derived"] = {{"scale_k", scaled.k}, {"lr", scaled.lr},
                           {"weight_decay", scaled.weight_decay}};
  const std::string config_json = saved_json.dump(2);

  // --- Threads, seed, data, model ---------------------------------------------------------
  configure_threads(static_cast<int>(config.threads));
  torch::manual_seed(config.seed);
  const data::DatasetPair data = data::load_dataset(dataset_spec(config));
  const auto& shape = data.train.images.sizes();  // [N, C, H, W]
  auto model = models::make_model(
      config.model, {shape[1], shape[2], shape[3], data.train.num_classes});

  // --- Optimizer: decay / no-decay groups are built in make_optimizer_for ------------------
  auto optimizer = make_optimizer_for(config.optimizer, hyper, *model, config.no_decay_bias_norm);
  std::vector<double> base_lr, base_wd;  // per group, before schedules
  for (size_t g = 0; g < optimizer->param_groups().size(); ++g) {
    base_lr.push_back(optimizer->group_hyper(g).lr);
    base_wd.push_back(optimizer->group_hyper(g).weight_decay);
  }

  // --- Schedules ----------------------------------------------------------------------------
  const double epochs = static_cast<double>(config.epochs);
  const auto lr_schedule = schedule::make_schedule(
      {config.lr_schedule, config.milestones, config.gamma, 0.0, config.warmup_epochs}, epochs);
  const auto wd_schedule = schedule::make_schedule(
      {config.wd_schedule, config.milestones, config.gamma, 0.0, 0.0}, epochs);
  auto apply_schedules = [&](double progress) {
    for (size_t g = 0; g < base_lr.size(); ++g) {
      optimizer->param_groups()[g].options().set_lr(base_lr[g] * lr_schedule->factor(progress));
      optimizer->set_group_weight_decay(g, base_wd[g] * wd_schedule->factor(progress));
    }
  };

  // --- Data loaders -------------------------------------------------------------------------
  data::LoaderOptions train_options;
  train_options.batch_size = config.batch_size;
  train_options.shuffle = true;
  train_options.mean = data.mean;
  train_options.std = data.std;
  train_options.seed = config.seed;
  train_options.workers = config.workers;
  if (config.augment.value_or(data.augment_by_default)) {
    train_options.crop_padding = 4;
    train_options.horizontal_flip = true;
  }
  data::BatchLoader train_loader(data.train, train_options);
  data::LoaderOptions test_options = train_options;
  test_options.batch_size = 500;
  test_options.shuffle = false;
  test_options.crop_padding = 0;
  test_options.horizontal_flip = false;
  data::BatchLoader test_loader(data.test, test_options);

  // --- The run folder (written only now that data, model and optimizer are good) ----------
  create_folder(config.out);
  write_file_atomically((out / "config.json").string(), config_json);

  // --- Resume ------------------------------------------------------------------------------
  const std::string checkpoint_path = (out / "checkpoint.pt").string();
  const std::string metrics_path = (out / "metrics.csv").string();
  CheckpointInfo state;  // position in the data, the epoch's running totals, finished epochs
  if (config.resume && fs::exists(checkpoint_path)) {
    state = load_checkpoint(checkpoint_path, *model, *optimizer);
  }
  state.config_json = config_json;
  write_file_atomically(metrics_path, metrics_csv(state.metrics));  // rows of finished epochs

  // --- Epochs --------------------------------------------------------------------------------
  Progress progress(Progress::mode_from(config.progress, stdout), config.epochs);
  const int64_t full_batches = train_loader.batches_per_epoch();
  const int64_t batches = config.limit_batches > 0 ? std::min(full_batches, config.limit_batches)
                                                   : full_batches;
  const bool skip_nonfinite = config.on_nonfinite == "skip";
  const auto params = model->parameters();
  StopSignals signals;
  auto stop_if_asked = [&] {
    if (StopSignals::received() == 0) return;
    save_checkpoint(checkpoint_path, *model, *optimizer, state);
    throw StopRequested(StopSignals::received(),
                        "stopped by signal " + std::to_string(StopSignals::received()) +
                            " after " + std::to_string(state.position.steps_done) +
                            " batches; checkpoint written; continue with: swd train --resume "
                            "--out " + config.out);
  };
  model->train();
  while (state.position.epoch < config.epochs) {
    const int64_t epoch = state.position.epoch;
    EpochTotals& totals = state.partial;
    progress.begin_epoch(epoch + 1, batches);
    train_loader.start_epoch(epoch, state.position.batches_done);
    auto clock = std::chrono::steady_clock::now();
    auto add_elapsed = [&] {  // training time, kept across interruptions
      const auto now = std::chrono::steady_clock::now();
      totals.seconds += std::chrono::duration<double>(now - clock).count();
      clock = now;
    };
    while (auto batch = train_loader.next()) {
      if (batch->index >= batches) break;
      apply_schedules(static_cast<double>(epoch) + static_cast<double>(batch->index) / batches);
      optimizer->zero_grad();
      auto logits = model->forward(batch->data);
      auto loss = torch::nn::functional::cross_entropy(logits, batch->target);
      loss.backward();
      const double loss_value = loss.item<double>();
      const double g = global_norm(gradients_of(params));
      if (std::isfinite(loss_value) && std::isfinite(g)) {
        optimizer->step();
        const int64_t b = batch->target.size(0);
        totals.loss_sum += loss_value * b;
        totals.wrong += logits.argmax(1).ne(batch->target).sum().item<int64_t>();
        totals.seen += b;
        totals.grad_norm_sum += g;
        totals.grad_norm_sq_sum += g * g;
        ++totals.steps;
      } else if (skip_nonfinite) {
        ++totals.skipped;  // the step is skipped: parameters and optimizer state unchanged
      } else {
        throw NonFiniteError("non-finite " + std::string(std::isfinite(loss_value) ? "gradient" : "loss") +
                             " at batch " + std::to_string(batch->index + 1) + " of epoch " +
                             std::to_string(epoch + 1) + " (training batch " +
                             std::to_string(state.position.steps_done + 1) +
                             "); the last good checkpoint is " + checkpoint_path +
                             " (--on-nonfinite skip skips such steps)");
      }
      ++state.position.batches_done;
      ++state.position.steps_done;
      progress.batch(state.position.batches_done, totals.seen,
                     totals.loss_sum / std::max<int64_t>(totals.seen, 1));
      add_elapsed();
      if (config.checkpoint_every > 0 && state.position.steps_done % config.checkpoint_every == 0) {
        save_checkpoint(checkpoint_path, *model, *optimizer, state);
      }
      stop_if_asked();
    }
    const Evaluation test = evaluate(*model, test_loader);
    add_elapsed();

    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = optimizer->group_hyper(0).lr;
    m.weight_decay = optimizer->group_hyper(0).weight_decay;
    m.train_loss = totals.loss_sum / std::max<int64_t>(totals.seen, 1);
    m.train_error = static_cast<double>(totals.wrong) / std::max<int64_t>(totals.seen, 1);
    m.test_loss = test.loss;
    m.test_error = test.error;
    m.grad_norm = totals.grad_norm_sum / std::max<int64_t>(totals.steps, 1);
    m.grad_norm_sq = totals.grad_norm_sq_sum / std::max<int64_t>(totals.steps, 1);
    m.weight_norm = global_norm(params);
    if (optimizer->vbar().defined()) m.sqrt_vbar = std::sqrt(optimizer->vbar().item<double>());
    m.decay_per_step = optimizer->decay_per_step(0);
    m.seconds = totals.seconds;
    if (totals.skipped > 0) {
      progress.message("epoch " + std::to_string(epoch + 1) + ": skipped " +
                       std::to_string(totals.skipped) + " steps with a non-finite loss or gradient");
    }

    // The next epoch's start is checkpointed first, then the metrics row appended: after a
    // crash between the two, resuming rewrites metrics.csv from the checkpoint, so no row is
    // lost or doubled.
    state.metrics.push_back(m);
    state.position.epoch = epoch + 1;
    state.position.batches_done = 0;
    state.partial = EpochTotals{};
    save_checkpoint(checkpoint_path, *model, *optimizer, state);
    append_line_durably(metrics_path, metrics_csv_row(m));
    progress.end_epoch(m);
    stop_if_asked();
  }

  RunSummary summary;
  summary.out_dir = config.out;
  summary.epochs = state.metrics;
  for (const auto& m : summary.epochs) {
    if (summary.best_epoch == 0 || m.test_error < summary.best_test_error) {
      summary.best_test_error = m.test_error;
      summary.best_epoch = m.epoch;
    }
  }
  if (!summary.epochs.empty()) summary.final_test_error = summary.epochs.back().test_error;
  return summary;
}

}  // namespace train
}  // namespace swd
