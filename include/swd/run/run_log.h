#pragma once
// The run folder's logs below the epoch: steps.jsonl (--log-every N: one JSON object per N-th
// optimizer step), TensorBoard's event files (--tensorboard) and train.log (a copy of the
// console's lines). Both continue across a
// resume: steps.jsonl first drops the lines of steps after the checkpoint (they are run
// again), so no step is missing or doubled; train.log is appended to.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "swd/run/metrics.h"

namespace swd {
namespace optim {
class OptimizerBase;
}  // namespace optim
namespace run {

/// One line of steps.jsonl.
struct StepRecord {
  int64_t step = 0;   ///< optimizer steps since the start of the run, 1-based
  int64_t epoch = 0;  ///< 1-based
  double lr = 0;      ///< group 0's, as applied at this step
  double weight_decay = 0;
  double loss = 0;       ///< the step's mean training loss
  double grad_norm = 0;  ///< ||grad L|| of the step (weight decay excluded)
  std::optional<double> sqrt_vbar;       ///< after the step, where the optimizer has one
  std::optional<double> decay_per_step;  ///< applied decay of the step (group 0)
  double images_per_s = 0;  ///< training throughput since the previous line (this process)
  double time = 0;          ///< wall-clock time, seconds since 1970 (UTC)
  /// The learning dynamics of the interval since the previous line, a JSON object
  /// (DynamicsMeter::end_interval_json); empty: none.
  std::string dynamics;
};

/// The numbers of a step just taken by `optimizer` (lr, weight decay, sqrt(vbar), decay of
/// group 0); images_per_s and time are filled in by StepLog::write.
StepRecord step_record(const optim::OptimizerBase& optimizer, int64_t step, int64_t epoch,
                       double loss, double grad_norm);

/// The JSON line of `r` (no newline); numbers in shortest round-trip form.
std::string step_json(const StepRecord& r);

class StepLog {
 public:
  /// every = 0: writes nothing. Otherwise opens `path` to append after keeping only the
  /// lines of steps <= steps_done (all of them unless resuming; a fresh run starts empty).
  /// Throws std::runtime_error naming the file when it cannot be read or written.
  StepLog(const std::string& path, int64_t every, int64_t steps_done, bool resume);
  ~StepLog();
  StepLog(const StepLog&) = delete;
  StepLog& operator=(const StepLog&) = delete;
  bool due(int64_t step) const { return file_ != nullptr && step % every_ == 0; }
  /// Counts the samples of a step, for images_per_s.
  void add_samples(int64_t n) { samples_ += n; }
  /// Appends the line (written through to the file, so a killed process loses none), with
  /// images_per_s and time filled in; returns it as one line of text for the console.
  std::string write(StepRecord r);

 private:
  std::FILE* file_ = nullptr;
  int64_t samples_ = 0;
  double last_ = 0;  ///< steady-clock seconds of the previous line (or the start)
  int64_t every_ = 0;
  std::string path_;
};

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `n` bytes: crc32c("123456789")
/// is 0xE3069283.
uint32_t crc32c(const void* data, std::size_t n);

/// TensorBoard's event file (--tensorboard): `events.out.tfevents.<seconds>.<host>.swd` in
/// the run folder, a new one per start (TensorBoard reads every file of a folder as one run).
/// Each record is TFRecord's: the length (uint64, little-endian), the masked CRC-32C of those
/// 8 bytes, the bytes, and their masked CRC-32C (mask: ((crc >> 15) | (crc << 17)) +
/// 0xa282ead8); each holds a tensorflow.Event protobuf: the first one file_version
/// "brain.Event:2", the others a Summary of scalars (simple_value, float) at a step.
class EventFile {
 public:
  /// Creates the file in `dir`. Throws std::runtime_error naming it when it cannot be written.
  explicit EventFile(const std::string& dir);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;
  /// One Event at `step` with the (tag, value) scalars, written through (fflush).
  void scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  const std::string& path() const { return path_; }

 private:
  void record(const std::string& event);
  std::FILE* file_ = nullptr;
  std::string path_;
};

/// The scalars of a --log-every step ("step/loss", "step/lr", ...) and of an epoch
/// ("epoch/test_error", ...; NaN and absent values left out), for EventFile::scalars.
std::vector<std::pair<std::string, double>> step_scalars(const StepRecord& r);
std::vector<std::pair<std::string, double>> epoch_scalars(const EpochMetrics& m);

/// train.log in `dir`, opened to append, its first line saying that a run starts or
/// resumes, when and with which swd (version_line). nullptr when standard output already
/// goes to that file (a sweep's run). Opened by util::open_for_append: a link, FIFO or
/// hard-linked file of that name is refused (std::runtime_error naming it). Close with
/// std::fclose.
std::FILE* open_train_log(const std::string& dir, bool resume);

}  // namespace run
}  // namespace swd
