// BatchLoader: worker threads claim batch indices in order, at most `prefetch` ahead of the
// consumer, and hand finished batches back through an index-keyed map, so next() returns them
// in order whatever the thread timing. All randomness is a hash of (seed, epoch, index).
#include "swd/data/loader.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "random.h"

namespace swd {
namespace data {

namespace {

// Uniform in [0, n) from a random word (multiply-shift; bias below n / 2^64).
int64_t below(uint64_t word, int64_t n) {
  return static_cast<int64_t>((static_cast<unsigned __int128>(word) * static_cast<uint64_t>(n)) >>
                              64);
}

template <typename T>
void require(bool ok, const char* name, const T& value, const std::string& expected) {
  if (ok) return;
  std::ostringstream message;
  message << "BatchLoader: invalid " << name << " " << value << " (expected " << expected << ")";
  throw std::invalid_argument(message.str());
}

// The augmentation of one sample: output pixel (y, x) is input pixel (y + dy, x' + dx) with
// x' = x, or W-1-x when flipped; outside the image it is the padding value 0.
struct Augment {
  int64_t dy = 0, dx = 0;
  bool flip = false;
};

}  // namespace

struct BatchLoader::Impl {
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  LoaderOptions options;
  at::Tensor images;  // contiguous uint8 [N, C, H, W]
  at::Tensor labels;  // contiguous int64 [N]
  int64_t n = 0, channels = 0, height = 0, width = 0;
  std::vector<float> table;  // [C][256]: (v/255 - mean[c]) / std[c]

  // The epoch; fixed while workers run.
  bool started = false;
  int64_t epoch = 0;
  std::vector<int64_t> order;
  int64_t end = 0;  // batches in the epoch

  // Shared with the workers, under `mutex`.
  std::mutex mutex;
  std::condition_variable work_cv, ready_cv;
  bool stopping = false;
  int64_t next_claim = 0;  // the next batch a worker will prepare
  int64_t next_out = 0;    // the next batch next() returns
  std::map<int64_t, Slot> ready;
  std::vector<std::thread> threads;

  std::exception_ptr failure;  // consumer side: the error next() keeps rethrowing

  Impl(const Dataset& dataset, LoaderOptions o);
  int64_t batches() const;
  void make_order();
  Batch prepare(int64_t k) const;
  void write_sample(int64_t index, float* out) const;
  void worker();
  void stop();
};

BatchLoader::Impl::Impl(const Dataset& dataset, LoaderOptions o) : options(std::move(o)) {
  const at::Tensor& x = dataset.images;
  const at::Tensor& y = dataset.labels;
  if (!x.defined() || x.dim() != 4 || x.scalar_type() != at::kByte) {
    throw std::invalid_argument(
        "BatchLoader: dataset images must be a uint8 tensor [N, C, H, W]" +
        (x.defined() ? " (got " + x.toString() + " of " + std::to_string(x.dim()) + " dimensions)"
                     : std::string(" (got an undefined tensor)")));
  }
  if (!y.defined() || y.dim() != 1 || y.size(0) != x.size(0) ||
      !at::isIntegralType(y.scalar_type(), /*includeBool=*/false)) {
    throw std::invalid_argument(
        "BatchLoader: dataset labels must be an integer tensor [N] with N = " +
        std::to_string(x.size(0)) + ", as many as the images");
  }
  images = x.contiguous();
  labels = y.to(at::kLong).contiguous();
  n = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);

