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
#include "swd/dist/data_parallel.h"
#include "swd/models/models.h"
#include "swd/runtime.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"
#include "swd/train/checkpoint.h"
#include "swd/train/files.h"
#include "swd/train/optimizer_factory.h"
#include "swd/train/progress.h"

namespace swd {
namespace train {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kResumeMayChange = {"epochs", "threads", "workers", "progress",
                                                   "limit-batches", "out", "resume",
                                                   "accumulate"};  // [dist] same global batch

std::string default_out_dir(const std::string& optimizer) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + std::string(stamp) + "-" + optimizer;
}

/// Creates the run folder, refusing to overwrite a run that is not being resumed.
void prepare_folder(const TrainConfig& config) {
  const fs::path out(config.out);
  const bool has_run = fs::exists(out / "config.json") || fs::exists(out / "checkpoint.pt") ||
                       fs::exists(out / "metrics.csv");
  if (config.resume && !fs::exists(out / "checkpoint.pt")) {
    throw std::runtime_error("cannot resume: no checkpoint.pt in " + config.out);
  }
  if (!config.resume && has_run) {
    throw std::runtime_error(config.out + " already holds a run; pass --resume to continue it "
                             "or choose another --out");
  }
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw std::runtime_error("cannot create " + config.out + ": " + error.message());
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

Evaluation evaluate(models::Classifier& model, data::BatchLoader& loader, dist::Group& group) {
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
  // [dist] each rank evaluated its shard of the test set: add the counts up
  const auto total = group.sum({loss_sum, static_cast<double>(wrong), static_cast<double>(seen)},
                               "evaluation counts");
  return {total[0] / std::max(total[2], 1.0), total[1] / std::max(total[2], 1.0)};
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
  // [dist] the global batch splits into world-size x accumulate micro-batches; rank 0 alone
  // writes into the run folder.
  dist::check_batch_split(config.batch_size, config.world_size, config.accumulate);
  const bool writes_files = config.rank == 0;
  if (writes_files) prepare_folder(config);
  const fs::path out(config.out);
  TrainConfig saved_form = config;
  saved_form.resume = false;
  auto saved_json = nlohmann::json::parse(config_to_json(saved_form));
  saved_json["derived"] = {{"scale_k", scaled.k}, {"lr", scaled.lr},
                           {"weight_decay", scaled.weight_decay},
                           {"world_size", config.world_size},  // [dist]
                           {"micro_batch", config.batch_size / (config.world_size * config.accumulate)}};
  const std::string config_json = saved_json.dump(2);

  // --- Threads, seed, data, model ---------------------------------------------------------
  configure_threads(static_cast<int>(config.threads));
  dist::Group group(dist::group_options(config));  // [dist] rendezvous (no-op for one process)
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
  train_options.batch_size = config.batch_size / config.accumulate;  // [dist] global micro-batch
  train_options.rank = config.rank;                                  // [dist] this rank's slices
  train_options.world_size = config.world_size;
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
  // [dist] 500, rounded up to a multiple of the world size (each rank evaluates its slice)
  test_options.batch_size = (500 + config.world_size - 1) / config.world_size * config.world_size;
  test_options.shuffle = false;
  test_options.crop_padding = 0;
  test_options.horizontal_flip = false;
  data::BatchLoader test_loader(data.test, test_options);

  // --- Resume ------------------------------------------------------------------------------
  const std::string checkpoint_path = (out / "checkpoint.pt").string();
  const std::string metrics_path = (out / "metrics.csv").string();
  CheckpointInfo done;
  if (config.resume) {
    done = load_checkpoint(checkpoint_path, *model, *optimizer);  // every rank reads it
  }
  dist::broadcast_state(group, *model);  // [dist] every rank starts from rank 0's model
  if (writes_files) {
    write_file_atomically((out / "config.json").string(), config_json);
    write_file_atomically(metrics_path, metrics_csv(done.metrics));  // rows of finished epochs
  }

  // --- Epochs --------------------------------------------------------------------------------
  Progress progress(writes_files ? Progress::mode_from(config.progress, stdout) : Progress::Mode::None,
                    config.epochs);
  dist::StepReader steps_of(train_loader, data.train.images.size(0), config.accumulate);  // [dist]
  dist::GradientReducer reducer(group, model->parameters());                             // [dist]
  const int64_t full_batches = steps_of.steps_per_epoch();
  const int64_t batches = config.limit_batches > 0 ? std::min(full_batches, config.limit_batches)
                                                   : full_batches;
  const auto params = model->parameters();
  model->train();
  for (int64_t epoch = done.epochs_done; epoch < config.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    progress.begin_epoch(epoch + 1, batches);
    train_loader.start_epoch(epoch);
    double loss_sum = 0, grad_norm_sum = 0, grad_norm_sq_sum = 0;
    int64_t wrong = 0, seen = 0, steps = 0, global_seen = 0;
    while (auto step = steps_of.next()) {  // [dist] one optimizer step = one global batch
      if (step->index >= batches) break;
      apply_schedules(static_cast<double>(epoch) + static_cast<double>(step->index) / batches);
      optimizer->zero_grad();
      for (const auto& batch : step->micro) {  // [dist] this rank's micro-batches of the step
        const int64_t b = batch.target.size(0);
        if (b == 0) continue;  // a short last batch leaves some ranks nothing
        auto logits = model->forward(batch.data);
        auto loss = torch::nn::functional::cross_entropy(logits, batch.target);
        const double share = step->share(batch);  // n_micro / n_global (data_parallel.h)
        (share == 1.0 ? loss : loss * share).backward();
        loss_sum += loss.item<double>() * b;
        wrong += logits.argmax(1).ne(batch.target).sum().item<int64_t>();
        seen += b;
      }
      reducer.reduce();  // [dist] sum over ranks: the gradient of the global batch's mean loss
      const double g = global_norm(gradients_of(params));
      optimizer->step();

      grad_norm_sum += g;
      grad_norm_sq_sum += g * g;
      ++steps;
      global_seen += step->global_samples;
      progress.batch(steps, global_seen, loss_sum / std::max<int64_t>(seen, 1));
    }
    {  // [dist] training counts over every rank; evaluate rank 0's model (its BatchNorm stats)
      const auto total = group.sum({loss_sum, static_cast<double>(wrong), static_cast<double>(seen)},
                                   "training counts");
      loss_sum = total[0], wrong = static_cast<int64_t>(total[1]), seen = static_cast<int64_t>(total[2]);
      dist::broadcast_buffers(group, *model);
    }
    const Evaluation test = evaluate(*model, test_loader, group);

    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = optimizer->group_hyper(0).lr;
    m.weight_decay = optimizer->group_hyper(0).weight_decay;
    m.train_loss = loss_sum / std::max<int64_t>(seen, 1);
    m.train_error = static_cast<double>(wrong) / std::max<int64_t>(seen, 1);
    m.test_loss = test.loss;
    m.test_error = test.error;
    m.grad_norm = grad_norm_sum / std::max<int64_t>(steps, 1);
    m.grad_norm_sq = grad_norm_sq_sum / std::max<int64_t>(steps, 1);
    m.weight_norm = global_norm(params);
    if (optimizer->vbar().defined()) m.sqrt_vbar = std::sqrt(optimizer->vbar().item<double>());
    m.decay_per_step = optimizer->decay_per_step(0);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // Checkpoint first, then the metrics row: after a crash between the two, resuming
    // rewrites metrics.csv from the checkpoint, so no row is lost or doubled.
    done.metrics.push_back(m);
    done.epochs_done = epoch + 1;
    done.config_json = config_json;
    if (writes_files) {  // [dist] rank 0 only
      save_checkpoint(checkpoint_path, *model, *optimizer, done);
      append_line_durably(metrics_path, metrics_csv_row(m));
    }
    progress.end_epoch(m);
  }

  RunSummary summary;
  summary.out_dir = config.out;
  summary.epochs = done.metrics;
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
