// Setting a run up (run_setup.h), top to bottom: configuration and folder, data and model,
// optimizer and schedules, loaders, the folder's files and the resumed state.
#include "run_setup.h"

#include <torch/utils.h>

#include <ctime>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>

#include "swd/errors.h"
#include "swd/parallel/data_parallel.h"
#include "swd/provenance.h"
#include "swd/runtime.h"
#include "swd/schedule/schedule.h"
#include "swd/train/device.h"
#include "swd/train/trainer.h"
#include "swd/util/io.h"
#include "resume_check.h"

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
  // The files a run appends to without replacing them first (train.log): a link planted
  // there is refused now, before anything is written.
  util::check_writable_in_place((out / "train.log").string());
  std::error_code error;
  const bool has_checkpoint = fs::exists(out / "checkpoint.pt", error);
  if (config.resume) {
    if (!fs::exists(out / "config.json")) {
      throw std::runtime_error("cannot resume: no run in " + config.out + " (no config.json)");
    }
    if (has_checkpoint || !fs::exists(out / "metrics.csv", error)) return;
    // Finished epochs without the checkpoint that continues them: training again from epoch
    // 1 would replace them. Blocked, as a sweep reports such a folder (sweep/runs.cpp).
    size_t epochs = 0;
    try {
      epochs = run::read_metrics_csv((out / "metrics.csv").string()).size();
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot resume " + config.out + ": blocked: there is no "
                               "checkpoint.pt and its metrics.csv cannot be read (" +
                               message_of(e) + "); move the folder away to start again");
    }
    if (epochs > 0) {
      throw std::runtime_error("cannot resume " + config.out + ": blocked: metrics.csv holds " +
                               std::to_string(epochs) + " finished epochs but checkpoint.pt, "
                               "which continues them, is missing; move the folder away to "
                               "start again");
    }
    return;
  }
  const bool has_results =
      has_checkpoint ||
      (fs::exists(out / "metrics.csv") && !run::read_metrics_csv((out / "metrics.csv").string()).empty());
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
  const auto saved = nlohmann::json::parse(util::read_file((out / "config.json").string()), nullptr, false);
  return saved.is_object() && saved.contains("provenance") ? saved["provenance"].dump() : "";
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json groups_json(const std::vector<GroupHyper>& groups) {
  auto list = nlohmann::json::array();
  for (const auto& g : groups) {
    list.push_back({{"role", g.role}, {"lr", g.lr}, {"weight_decay", g.weight_decay},
                    {"lr_from", g.lr_from}, {"weight_decay_from", g.weight_decay_from}});
  }
  return list;
}

void take_derivation(const nlohmann::json& earlier, RunHyper& hyper, bool& over_lr);

/// A resumed run's config.json holds the values its start resolved, so resolving them again
/// calls them "given": the start's record of what was given and how each value was derived
/// is kept (the values themselves are the same by construction).
void keep_earlier_derivation(const fs::path& out, RunHyper& hyper, bool& over_lr) {
  std::error_code error;
  if (!fs::is_regular_file(out / "config.json", error)) return;
  const auto saved = nlohmann::json::parse(util::read_file((out / "config.json").string()), nullptr, false);
  if (!saved.is_object() || !saved.contains("derived") || !saved["derived"].is_object()) return;
  RunHyper kept = hyper;
  bool kept_over_lr = over_lr;
  try {
    take_derivation(saved["derived"], kept, kept_over_lr);
  } catch (const nlohmann::json::exception&) {  // an edited record: this start's own stands
    return;
  }
  hyper = kept;
  over_lr = kept_over_lr;
}

void take_derivation(const nlohmann::json& earlier, RunHyper& hyper, bool& over_lr) {
  const auto number = [](const nlohmann::json& v) {
    return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
  };
  if (earlier.contains("given") && earlier["given"].is_object()) {
    const auto& given = earlier["given"];
    hyper.given_lr = number(given.value("lr", nlohmann::json()));
    hyper.given_weight_decay = number(given.value("weight_decay", nlohmann::json()));
    over_lr = given.value("weight_decay_over_lr", false);
  }
  const auto groups = earlier.value("groups", nlohmann::json::array());
  if (!groups.is_array() || groups.size() != hyper.groups.size()) return;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!groups[g].is_object() || groups[g].value("role", "") != hyper.groups[g].role) return;
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    hyper.groups[g].lr_from = groups[g].value("lr_from", hyper.groups[g].lr_from);
    hyper.groups[g].weight_decay_from = groups[g].value("weight_decay_from", hyper.groups[g].weight_decay_from);
  }
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

}  // namespace

