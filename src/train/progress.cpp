#include "swd/train/progress.h"

#include <unistd.h>

#include <cmath>

namespace swd {
namespace train {

Progress::Mode Progress::mode_from(const std::string& name, std::FILE* stream) {
  if (name == "bar") return Mode::Bar;
  if (name == "line") return Mode::Line;
  if (name == "none") return Mode::None;
  return ::isatty(::fileno(stream)) ? Mode::Bar : Mode::Line;
}

Progress::Progress(Mode mode, int64_t epochs, std::FILE* stream)
    : mode_(mode), epochs_(epochs), stream_(stream) {}

void Progress::begin_epoch(int64_t epoch, int64_t batches) {
  epoch_ = epoch;
  batches_ = batches;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::batch(int64_t done, int64_t samples, double running_loss) {
  if (mode_ != Mode::Bar) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? samples / elapsed : 0;
  const double eta = done > 0 ? elapsed * (batches_ - done) / done : 0;
  constexpr int kWidth = 30;
  const int filled = batches_ > 0 ? static_cast<int>(kWidth * done / batches_) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stream_, "\repoch %lld/%lld [%s] %lld/%lld  loss %.4f  %.0f img/s  ETA %.0fs  ",
               static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(batches_), running_loss, rate,
               eta);
  std::fflush(stream_);
  bar_drawn_ = true;
}

void Progress::end_epoch(const EpochMetrics& m) {
  if (mode_ == Mode::None) return;
  if (bar_drawn_) std::fprintf(stream_, "\r\033[K");
  bar_drawn_ = false;
  std::fprintf(stream_,
               "epoch %lld/%lld  train loss %.4f err %.2f%%  test loss %.4f err %.2f%%  "
               "|grad| %.3g  |w| %.3g  lr %.3g  %.1fs\n",
               static_cast<long long>(m.epoch), static_cast<long long>(epochs_), m.train_loss,
               100 * m.train_error, m.test_loss, 100 * m.test_error, m.grad_norm, m.weight_norm,
               m.lr, m.seconds);
  std::fflush(stream_);
}

void Progress::message(const std::string& text) {
  if (mode_ == Mode::None) return;
  if (bar_drawn_) std::fprintf(stream_, "\r\033[K");
  bar_drawn_ = false;
  std::fprintf(stream_, "%s\n", text.c_str());
  std::fflush(stream_);
}

}  // namespace train
}  // namespace swd
