// BatchLoader: every sample once per epoch, determinism whatever the worker count, resume,
// rank sharding, augmentation geometry, normalisation, errors, shutdown and speed.
#include "swd/data/loader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <set>
#include <stdexcept>
#include <thread>
#include "test_util.h"

namespace sd = swd::data;

namespace {

// n images [C, H, W] whose first two bytes encode the sample's index (i % 256, i / 256); the
// other bytes are a pattern; label i % 10.
sd::Dataset indexed(int64_t n, int64_t channels = 1, int64_t side = 6) {
  sd::Dataset set;
  set.num_classes = 10;
  set.images = at::empty({n, channels, side, side}, at::kByte);
  set.labels = at::arange(n, at::kLong).remainder(10);
  uint8_t* p = set.images.data_ptr<uint8_t>();
  const int64_t size = channels * side * side;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < size; ++k)
      p[i * size + k] = static_cast<uint8_t>((i * 13 + k * 7) % 256);
    p[i * size] = static_cast<uint8_t>(i % 256);
    p[i * size + 1] = static_cast<uint8_t>(i / 256);
  }
  return set;
}

// The index encoded in sample s of a batch normalised with mean 0, std 1 and not augmented.
int64_t decode(const sd::Batch& batch, int64_t s) {
  const auto x = batch.data[s].flatten();
  return std::lround(x[0].item<float>() * 255) + 256 * std::lround(x[1].item<float>() * 255);
}

std::vector<sd::Batch> run_epoch(sd::BatchLoader& loader, int64_t epoch, int64_t skip = 0) {
  loader.start_epoch(epoch, skip);
  std::vector<sd::Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

void expect_same(const std::vector<sd::Batch>& a, const std::vector<sd::Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].index, b[k].index);
    EXPECT_TRUE(a[k].data.equal(b[k].data)) << "batch " << k;
    EXPECT_TRUE(a[k].target.equal(b[k].target)) << "batch " << k;
  }
}

sd::LoaderOptions options(int64_t batch_size) {
  sd::LoaderOptions o;
  o.batch_size = batch_size;
  o.seed = 11;
  return o;
}

sd::LoaderOptions augmented(int64_t batch_size) {
  auto o = options(batch_size);
  o.crop_padding = 2;
  o.horizontal_flip = true;
  o.mean = {0.3};
  o.std = {0.7};
  return o;
}

using swd_test::error_of;


}  // namespace

TEST(Loader, EverySampleOncePerEpoch) {
  const auto set = indexed(103);
  sd::BatchLoader loader(set, options(10));
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  const auto batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 11u);
  EXPECT_EQ(batches.back().data.size(0), 3);
  std::multiset<int64_t> seen;
  for (size_t k = 0; k < batches.size(); ++k) {
    EXPECT_EQ(batches[k].index, static_cast<int64_t>(k));
    EXPECT_EQ(batches[k].data.sizes(), (std::vector<int64_t>{batches[k].target.size(0), 1, 6, 6}));
    for (int64_t s = 0; s < batches[k].data.size(0); ++s) {
      const int64_t i = decode(batches[k], s);
      seen.insert(i);
      EXPECT_EQ(batches[k].target[s].item<int64_t>(), i % 10);
    }
  }
  ASSERT_EQ(seen.size(), 103u);
  int64_t expected = 0;
  for (int64_t i : seen) EXPECT_EQ(i, expected++);

  auto o = options(10);
  o.drop_last = true;
  sd::BatchLoader dropping(set, o);
  EXPECT_EQ(dropping.batches_per_epoch(), 10);
  EXPECT_EQ(run_epoch(dropping, 0).size(), 10u);
}

TEST(Loader, SameBatchesWhateverTheWorkers) {
  const auto set = indexed(57, 3);
  std::vector<std::vector<sd::Batch>> runs;
  for (int64_t workers : {1, 3, 0}) {
    auto o = augmented(8);
    o.mean = {0.1, 0.2, 0.3};
    o.std = {0.5, 0.6, 0.7};
    o.workers = workers;
    o.prefetch = workers == 3 ? 2 : 4;
    sd::BatchLoader loader(set, o);
    runs.push_back(run_epoch(loader, 4));
  }
  expect_same(runs[0], runs[1]);
  expect_same(runs[0], runs[2]);
}

TEST(Loader, EpochsDifferAndRepeat) {
  const auto set = indexed(64);
  sd::BatchLoader loader(set, options(64));
  const auto order = [&](int64_t epoch) {
    const auto batch = run_epoch(loader, epoch).at(0);
    std::vector<int64_t> out;
    for (int64_t s = 0; s < batch.data.size(0); ++s) out.push_back(decode(batch, s));
    return out;
  };
  const auto e0 = order(0), e1 = order(1);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(order(0), e0);
  auto o = options(64);
  o.shuffle = false;
  sd::BatchLoader sequential(set, o);
  const auto batch = run_epoch(sequential, 3).at(0);
  for (int64_t s = 0; s < 64; ++s) EXPECT_EQ(decode(batch, s), s);
}

