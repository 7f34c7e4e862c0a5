// The training loop, top to bottom: folder, data, model, optimizer, schedules, epochs.
#include "swd/train/trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/module.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>
#include <new>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "swd/data/dataset.h"
#include "swd/data/loader.h"
#include "swd/parallel/data_parallel.h"
#include "swd/provenance.h"
#include "swd/models/models.h"
#include "swd/runtime.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"
#include "swd/train/checkpoint.h"
#include "swd/train/device.h"
#include "swd/train/files.h"
#include "swd/train/optimizer_factory.h"
#include "swd/train/progress.h"
#include "swd/train/run_log.h"
#include "swd/train/weights.h"
#include "resume_check.h"
#include "run_lock.h"
#include "stop_signals.h"

namespace swd {
namespace train {

namespace fs = std::filesystem;

namespace {

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

/// The folder the data is read from ("" for synthetic data).
std::string data_dir_read(const TrainConfig& c) {
  if (c.data_dir.empty() && c.dataset == "fashion-mnist") return data::kDefaultFashionMnistDir;
  return c.dataset == "synthetic" ? "" : c.data_dir;
}

/// The provenance list of the run being resumed ("" when there is none).
std::string earlier_provenance(const fs::path& out) {
  const auto saved = nlohmann::json::parse(read_file((out / "config.json").string()), nullptr, false);
  return saved.is_object() && saved.contains("provenance") ? saved["provenance"].dump() : "";
}

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

/// sqrt(sum over tensors of ||t||^2): the L2 norm over every gradient (the loss's only:
/// weight decay never enters .grad), or over the weights.
double global_norm(const std::vector<torch::Tensor>& tensors, const c10::Device& device) {
  return std::sqrt(global_norm_sq(tensors, device).item<double>());
}


std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) grads.push_back(p.grad());
  return grads;
}

/// make(), with an allocation failure turned into one line naming `what` was being made.
template <typename F>
auto allocating(const std::string& what, F&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("out of memory while making " + what);
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    if (message.find("alloc") == std::string::npos) throw;
    throw std::runtime_error("out of memory while making " + what + " (" +
                             message.substr(0, message.find('\n')) + ")");
  }
}

struct Evaluation {
  double loss = 0;
  double error = 0;
};