parallel::GroupOptions group_options(const TrainConfig& config) {
  parallel::GroupOptions o;
  o.rank = config.rank;
  o.world_size = config.world_size;
  o.master_addr = config.master_addr;
  o.master_port = config.master_port;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000.0));
  o.store_served_elsewhere = config.store_served_elsewhere;  // torchrun's agent store
  o.store_prefix = config.store_prefix;
  return o;
}

void Schedules::apply(optim::OptimizerBase& optimizer, double progress) const {
  for (size_t g = 0; g < groups.size(); ++g) {
    optimizer.set_group_lr(g, groups[g].lr * lr->factor(progress));
    optimizer.set_group_weight_decay(g, groups[g].weight_decay * wd->factor(progress));
  }
}

Run::Run(const TrainConfig& requested) {
  prepare_folder(requested);
  make_data_and_model();
  make_optimizer();
  make_loaders();
  write_folder_and_resume();
}

Run::Run(const TrainConfig& requested, PlanOnly) {
  prepare_folder(requested, true);
  make_data_and_model();
  make_optimizer();
}

void Run::prepare_folder(const TrainConfig& requested, bool plan_only) {
  config = requested;
  if (config.out.empty()) config.out = default_out_dir(config.optimizer);
  // Given milestones act within the run, whichever schedule takes them (schedule.h).
  schedule::check_milestones(config.milestones, static_cast<double>(config.epochs));
  // The run's lr and weight decay per group, resolved once: the given values, the defaults,
  // weight-decay-over-lr and the large-batch rule (resolve_hyper). config.json records the
  // values before the large-batch rule as lr and weight-decay (it alone reruns the run), and
  // under "derived" the given ones, each group's resolved ones and how they were derived.
  hyper = resolve_hyper(config);
  bool over_lr = config.weight_decay_over_lr;
  write_resolved(config, hyper);
  // [dist] the global batch splits into world-size x accumulate micro-batches; rank 0 alone
  // writes into the run folder.
  parallel::check_batch_split(config.batch_size, config.world_size, config.accumulate);
  writes_files = config.rank == 0 && !plan_only;
  if (writes_files) {
    lock.emplace(config.out);
    check_folder(config);
  }
  // The device, once: [dist] ranks of one machine take cuda:<rank> (device.h).
  device = resolve_device(config.device, config.local_rank >= 0 ? config.local_rank : config.rank);
  check_precision(config.precision, device);
  out = config.out;
  configure_threads(static_cast<int>(config.threads));  // before the provenance records them
  configure_allocator();
  if (config.resume) keep_earlier_derivation(out, hyper, over_lr);
  TrainConfig saved_form = config;
  saved_form.resume = false;
  auto saved_json = nlohmann::json::parse(config_to_json(saved_form));
  saved_json["derived"] = {{"scale_k", hyper.scale_k}, {"lr", hyper.optimizer.lr},
                           {"weight_decay", hyper.optimizer.weight_decay},
                           {"lr_from", hyper.groups[0].lr_from},
                           {"weight_decay_from", hyper.groups[0].weight_decay_from},
                           {"given", {{"lr", optional_json(hyper.given_lr)},
                                      {"weight_decay", optional_json(hyper.given_weight_decay)},
                                      {"weight_decay_over_lr", over_lr}}},
                           {"groups", groups_json(hyper.groups)},
                           {"world_size", config.world_size},  // [dist]
                           {"micro_batch", config.batch_size / (config.world_size * config.accumulate)},
                           {"device", device.str()}, {"device_name", device_name(device)}};
  saved_json["provenance"] = nlohmann::json::parse(append_provenance(
      config.resume ? earlier_provenance(out) : "", provenance_json(data_dir_read(config))));
  config_json = saved_json.dump(2);
  checkpoint_path = (out / "checkpoint.pt").string();
  metrics_path = (out / "metrics.csv").string();
  dynamics_path = (out / "dynamics.csv").string();
  resuming = config.resume && fs::exists(checkpoint_path) && !plan_only;
  // The checkpoint is the source of truth: its own copy of the settings must agree.
  if (writes_files && resuming) {
    check_resume_against_checkpoint(checkpoint_path, config_json, config.epochs);
  }
}

