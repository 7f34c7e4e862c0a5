#pragma once
// What a run shows while it trains: on a terminal a progress bar with the epoch's and the
// run's ETA, throughput and running loss, then "evaluating" during the test pass; otherwise
// one plain line per epoch (and per --log-every step). Throughput and ETA count only the
// batches this process ran (not those done before a resume). Every line that is not a bar
// redraw is also written to the log (train.log) when there is one.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "swd/config/settings.h"
#include "swd/run/metrics.h"

namespace swd {
namespace train {

class Progress {
 public:
  /// How it shows: Bar, Line or None (never Auto: see resolve).
  using Mode = ProgressMode;
  /// `mode`, with Auto resolved: Bar when `stream` is a terminal, else Line.
  static Mode resolve(ProgressMode mode, std::FILE* stream);

  /// `log`: where lines are copied (nullptr: nowhere); not owned. Auto is resolved for `stream`.
  Progress(Mode mode, int64_t epochs, std::FILE* stream = stdout, std::FILE* log = nullptr);
  /// An epoch of `batches` steps starts (1-based `epoch`), `done_before` of them already run
  /// before this process started (a resume).
  void begin_epoch(int64_t epoch, int64_t batches, int64_t done_before = 0);
  /// After a training step whose numbers were read back (every step, or only when a redraw
  /// is due: see redraw_due): steps done this epoch (resumed ones included), the samples this
  /// process trained on this epoch and the epoch's running mean loss.
  void batch(int64_t done_batches, int64_t samples, double running_loss);
  /// Whether batch() would redraw the bar after step `done_batches`: in Bar mode, 100 ms
  /// after the last redraw and at the epoch's last step; never in the other modes.
  bool redraw_due(int64_t done_batches) const;
  /// The test pass starts (the bar says so until end_epoch).
  void begin_evaluation();
  void end_epoch(const run::EpochMetrics& metrics);
  /// A message on its own line (clears the bar first), copied to the log.
  void message(const std::string& text);
  /// A --log-every step's line: the log, and the console in Line and Bar modes (above the
  /// bar, which the next redraw draws again).
  void step_line(const std::string& text);
  /// Ends a bar being drawn with a newline, so that what is printed next (a signal's or an
  /// error's message) starts on a line of its own.
  void end_line();
  /// Seconds the run still needs by the current estimate (0 when unknown).
  double run_eta() const;
  /// A line for the log only.
  void to_log(const std::string& line);

 private:
  void draw(const std::string& status);
  Mode mode_;
  int64_t epochs_;
  std::FILE* stream_;
  std::FILE* log_;
  int64_t epoch_ = 0;
  int64_t batches_ = 0;
  int64_t done_before_ = 0;
  int64_t done_ = 0;
  double seconds_per_batch_ = 0;  ///< measured in this process, 0 until known
  double eval_seconds_ = 0;       ///< the last test pass
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point eval_start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool bar_drawn_ = false;
};

/// "12s", "3m05s", "2h07m".
std::string format_duration(double seconds);

}  // namespace train
}  // namespace swd