/// Test loss and error over the test set, or its first `limit` batches (limit > 0).
Evaluation evaluate(models::Classifier& model, data::BatchLoader& loader, parallel::Group& group,
                    const c10::Device& device, const std::string& precision, int64_t limit) {
  torch::NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0);
  // Summed on the device, read back once at the end.
  auto loss_total = torch::zeros({}, torch::dtype(torch::kDouble).device(device));
  auto wrong_total = torch::zeros({}, torch::dtype(torch::kLong).device(device));
  int64_t seen = 0, batches = 0;
  while (auto next = loader.next()) {
    if (limit > 0 && batches++ >= limit) break;  // --limit-test-batches
    const auto batch = to_device(*next, device);
    auto logits = forward_with(model, batch.data, device, precision);
    loss_total.add_(torch::nn::functional::cross_entropy(
                        logits, batch.target,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .to(torch::kDouble));
    wrong_total.add_(logits.argmax(1).ne(batch.target).sum());
    seen += batch.target.size(0);
  }
  model.train();
  const auto host = read_back({loss_total, wrong_total});
  const double loss_sum = host[0];
  const int64_t wrong = static_cast<int64_t>(host[1]);
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

parallel::GroupOptions group_options(const TrainConfig& config) {
  parallel::GroupOptions o;
  o.rank = config.rank;
  o.world_size = config.world_size;
  o.master_addr = config.master_addr;
  o.master_port = config.master_port;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000.0));
  return o;
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
  // Large batches: lr or weight decay scaled by k = batch / base batch (the paper,
  // arXiv 2011.11152; docs/REPRODUCTION.md, claim 2).
  const auto scaled = schedule::scale_hyperparameters(
      schedule::scale_rule_from_string(config.scale_rule), hyper.lr, hyper.weight_decay,
      config.base_batch_size, config.batch_size);
  hyper.lr = scaled.lr;
  hyper.weight_decay = scaled.weight_decay;
  // [dist] the global batch splits into world-size x accumulate micro-batches; rank 0 alone
  // writes into the run folder.
  parallel::check_batch_split(config.batch_size, config.world_size, config.accumulate);
  const bool writes_files = config.rank == 0;
  std::optional<RunFolderLock> lock;  // one trainer per run folder, held until the end
  if (writes_files) {
    lock.emplace(config.out);
    check_folder(config);
  }
  // The device, once: [dist] ranks of one machine take cuda:<rank> (device.h).
  const c10::Device device = resolve_device(config.device, config.rank);
  check_precision(config.precision, device);
  const fs::path out(config.out);
  configure_threads(static_cast<int>(config.threads));  // before the provenance records them
  configure_allocator();
  TrainConfig saved_form = config;
  saved_form.resume = false;
  auto saved_json = nlohmann::json::parse(config_to_json(saved_form));
  saved_json["derived"] = {{"scale_k", scaled.k}, {"lr", scaled.lr},
                           {"weight_decay", scaled.weight_decay},
                           {"world_size", config.world_size},  // [dist]
                           {"micro_batch", config.batch_size / (config.world_size * config.accumulate)},
                           {"device", device.str()}, {"device_name", device_name(device)}};
  saved_json["provenance"] = nlohmann::json::parse(append_provenance(
      config.resume ? earlier_provenance(out) : "", provenance_json(data_dir_read(config))));
  const std::string config_json = saved_json.dump(2);
  const std::string checkpoint_path = (out / "checkpoint.pt").string();
  const std::string metrics_path = (out / "metrics.csv").string();
  const bool resuming = config.resume && fs::exists(checkpoint_path);
  // The checkpoint is the source of truth: its own copy of the settings must agree.
  if (writes_files && resuming) {
    check_resume_against_checkpoint(checkpoint_path, config_json, config.epochs);
  }

  // --- Seed, data, model -------------------------------------------------------------------
  parallel::Group group(group_options(config));  // [dist] rendezvous (no-op for one process)
  torch::manual_seed(config.seed);
  data::DatasetPair data = allocating("the " + config.dataset + " dataset",
                                      [&] { return data::load_dataset(dataset_spec(config)); });
  if (config.train_subset > 0) {  // the same samples whatever the seed (subset-seed picks them)
    try {
      data.train = data::balanced_subset(data.train, config.train_subset, config.subset_seed);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--train-subset: ") + e.what());
    }
  }
  const auto& shape = data.train.images.sizes();  // [N, C, H, W]
  auto model = allocating("the model " + config.model, [&] {
    return models::make_model(config.model, {shape[1], shape[2], shape[3], data.train.num_classes});
  });
  model->to(device);  // initialised on the CPU: the same weights on every device
  if (config.channels_last) use_channels_last(*model);  // before the optimizer sees the weights

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
  pin_batches_for(device, train_options);  // CUDA: pinned batches, copied without blocking
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

  // --- The run folder (written only now that data, model and optimizer are good) ----------
  if (writes_files) {  // [dist] rank 0 only
    create_folder(config.out);
    write_file_atomically((out / "config.json").string(), config_json);
  }

  // --- Resume ------------------------------------------------------------------------------
  CheckpointInfo state;  // position in the data, the epoch's running totals, finished epochs
  if (resuming) {
    state = load_checkpoint(checkpoint_path, *model, *optimizer);  // every rank reads it
  }
  state.config_json = config_json;
  parallel::broadcast_state(group, *model);  // [dist] every rank starts from rank 0's model
  if (writes_files) {
    write_file_atomically(metrics_path, metrics_csv(state.metrics));  // rows of finished epochs
  }

  // --- Epochs --------------------------------------------------------------------------------
  // [dist] rank 0 writes the logs
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> train_log(
      writes_files ? open_train_log(config.out, config.resume) : nullptr, &std::fclose);
  StepLog step_log((out / "steps.jsonl").string(), writes_files ? config.log_every : 0,
                   state.position.steps_done, config.resume);
  Progress progress(writes_files ? Progress::mode_from(config.progress, stdout) : Progress::Mode::None,
                    config.epochs, stdout, train_log.get());
  parallel::StepReader steps_of(train_loader, data.train.images.size(0), config.accumulate);  // [dist]
  parallel::GradientReducer reducer(group, model->parameters());                             // [dist]
  const int64_t full_batches = steps_of.steps_per_epoch();
  const int64_t batches = config.limit_batches > 0 ? std::min(full_batches, config.limit_batches)
                                                   : full_batches;
  const bool skip_nonfinite = config.on_nonfinite == "skip";
  const auto params = model->parameters();
  StopSignals signals;
  // The last step's sqrt(vbar) and decay per step, kept in the totals so that a checkpoint
  // carries them to a resumed process that may take no step before the epoch's row.
  auto note_last_step = [&] {
    EpochTotals& totals = state.partial;
    if (optimizer->vbar().defined()) totals.sqrt_vbar = std::sqrt(optimizer->vbar().item<double>());
    if (const auto d = optimizer->decay_per_step(0)) totals.decay_per_step = d;
  };
  // All ranks stop at the same step (`asked` is agreed over the group); rank 0 checkpoints.
  auto stop_if_asked = [&](bool asked) {
    if (!asked) return;
    note_last_step();
    if (writes_files) save_checkpoint(checkpoint_path, *model, *optimizer, state);
    const int signal = StopSignals::received() != 0 ? StopSignals::received() : SIGTERM;
    const std::string why = "stopped by signal " + std::to_string(signal) + " after " +
                            std::to_string(state.position.steps_done) +
                            " batches; checkpoint written; continue with: swd train --resume "
                            "--out " + config.out;
    progress.end_line();  // the message (train_command prints it) starts a line of its own
    progress.to_log("swd: " + why);
    throw StopRequested(signal, why);
  };
  model->train();
  while (state.position.epoch < config.epochs) {
    const int64_t epoch = state.position.epoch;
    EpochTotals& totals = state.partial;
    progress.begin_epoch(epoch + 1, batches, state.position.batches_done);
    const int64_t seen_before = totals.seen;  // by an interrupted process
    // The loader's batches are micro-batches: a step is `accumulate` of them.
    train_loader.start_epoch(epoch, state.position.batches_done * config.accumulate);
    auto clock = std::chrono::steady_clock::now();
    auto add_elapsed = [&] {  // training time, kept across interruptions
      const auto now = std::chrono::steady_clock::now();
      totals.seconds += std::chrono::duration<double>(now - clock).count();
      clock = now;
    };
    while (auto step = steps_of.next()) {  // [dist] one optimizer step = one global batch
      if (step->index >= batches) break;
      apply_schedules(static_cast<double>(epoch) + static_cast<double>(step->index) / batches);
      optimizer->zero_grad();
      // This rank's sums over its micro-batches, kept on the device and read back once per
      // step, with the gradient norm (the non-finite rule needs them before the step).
      auto loss_total = torch::zeros({}, torch::dtype(torch::kDouble).device(device));
      auto wrong_total = torch::zeros({}, torch::dtype(torch::kLong).device(device));
      int64_t seen = 0;
      for (const auto& micro : step->micro) {  // [dist] this rank's micro-batches of the step
        const int64_t b = micro.target.size(0);
        if (b == 0) continue;  // a short last batch leaves some ranks nothing
        const auto batch = to_device(micro, device);
        auto logits = forward_with(*model, batch.data, device, config.precision);
        auto loss = torch::nn::functional::cross_entropy(logits, batch.target);
        const double share = step->share(micro);  // n_micro / n_global (data_parallel.h)
        (share == 1.0 ? loss : loss * share).backward();
        loss_total.add_(loss.detach().to(torch::kDouble).mul(static_cast<double>(b)));
        wrong_total.add_(logits.argmax(1).ne(batch.target).sum());
        seen += b;
      }
      reducer.reduce();  // [dist] sum over ranks: the gradient of the global batch's mean loss
      const auto host = read_back({loss_total, wrong_total, global_norm_sq(gradients_of(params), device)});
      const double loss_sum = host[0];
      const int64_t wrong = static_cast<int64_t>(host[1]);
      const double g = std::sqrt(host[2]);
      // Every rank agrees on the step's totals, on a non-finite loss anywhere and on a stop
      // signal anywhere (one small sum; nothing to send with one process).
      const auto agreed = group.sum({loss_sum, static_cast<double>(wrong), static_cast<double>(seen),
                                     std::isfinite(loss_sum) ? 0.0 : 1.0,
                                     StopSignals::received() != 0 ? 1.0 : 0.0},
                                    "step totals");
      const bool finite_loss = agreed[3] == 0;
      if (finite_loss && std::isfinite(g)) {
        optimizer->step();
        totals.loss_sum += agreed[0];
        totals.wrong += static_cast<int64_t>(agreed[1]);
        totals.seen += static_cast<int64_t>(agreed[2]);
        totals.grad_norm_sum += g;
        totals.grad_norm_sq_sum += g * g;
        ++totals.steps;
      } else if (skip_nonfinite) {
        ++totals.skipped;  // the step is skipped: parameters and optimizer state unchanged
      } else {
        const std::string why =
            "non-finite " + std::string(finite_loss ? "gradient" : "loss") + " at batch " +
            std::to_string(step->index + 1) + " of epoch " + std::to_string(epoch + 1) +
            " (training batch " + std::to_string(state.position.steps_done + 1) + "); " +
            (fs::exists(checkpoint_path) ? "the last good checkpoint is " + checkpoint_path
                                         : std::string("no checkpoint was written yet")) +
            " (--on-nonfinite skip skips such steps)";
        progress.end_line();
        progress.to_log("swd: error: " + why);
        throw NonFiniteError(why);
      }
      ++state.position.batches_done;
      ++state.position.steps_done;
      progress.batch(state.position.batches_done, totals.seen - seen_before,
                     totals.loss_sum / std::max<int64_t>(totals.seen, 1));
      step_log.add_samples(static_cast<int64_t>(agreed[2]));
      if (step_log.due(state.position.steps_done)) {  // before the step's checkpoint
        progress.step_line(step_log.write(step_record(*optimizer, state.position.steps_done,
                                                      epoch + 1, agreed[0] / std::max(agreed[2], 1.0), g)));
      }
      add_elapsed();
      if (writes_files && config.checkpoint_every > 0 &&
          state.position.steps_done % config.checkpoint_every == 0) {
        note_last_step();
        save_checkpoint(checkpoint_path, *model, *optimizer, state);
        kill_after_checkpoint_if_asked(state.position.steps_done);
      }
      stop_if_asked(agreed[4] != 0);
    }
    parallel::broadcast_buffers(group, *model);  // [dist] evaluate rank 0's model (BatchNorm stats)
    progress.begin_evaluation();
    const Evaluation test = evaluate(*model, test_loader, group, device, config.precision,
                                     config.limit_test_batches);
    add_elapsed();

    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = optimizer->group_hyper(0).lr;
    m.weight_decay = optimizer->group_hyper(0).weight_decay;
    // Means over no samples or steps (every step skipped) are undefined: NaN, an empty cell.
    const double undefined = std::numeric_limits<double>::quiet_NaN();
    const double seen = static_cast<double>(totals.seen), steps = static_cast<double>(totals.steps);
    m.train_loss = totals.seen > 0 ? totals.loss_sum / seen : undefined;
    m.train_error = totals.seen > 0 ? static_cast<double>(totals.wrong) / seen : undefined;
    m.test_loss = test.loss;
    m.test_error = test.error;
    m.grad_norm = totals.steps > 0 ? totals.grad_norm_sum / steps : undefined;
    m.grad_norm_sq = totals.steps > 0 ? totals.grad_norm_sq_sum / steps : undefined;
    m.weight_norm = global_norm(params, device);
    note_last_step();
    m.sqrt_vbar = totals.sqrt_vbar;
    m.decay_per_step = totals.decay_per_step;
    m.seconds = totals.seconds;
    m.skipped_steps = totals.skipped;
    if (totals.skipped > 0) {
      progress.message("epoch " + std::to_string(epoch + 1) + ": skipped " +
                       std::to_string(totals.skipped) + " steps with a non-finite loss or gradient");
    }

    // The next epoch's start is checkpointed first, then the metrics row appended: after a
    // crash between the two, resuming rewrites metrics.csv from the checkpoint, so no row is
    // lost or doubled.
    bool best = true;  // the lowest test error so far (the first of equals)
    for (const auto& earlier : state.metrics) best = best && m.test_error < earlier.test_error;
    state.metrics.push_back(m);
    state.position.epoch = epoch + 1;
    state.position.batches_done = 0;
    state.partial = EpochTotals{};
    if (writes_files) {  // [dist] rank 0 only; the weights first: a crash redoes the epoch
      save_weights((out / "model.pt").string(), config.model, *model);
      if (best) save_weights((out / "best.pt").string(), config.model, *model);
      save_checkpoint(checkpoint_path, *model, *optimizer, state);
      append_line_durably(metrics_path, metrics_csv_row(m));
    }
    progress.end_epoch(m);
    stop_if_asked(group.sum({StopSignals::received() != 0 ? 1.0 : 0.0}, "stop signal")[0] != 0);
  }

  RunSummary summary;
  summary.out_dir = config.out;
  summary.epochs = state.metrics;
  for (const auto& m : summary.epochs) summary.skipped_steps += m.skipped_steps;
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