void Run::make_data_and_model() {
  // [dist] rendezvous (no-op for one process; a plan joins none)
  if (writes_files || config.rank != 0) group.emplace(group_options(config));
  torch::manual_seed(config.seed);
  data = allocating("the " + config.dataset + " dataset",
                    [&] { return data::load_dataset(dataset_spec(config)); });
  if (config.val_split > 0) {  // held out first: the subset below never takes a validation sample
    try {
      auto split = data::split_validation(data.train, config.val_split, config.val_seed);
      data.train = std::move(split.train);
      validation = std::move(split.validation);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--val-split: ") + e.what());
    }
  }
  full_train_size = data.train.images.size(0);
  if (config.train_subset > 0) {  // the same samples whatever the seed (subset-seed picks them)
    try {
      data.train = data::balanced_subset(data.train, config.train_subset, config.subset_seed);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--train-subset: ") + e.what());
    }
  }
  // What the loaders do to a pixel before the model sees it, for readers of model.pt
  // (docs/MODELS.md): x = (byte / 255 - mean[c]) / std[c], per channel.
  auto with_input = nlohmann::json::parse(config_json);
  with_input["derived"]["input"] = {{"mean", data.mean}, {"std", data.std},
                                    {"formula", "(byte / 255 - mean[c]) / std[c]"}};
  config_json = with_input.dump(2);
  const auto& shape = data.train.images.sizes();  // [N, C, H, W]
  model = allocating("the model " + config.model, [&] {
    return models::make_model(config.model, {shape[1], shape[2], shape[3], data.train.num_classes});
  });
  model->to(device);  // initialised on the CPU: the same weights on every device
  if (config.channels_last) use_channels_last(*model);  // before the optimizer sees the weights
}

void Run::make_optimizer() {
  // The parameter groups: with --no-decay-bias-norm [decay, no-decay] (biases and
  // normalisation layers get weight decay 0; optim::split_parameters_for_decay), else one.
  optimizer = make_run_optimizer(config.optimizer, hyper, *model, schedules.groups);
  const double epochs = static_cast<double>(config.epochs);
  schedules.lr = schedule::make_schedule(
      {config.lr_schedule, config.milestones, config.gamma, 0.0, config.warmup_epochs}, epochs);
  schedules.wd = schedule::make_schedule(
      {config.wd_schedule, config.milestones, config.gamma, 0.0, 0.0}, epochs);
  dynamics.emplace(*model, tracked_parameters(*model, model->scale_invariant_parameters()),
                   *optimizer, config.dynamics_every);
}

void Run::make_loaders() {
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
  train_loader.emplace(data.train, train_options);
  data::LoaderOptions test_options = train_options;
  // [dist] 500, rounded up to a multiple of the world size (each rank evaluates its slice)
  test_options.batch_size = (500 + config.world_size - 1) / config.world_size * config.world_size;
  test_options.shuffle = false;
  test_options.crop_padding = 0;
  test_options.horizontal_flip = false;
  test_loader.emplace(data.test, test_options);
  if (validation.size() > 0) val_loader.emplace(validation, test_options);  // --val-split
}

void Run::write_folder_and_resume() {
  // Written only now that data, model and optimizer are good.
  if (writes_files) {  // [dist] rank 0 only
    create_folder(config.out);
    util::write_file_atomically((out / "config.json").string(), config_json);
  }
  if (resuming) {
    state = run::load_checkpoint(checkpoint_path, *model, *optimizer);  // every rank reads it
  }
  state.config_json = config_json;
  if (!state.dynamics_state.empty()) {
    dynamics->restore(state.dynamics_state);  // budgets and partial sums continue bitwise
  } else if (resuming && state.position.steps_done > 0) {
    dynamics->forget_budget();  // a checkpoint from before the dynamics: the budget is unknown
  }
  parallel::broadcast_state(*group, *model);  // [dist] every rank starts from rank 0's model
  if (writes_files) {
    util::write_file_atomically(metrics_path, run::metrics_csv(state.metrics));  // rows of finished epochs
    util::write_file_atomically(dynamics_path, dynamics_csv_header() + "\n" + state.dynamics_csv);
  }
}

}  // namespace train
}  // namespace swd