  const LoaderOptions& p = options;
  require(p.batch_size >= 1, "batch_size", p.batch_size, ">= 1");
  require(p.world_size >= 1, "world_size", p.world_size, ">= 1");
  require(p.rank >= 0 && p.rank < p.world_size, "rank", p.rank,
          "0 <= rank < world_size = " + std::to_string(p.world_size));
  if (p.batch_size % p.world_size != 0) {
    throw std::invalid_argument(
        "BatchLoader: batch_size " + std::to_string(p.batch_size) +
        " is not divisible by world_size " + std::to_string(p.world_size) +
        " (every rank takes batch_size / world_size samples of each global batch)");
  }
  const int64_t side = std::max(height, width);
  require(p.crop_padding >= 0 && p.crop_padding <= side, "crop_padding", p.crop_padding,
          "0 <= crop_padding <= " + std::to_string(side) + ", the image size");
  require(p.workers >= 0, "workers", p.workers, ">= 0");
  require(p.prefetch >= 1, "prefetch", p.prefetch, ">= 1");
  const std::string per_channel =
      "one value per channel: " + std::to_string(channels) + ", or none";
  require(p.mean.size() == p.std.size() &&
              (p.mean.empty() || static_cast<int64_t>(p.mean.size()) == channels),
          "mean/std sizes", std::to_string(p.mean.size()) + "/" + std::to_string(p.std.size()),
          per_channel);

  table.resize(channels * 256);
  for (int64_t c = 0; c < channels; ++c) {
    const double mean = p.mean.empty() ? 0.0 : p.mean[c];
    const double std = p.std.empty() ? 1.0 : p.std[c];
    require(std::isfinite(mean), "mean", mean, "a finite number");
    require(std::isfinite(std) && std > 0, "std", std, "a finite number > 0");
    for (int v = 0; v < 256; ++v) table[c * 256 + v] = static_cast<float>((v / 255.0 - mean) / std);
  }
}

int64_t BatchLoader::Impl::batches() const {
  const int64_t b = options.batch_size;
  return n / b + (!options.drop_last && n % b != 0);
}

// Fisher-Yates shuffle driven by (seed, epoch, position); identity without shuffle.
void BatchLoader::Impl::make_order() {
  order.resize(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!options.shuffle) return;
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = below(random_word(options.seed, kOrderStream, epoch, i), i + 1);
    std::swap(order[i], order[j]);
  }
}

// Global batch k is order[k*B, min((k+1)*B, N)), m samples; rank r takes [r*m/W, (r+1)*m/W)
// of it, which for a full batch is its B/W slice.
Batch BatchLoader::Impl::prepare(int64_t k) const {
  const int64_t start = k * options.batch_size;
  const int64_t m = std::min(options.batch_size, n - start);
  const auto share = [&](int64_t r) {  // r*m/W without overflow
    return static_cast<int64_t>(static_cast<__int128>(r) * m / options.world_size);
  };
  const int64_t lo = start + share(options.rank);
  const int64_t hi = start + share(options.rank + 1);
  Batch batch;
  batch.index = k;
  batch.data = at::empty({hi - lo, channels, height, width}, at::kFloat);
  batch.target = at::empty({hi - lo}, at::kLong);
  float* out = batch.data.data_ptr<float>();
  int64_t* target = batch.target.data_ptr<int64_t>();
  const int64_t* label = labels.data_ptr<int64_t>();
  const int64_t sample_size = channels * height * width;
  for (int64_t s = lo; s < hi; ++s) {
    const int64_t index = order[s];
    *target++ = label[index];
    write_sample(index, out);
    out += sample_size;
  }
  if (options.transform) options.transform(batch);
  return batch;
}