TEST(Loader, SkipBatchesResumesExactly) {
  const auto set = indexed(95);
  sd::BatchLoader loader(set, augmented(10));
  const auto full = run_epoch(loader, 2);
  const auto tail = run_epoch(loader, 2, 4);
  expect_same(std::vector<sd::Batch>(full.begin() + 4, full.end()), tail);
  EXPECT_TRUE(run_epoch(loader, 2, loader.batches_per_epoch()).empty());
  EXPECT_CONTAINS(error_of([&] { loader.start_epoch(2, 11); }), "skip_batches 11");
}

TEST(Loader, RankSlicesMakeTheGlobalBatch) {
  const auto set = indexed(50);  // global batches of 12: 4 full, then 2 samples for 4 ranks
  sd::BatchLoader whole(set, augmented(12));
  const auto global = run_epoch(whole, 1);
  ASSERT_EQ(global.size(), 5u);
  std::vector<std::vector<sd::Batch>> ranks;
  for (int64_t r = 0; r < 4; ++r) {
    auto o = augmented(12);
    o.world_size = 4;
    o.rank = r;
    sd::BatchLoader loader(set, o);
    EXPECT_EQ(loader.batches_per_epoch(), 5);
    ranks.push_back(run_epoch(loader, 1));
    ASSERT_EQ(ranks.back().size(), 5u);
  }
  for (size_t k = 0; k < global.size(); ++k) {
    std::vector<at::Tensor> data, target;
    for (const auto& rank : ranks) {
      const int64_t b = rank[k].data.size(0);
      EXPECT_EQ(b, k < 4 ? 3 : (&rank - &ranks[0]) % 2);  // the last batch: 0, 1, 0, 1
      data.push_back(rank[k].data);
      target.push_back(rank[k].target);
    }
    EXPECT_TRUE(at::cat(data).equal(global[k].data)) << "batch " << k;
    EXPECT_TRUE(at::cat(target).equal(global[k].target)) << "batch " << k;
  }
}

TEST(Loader, UnevenBatchForWorldSizeIsAnError) {
  const auto set = indexed(10);
  auto o = options(10);
  o.world_size = 3;
  const auto message = error_of([&] { sd::BatchLoader(set, o); });
  EXPECT_CONTAINS(message, "batch_size 10");
  EXPECT_CONTAINS(message, "world_size 3");
  EXPECT_CONTAINS(message, "divisible");
}

TEST(Loader, RejectsBadOptionsNamingThem) {
  const auto set = indexed(10);
  const std::vector<std::pair<std::function<void(sd::LoaderOptions&)>, std::string>> cases = {
      {[](auto& o) { o.batch_size = 0; }, "batch_size 0"},
      {[](auto& o) { o.world_size = 2, o.rank = 2; }, "rank 2"},
      {[](auto& o) {
         o.mean = {0.5, 0.5}, o.std = {1, 1};
       },
       "mean/std sizes 2/2"},
      {[](auto& o) { o.mean = {0.5}, o.std = {0.0}; }, "std 0"},
      {[](auto& o) { o.crop_padding = -1; }, "crop_padding -1"},
      {[](auto& o) { o.prefetch = 0; }, "prefetch 0"},
  };
  for (const auto& [change, words] : cases) {
    auto o = options(5);
    change(o);
    EXPECT_CONTAINS(error_of([&] { sd::BatchLoader(set, o); }), words);
  }
  sd::BatchLoader loader(set, options(5));
  EXPECT_CONTAINS(error_of([&] { loader.next(); }), "start_epoch");
}

TEST(Loader, AugmentationChangesDataButKeepsShape) {
  const auto set = indexed(40, 1, 5);
  auto plain_options = options(40);
  plain_options.shuffle = false;
  sd::BatchLoader plain(set, plain_options);
  const auto original = run_epoch(plain, 0).at(0).data;
  for (int mode = 0; mode < 2; ++mode) {  // 0: flip only, 1: crop only
    auto o = plain_options;
    o.horizontal_flip = mode == 0;
    o.crop_padding = mode == 1 ? 2 : 0;
    sd::BatchLoader loader(set, o);
    const auto data = run_epoch(loader, 0).at(0).data;
    ASSERT_EQ(data.sizes(), original.sizes());
    int changed = 0;
    for (int64_t i = 0; i < 40; ++i) {
      const auto x = original[i];
      bool matched = false;
      if (mode == 0) {
        matched = data[i].equal(x) || data[i].equal(x.flip({2}));
      } else {  // a 5x5 window of the image zero-padded by 2 (pixel 0 normalises to 0 here)
        const auto padded = at::constant_pad_nd(x, {2, 2, 2, 2}, 0);
        for (int64_t dy = 0; dy <= 4 && !matched; ++dy) {
          for (int64_t dx = 0; dx <= 4 && !matched; ++dx) {
            matched = data[i].equal(padded.narrow(1, dy, 5).narrow(2, dx, 5));
          }
        }
      }
      EXPECT_TRUE(matched) << "mode " << mode << " sample " << i;
      changed += !data[i].equal(x);
    }
    EXPECT_GT(changed, 10) << "mode " << mode;
  }
}

