#pragma once
// The run folder's logs below the epoch: steps.jsonl (--log-every N: one JSON object per N-th
// optimizer step) and train.log (a copy of the console's lines). Both continue across a
// resume: steps.jsonl first drops the lines of steps after the checkpoint (they are run
// again), so no step is missing or doubled; train.log is appended to.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace swd {
namespace optim {
class OptimizerBase;
}  // namespace optim
namespace train {

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

/// train.log in `dir`, opened to append, its first line saying that a run starts or
/// resumes, when and with which swd (version_line). nullptr when standard output already
/// goes to that file (a sweep's run). Opened by util::open_for_append: a link, FIFO or
/// hard-linked file of that name is refused (std::runtime_error naming it). Close with
/// std::fclose.
std::FILE* open_train_log(const std::string& dir, bool resume);

}  // namespace train
}  // namespace swd