// One pass over the sample's bytes: random crop after zero padding (the padding is pixel
// value 0, padded before normalising, as torchvision's RandomCrop on the raw image), then a
// horizontal flip, then (x/255 - mean) / std through the per-channel table.
void BatchLoader::Impl::write_sample(int64_t index, float* out) const {
  const uint8_t* src = images.data_ptr<uint8_t>() + index * channels * height * width;
  Augment a;
  if (options.crop_padding > 0 || options.horizontal_flip) {
    uint64_t word = random_word(options.seed, kAugmentStream, epoch, index);
    const int64_t span = 2 * options.crop_padding + 1;
    a.dy = below(word, span) - options.crop_padding;
    word = mix64(word);
    a.dx = below(word, span) - options.crop_padding;
    a.flip = options.horizontal_flip && (mix64(word) >> 63) != 0;
  }
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c) {
    const float* t = table.data() + c * 256;
    const uint8_t* in = src + c * plane;
    float* o = out + c * plane;
    if (a.dy == 0 && a.dx == 0 && !a.flip) {
      for (int64_t i = 0; i < plane; ++i) o[i] = t[in[i]];
      continue;
    }
    const float pad = t[0];
    for (int64_t y = 0; y < height; ++y, o += width) {
      const int64_t sy = y + a.dy;
      if (sy < 0 || sy >= height) {
        std::fill(o, o + width, pad);
        continue;
      }
      const uint8_t* row = in + sy * width;
      // Columns x with source column inside the image: [x0, x1).
      const int64_t x0 = std::clamp(a.flip ? a.dx : -a.dx, int64_t{0}, width);
      const int64_t x1 = std::clamp(a.flip ? width + a.dx : width - a.dx, int64_t{0}, width);
      std::fill(o, o + x0, pad);
      if (a.flip) {
        const int64_t base = width - 1 + a.dx;  // the source of column x is row[base - x]
        for (int64_t x = x0; x < x1; ++x) o[x] = t[row[base - x]];
      } else {
        for (int64_t x = x0; x < x1; ++x) o[x] = t[row[x + a.dx]];
      }
      std::fill(o + std::max(x0, x1), o + width, pad);
    }
  }
}

void BatchLoader::Impl::worker() {
  for (;;) {
    int64_t k = 0;
    {
      std::unique_lock<std::mutex> lock(mutex);
      work_cv.wait(lock, [&] {
        return stopping || next_claim >= end || next_claim < next_out + options.prefetch;
      });
      if (stopping || next_claim >= end) return;
      k = next_claim++;
    }
    Slot slot;
    try {
      slot.batch = prepare(k);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      ready.emplace(k, std::move(slot));
    }
    ready_cv.notify_one();
  }
}

void BatchLoader::Impl::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  work_cv.notify_all();
  for (auto& thread : threads) thread.join();
  threads.clear();
  ready.clear();
  stopping = false;
}

BatchLoader::BatchLoader(const Dataset& dataset, LoaderOptions options)
    : impl_(std::make_unique<Impl>(dataset, std::move(options))) {}

BatchLoader::~BatchLoader() { impl_->stop(); }

void BatchLoader::start_epoch(int64_t epoch, int64_t skip_batches) {
  Impl& s = *impl_;
  require(epoch >= 0, "epoch", epoch, ">= 0");
  require(skip_batches >= 0 && skip_batches <= s.batches(), "skip_batches", skip_batches,
          "0 <= skip_batches <= " + std::to_string(s.batches()) + ", the batches per epoch");
  s.stop();
  s.epoch = epoch;
  s.make_order();
  s.end = s.batches();
  s.next_claim = s.next_out = skip_batches;
  s.failure = nullptr;
  s.started = true;
  const int64_t threads = std::min(s.options.workers, s.end - skip_batches);
  try {
    for (int64_t i = 0; i < threads; ++i) s.threads.emplace_back([&s] { s.worker(); });
  } catch (...) {  // no thread to run: next() would wait forever
    s.stop();
    s.started = false;
    throw;
  }
}

std::optional<Batch> BatchLoader::next() {
  Impl& s = *impl_;
  if (!s.started) throw std::logic_error("BatchLoader::next() called before start_epoch()");
  if (s.failure) std::rethrow_exception(s.failure);
  if (s.options.workers == 0) {
    if (s.next_out >= s.end) return std::nullopt;
    try {
      return s.prepare(s.next_out++);
    } catch (...) {
      s.failure = std::current_exception();
      throw;
    }
  }
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.next_out >= s.end) return std::nullopt;
  s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_out) > 0; });
  auto node = s.ready.extract(s.next_out);
  ++s.next_out;
  lock.unlock();
  s.work_cv.notify_one();
  if (node.mapped().error) {
    s.failure = node.mapped().error;
    s.stop();
    std::rethrow_exception(s.failure);
  }
  return std::move(node.mapped().batch);
}

int64_t BatchLoader::batches_per_epoch() const { return impl_->batches(); }

const LoaderOptions& BatchLoader::options() const { return impl_->options; }

}  // namespace data
}  // namespace swd