TEST(Loader, NormalisesPerChannel) {
  sd::Dataset set;
  set.num_classes = 2;
  set.images = at::tensor(std::vector<int64_t>{0, 51, 102, 255, 255, 204, 153, 0})
                   .to(at::kByte)
                   .view({1, 2, 2, 2});
  set.labels = at::tensor(std::vector<int64_t>{1});
  auto o = options(1);
  o.mean = {0.5, 0.25};
  o.std = {0.2, 0.5};
  sd::BatchLoader loader(set, o);
  const auto batch = run_epoch(loader, 0).at(0);
  const std::vector<float> expected = {-2.5f, -1.5f, -0.5f, 2.5f, 1.5f, 1.1f, 0.7f, -0.5f};
  const auto got = batch.data.flatten();
  ASSERT_EQ(batch.data.scalar_type(), at::kFloat);
  for (int k = 0; k < 8; ++k) EXPECT_NEAR(got[k].item<float>(), expected[k], 1e-6) << "value " << k;
  EXPECT_EQ(batch.target[0].item<int64_t>(), 1);
}

TEST(Loader, AbandoningAnEpochDoesNotHang) {
  const auto set = indexed(4000, 1, 8);
  for (int64_t workers : {1, 3}) {
    auto o = augmented(16);
    o.workers = workers;
    o.prefetch = 2;
    auto loader = std::make_unique<sd::BatchLoader>(set, o);
    loader->start_epoch(0);
    ASSERT_TRUE(loader->next().has_value());
    loader->start_epoch(1);  // abandons epoch 0 with workers waiting on a full queue
    const auto first = loader->next();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->index, 0);
    loader.reset();  // abandons epoch 1
  }
}

TEST(Loader, PrefetchIsBounded) {
  const auto set = indexed(200);
  std::atomic<int> prepared{0};
  auto o = options(4);
  o.workers = 3;
  o.prefetch = 2;
  o.transform = [&](sd::Batch&) { ++prepared; };
  // Waits until `count` batches are prepared, then a little longer: no more may follow.
  const auto settles_at = [&](int count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (prepared.load() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return prepared.load();
  };
  sd::BatchLoader loader(set, o);
  loader.start_epoch(0);
  EXPECT_EQ(settles_at(2), 2);
  ASSERT_TRUE(loader.next().has_value());
  EXPECT_EQ(settles_at(3), 3);
}

TEST(Loader, WorkerErrorsReachNext) {
  const auto set = indexed(40);
  for (int64_t workers : {0, 2}) {
    std::atomic<bool> armed{true};
    auto o = options(4);
    o.workers = workers;
    o.transform = [&](sd::Batch& b) {
      if (armed && b.index == 2) throw std::runtime_error("bad batch 2");
    };
    sd::BatchLoader loader(set, o);
    loader.start_epoch(0);
    EXPECT_EQ(loader.next()->index, 0);
    EXPECT_EQ(loader.next()->index, 1);
    EXPECT_EQ(error_of([&] { loader.next(); }), "bad batch 2");
    EXPECT_EQ(error_of([&] { loader.next(); }), "bad batch 2");  // stays failed
    armed = false;
    EXPECT_EQ(run_epoch(loader, 0).size(), 10u);  // a new epoch starts afresh
  }
}

TEST(Loader, PreparesBatchesQuickly) {
  const auto set = indexed(1024, 1, 28);
  for (bool augment : {false, true}) {
    auto o = augment ? augmented(128) : options(128);
    o.workers = 0;  // prepared inside next(): its time is the preparation time
    sd::BatchLoader loader(set, o);
    int batches = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 0; epoch < 4; ++epoch)
      batches += static_cast<int>(run_epoch(loader, epoch).size());
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    const double per_batch = elapsed.count() / batches;
    std::cout << "128x1x28x28 batch" << (augment ? " with crop and flip" : "") << ": " << per_batch
              << " ms\n";
    EXPECT_EQ(batches, 4 * 8);
#ifdef NDEBUG
    EXPECT_LT(per_batch, 5.0);  // generous: well under 1 ms in an optimised build
#endif
  }
}
