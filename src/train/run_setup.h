#pragma once
// Everything a run is made of before its first step, made in this order by Run's constructor
// (run_setup.cpp): the resolved configuration and the run folder, the device, the data and
// the model, the optimizer with its decay / no-decay groups and schedules, the loaders, and
// the state a resume continues from. trainer.cpp trains it.

#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swd/config/config.h"
#include "swd/data/dataset.h"
#include "swd/data/loader.h"
#include "swd/models/models.h"
#include "swd/optim/optimizer_base.h"
#include "swd/parallel/group.h"
#include "swd/run/checkpoint.h"
#include "swd/run/run_lock.h"
#include "swd/schedule/schedule.h"
#include "swd/train/dynamics.h"
#include "swd/train/optimizer_factory.h"

namespace swd {
namespace train {

/// The lr and weight-decay schedules, multiplying every parameter group's base values as
/// resolve_hyper resolved them (optimizer_factory.h).
struct Schedules {
  std::vector<GroupHyper> groups;  ///< per optimizer group: its role and base values
  std::shared_ptr<const schedule::Schedule> lr, wd;
  /// Each group's lr and weight decay at `progress` (epochs, fractional), both checked by the
  /// optimizer as its options are.
  void apply(optim::OptimizerBase& optimizer, double progress) const;
};

struct Run {
  /// Sets the run up; throws before writing anything into the run folder when the
  /// configuration, the data or the model is bad (trainer.h lists the errors).
  explicit Run(const TrainConfig& requested);
  /// Only what `swd plan` needs (swd/train/plan.h): the resolved settings, data, model,
  /// optimizer and schedules, checked as for training; no folder, lock, files, process group
  /// or loaders.
  struct PlanOnly {};
  Run(const TrainConfig& requested, PlanOnly);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // --- configuration and folder ---
  TrainConfig config;  ///< optimizer settings resolved (resolve_optimizer_settings)
  RunHyper hyper;      ///< lr and weight decay per group, resolved once (resolve_hyper)
  bool writes_files = false;  ///< [dist] rank 0 alone writes into the run folder
  std::optional<run::RunFolderLock> lock;  ///< one trainer per run folder, held until the end
  c10::Device device{c10::kCPU};
  std::filesystem::path out;
  std::string config_json;  ///< config.json's text: the settings, derived values, provenance
  std::string checkpoint_path, metrics_path;
  bool resuming = false;  ///< --resume and a checkpoint to resume from
  // --- data, model, optimizer ---
  std::optional<parallel::Group> group;  ///< [dist] the ranks (one process: no-op)
  data::DatasetPair data;
  std::shared_ptr<models::Classifier> model;
  std::unique_ptr<optim::OptimizerBase> optimizer;
  Schedules schedules;
  std::optional<DynamicsMeter> dynamics;  ///< the tracked weights' learning dynamics
  std::string dynamics_path;              ///< dynamics.csv
  data::Dataset validation;  ///< --val-split's samples, held out of data.train (else empty)
  std::optional<data::BatchLoader> train_loader, test_loader;
  std::optional<data::BatchLoader> val_loader;  ///< with --val-split
  int64_t full_train_size = 0;  ///< training samples before --train-subset
  // --- where training continues ---
  run::CheckpointInfo state;  ///< position in the data, the epoch's running totals, finished epochs

 private:
  void prepare_folder(const TrainConfig& requested, bool plan_only = false);
  void make_data_and_model();
  void make_optimizer();
  void make_loaders();
  void write_folder_and_resume();
};

/// The line a run prints before its first epoch (plan.cpp): model and parameter count, data
/// and subset sizes, optimizer, each group's lr and weight decay and how they were derived,
/// schedules, steps, device and threads, and the tracked weights' decay budget where it is
/// exact (Adam with L2 or stable decay: "see swd plan", whose probe measures it).
std::string run_banner(const Run& run);

/// The process group a training configuration asks for (rank, world-size, master-addr,
/// master-port, dist-timeout).
parallel::GroupOptions group_options(const TrainConfig& config);

}  // namespace train
}  // namespace swd
