#include "swd/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>


namespace swd {
namespace train {

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char text[32];
  if (s < 60) std::snprintf(text, sizeof text, "%llds", s);
  else if (s < 3600) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  return text;
}

Progress::Mode Progress::resolve(ProgressMode mode, std::FILE* stream) {
  if (mode != ProgressMode::Auto) return mode;
  return ::isatty(::fileno(stream)) ? Mode::Bar : Mode::Line;
}

Progress::Progress(Mode mode, int64_t epochs, std::FILE* stream, std::FILE* log)
    : mode_(resolve(mode, stream)), epochs_(epochs), stream_(stream), log_(log) {}

void Progress::begin_epoch(int64_t epoch, int64_t batches, int64_t done_before) {
  epoch_ = epoch;
  batches_ = batches;
  done_before_ = done_ = done_before;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

double Progress::run_eta() const {
  if (seconds_per_batch_ <= 0) return 0;
  const double later_epochs = static_cast<double>(epochs_ - epoch_);
  return seconds_per_batch_ * static_cast<double>(batches_ - done_) + eval_seconds_ +
         later_epochs * (seconds_per_batch_ * static_cast<double>(batches_) + eval_seconds_);
}

void Progress::batch(int64_t done, int64_t samples, double running_loss) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t ran = done - done_before_;  // in this process
  if (ran > 0 && elapsed > 0) seconds_per_batch_ = elapsed / static_cast<double>(ran);
  if (!redraw_due(done)) return;
  last_draw_ = now;
  char status[160];
  std::snprintf(status, sizeof status, "loss %.4f  %.0f img/s  ETA %s (run %s)", running_loss,
                elapsed > 0 ? samples / elapsed : 0.0,
                format_duration(seconds_per_batch_ * static_cast<double>(batches_ - done)).c_str(),
                format_duration(run_eta()).c_str());
  draw(status);
}

bool Progress::redraw_due(int64_t done) const {
  return mode_ == Mode::Bar &&
         (done >= batches_ || std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(100));
}

void Progress::draw(const std::string& status) {
  constexpr int kWidth = 30;
  const int filled = batches_ > 0 ? static_cast<int>(kWidth * done_ / batches_) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stream_, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  %s",
               static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
               static_cast<long long>(done_), static_cast<long long>(batches_), status.c_str());
  std::fflush(stream_);
  bar_drawn_ = true;
}

void Progress::begin_evaluation() {
  eval_start_ = std::chrono::steady_clock::now();
  if (mode_ == Mode::Bar) draw("evaluating on the test set...");
}

void Progress::end_epoch(const run::EpochMetrics& m) {
  eval_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start_).count();
  char line[256];
  std::snprintf(line, sizeof line,
                "epoch %lld/%lld  train loss %.4f err %.2f%%  test loss %.4f err %.2f%%  "
                "|grad| %.3g  |w| %.3g  lr %.3g  %.1fs",
                static_cast<long long>(m.epoch), static_cast<long long>(epochs_), m.train_loss,
                100 * m.train_error, m.test_loss, 100 * m.test_error, m.grad_norm,
                m.weight_norm, m.lr, m.seconds);
  std::string text = line;
  if (!std::isnan(m.val_error)) {  // --val-split
    std::snprintf(line, sizeof line, "  val loss %.4f err %.2f%%", m.val_loss, 100 * m.val_error);
    text += line;
  }
  if (m.epoch < epochs_ && seconds_per_batch_ > 0) {
    done_ = batches_;
    text += "  (run ETA " + format_duration(run_eta() - eval_seconds_) + ")";
  }
  message(text);
}

void Progress::message(const std::string& text) {
  to_log(text);
  if (mode_ == Mode::None) return;
  if (bar_drawn_) std::fprintf(stream_, "\r\033[K");
  bar_drawn_ = false;
  std::fprintf(stream_, "%s\n", text.c_str());
  std::fflush(stream_);
}

void Progress::step_line(const std::string& text) {
  message(text);  // above the bar, which the next redraw puts back below it
}

void Progress::end_line() {
  if (bar_drawn_) std::fprintf(stream_, "\n");
  bar_drawn_ = false;
  std::fflush(stream_);
}

void Progress::to_log(const std::string& line) {
  if (log_ == nullptr) return;
  std::fprintf(log_, "%s\n", line.c_str());
  std::fflush(log_);
}

}  // namespace train
}  // namespace swd
