#pragma once
// Everything a training run is made from. One table of keys drives the command-line flags,
// the config files (TOML or JSON) and the resolved config.json written into each run, so the
// three can never disagree.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "swd/config/config_error.h"
#include "swd/config/settings.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"

namespace swd {
namespace config {

struct TrainConfig {
  // data
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  int64_t synthetic_train = 2048;  ///< synthetic dataset only
  int64_t synthetic_test = 512;
  int64_t synthetic_size = 28;
  int64_t synthetic_channels = 1;
  int64_t synthetic_classes = 10;
  int64_t train_subset = 0;  ///< > 0: train on a class-balanced subset of this many samples
  uint64_t subset_seed = 0;  ///< which subset (independent of `seed`)
  /// > 0: hold this many training samples out, stratified by class, to choose the best epoch
  /// (best.pt, the report's best-epoch tables) on them instead of on the test set.
  int64_t val_split = 0;
  uint64_t val_seed = 0;  ///< which samples --val-split holds out (independent of `seed`)
  std::optional<bool> augment;  ///< unset: the dataset's default (on for CIFAR)
  int64_t workers = 2;          ///< data threads
  // model and optimizer
  std::string model = "mlp";
  std::string optimizer = "adams";
  std::optional<double> lr;            ///< unset: the optimizer's default
  std::optional<double> weight_decay;  ///< unset: the optimizer's default
  /// weight decay := weight-decay / lr (the paper's AdamW convention; resolve_hyper in
  /// optimizer_factory.h). Applied when the run is resolved: config.json records the divided
  /// weight-decay (and how it was derived), not this switch.
  bool weight_decay_over_lr = false;
  std::optional<double> momentum;
  double dampening = 0.0;
  bool nesterov = false;
  std::optional<std::tuple<double, double>> betas;
  std::optional<double> eps;
  bool no_decay_bias_norm = false;  ///< biases and norm layers get weight decay 0
  // schedule
  int64_t epochs = 3;
  int64_t batch_size = 128;
  /// Large-batch rule: none | lr | wd. lr or weight decay are the values for
  /// base_batch_size and are scaled by k = batch_size / base_batch_size (schedule/scaling.h).
  schedule::ScaleRule scale_rule = schedule::ScaleRule::None;
  int64_t base_batch_size = 128;
  schedule::ScheduleKind lr_schedule = schedule::ScheduleKind::Constant;
  std::vector<double> milestones;        ///< step: epochs; empty = 40% and 80% of the steps
  double gamma = 0.1;
  double warmup_epochs = 0;
  /// The weight decay's own multiplier schedule.
  schedule::ScheduleKind wd_schedule = schedule::ScheduleKind::Constant;
  // run
  uint64_t seed = 0;
  int64_t threads = 0;  ///< 0 = every core
  std::string out;      ///< empty = runs/<timestamp>-<optimizer>
  bool resume = false;
  int64_t limit_batches = 0;  ///< > 0: stop each epoch after this many batches (quick runs)
  int64_t limit_test_batches = 0;  ///< > 0: evaluate on this many test batches only
  int64_t log_every = 0;  ///< > 0: a steps.jsonl line every this many steps
  bool tensorboard = false;  ///< TensorBoard event files in the run folder (run_log.h)
  int64_t eval_every = 1;  ///< test pass every this many epochs, and after the last
  int64_t dynamics_every = 25;  ///< measure the dynamics every this many steps (dynamics.h)
  int64_t checkpoint_every = 0;  ///< > 0: also checkpoint every N training batches
  OnNonFinite on_nonfinite = OnNonFinite::Stop;  ///< a non-finite loss or gradient
  ProgressMode progress = ProgressMode::Auto;
  std::string device = "auto";  ///< auto | cpu | cuda | cuda:N (train/device.h)
  Precision precision = Precision::FP32;  ///< bf16: bf16 autocast in the forward pass
  bool channels_last = false;  ///< 4-D weights and image batches in channels-last layout
  // ---- data parallelism and gradient accumulation (docs/DISTRIBUTED.md) ----
  int64_t accumulate = 1;  ///< micro-batches per optimizer step; batch_size stays the global batch
  // Launch settings: how this process joins the run. Not written to config.json and not
  // inherited when resuming (they describe the launch, not the run's numbers).
  int64_t nproc = 1;       ///< > 1: start this many local worker processes
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 0;
  double dist_timeout = 60;  ///< seconds a rendezvous or collective may wait for another rank
  int64_t local_rank = -1;   ///< this process's rank on its machine (its GPU); -1: the rank
  // Set from torchrun's environment only (no keys): the agent serves the TCPStore and the
  // ranks' keys go under "/worker/attempt_<restart count>" (parallel/group.h).
  bool store_served_elsewhere = false;
  std::string store_prefix;
};

/// The keys accepted in config files and as --key flags, in a stable order.
std::vector<std::string> config_keys();
/// One line of help for `key`.
std::string config_help(const std::string& key);
/// Its value's type for --help: INT, NUMBER, TEXT, N1,N2,..., B1,B2, or "" for a flag.
std::string config_type(const std::string& key);
/// The default TrainConfig's value as text ("" when it depends on other settings or is empty).
std::string config_default(const std::string& key);
/// Whether `key` is a boolean flag (given without a value on the command line; --no-KEY
/// sets it false).
bool config_key_is_flag(const std::string& key);
/// Whether `key` is a launch setting (nproc, rank, world-size, master-addr, master-port,
/// dist-timeout): accepted like the others but not written to config.json.
bool config_key_is_launch(const std::string& key);

/// Sets `key` (dashes or underscores) from its text form. Throws ConfigError naming an
/// unknown key, or the key, the bad value and what was expected.
void set_config_value(TrainConfig& config, const std::string& key, const std::string& value);

/// The (key, value text) entries of a TOML (.toml) or JSON (.json) file, in file order, each
/// checked. Unknown keys and bad values are ConfigErrors naming the key.
std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path);
/// Applies read_config_file's entries.
void apply_config_file(TrainConfig& config, const std::string& path);

/// The configuration as JSON (every key; unset optionals as null), and back. The keys
/// "derived" (what the run computed from the configuration) and "provenance" (what ran it,
/// swd/provenance.h) are written by the trainer for the record and ignored when read.
std::string config_to_json(const TrainConfig& config);
TrainConfig config_from_json(const std::string& json);

}  // namespace config

// The training loop works in the configuration's words: train::TrainConfig, train::ConfigError
// and the rest name the same entities as config::.
namespace train {
using namespace config;
}  // namespace train
}  // namespace swd
