#pragma once
// What a run shows while it trains: on a terminal a progress bar with ETA, throughput and
// running loss; otherwise one plain line per epoch.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "swd/train/metrics.h"

namespace swd {
namespace train {

class Progress {
 public:
  enum class Mode { Bar, Line, None };
  /// "auto" picks Bar when `stream` is a terminal, else Line.
  static Mode mode_from(const std::string& name, std::FILE* stream);

  Progress(Mode mode, int64_t epochs, std::FILE* stream = stdout);
  void begin_epoch(int64_t epoch, int64_t batches);
  /// After each training batch: samples seen this epoch and the running mean loss.
  void batch(int64_t done_batches, int64_t samples, double running_loss);
  void end_epoch(const EpochMetrics& metrics);
  /// A message on its own line (clears the bar first).
  void message(const std::string& text);

 private:
  Mode mode_;
  int64_t epochs_;
  std::FILE* stream_;
  int64_t epoch_ = 0;
  int64_t batches_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool bar_drawn_ = false;
};

}  // namespace train
}  // namespace swd
