// Data parallelism at the library level, in float64. Ranks are threads of this process, each
// with its own c10d ProcessGroupGloo over loopback (FileStore rendezvous in a fresh folder).
// A small two-layer net trained by W ranks x K micro-batches must follow the trajectory of one
// process taking the whole global batch.
#include <gtest/gtest.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <chrono>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_support.h"
#include "support.h"
#include "swd/config/config.h"
#include "swd/parallel/data_parallel.h"
#include "swd/train/trainer.h"
#include "../src/train/run_setup.h"  // group_options, the run setup's own

namespace sd = swd::parallel;
namespace so = swd::optim;
using swd_test::max_rel_error;

namespace {

constexpr int64_t kIn = 6, kHidden = 5, kClasses = 3;

/// Runs `body(rank)` on `world` threads and rethrows the first exception.
void on_ranks(int world, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

sd::GroupOptions file_group(const std::string& dir, int rank, int world, int timeout_ms = 5000) {
  sd::GroupOptions o;
  o.rank = rank;
  o.world_size = world;
  o.store_file = dir + "/store";
  o.timeout = std::chrono::milliseconds(timeout_ms);
  return o;
}

/// The data of every step and the initial parameters (W1, b1, W2, b2, idle). `idle` only
/// enters the loss multiplied by 0: its gradient is defined and zero, so weight decay is the
/// only thing that moves it.
struct Problem {
  std::vector<torch::Tensor> x, y;  // per step: the global batch
  std::vector<torch::Tensor> init;
  explicit Problem(const std::vector<int64_t>& batch_sizes) {
    torch::manual_seed(7);
    for (int64_t b : batch_sizes) {
      x.push_back(torch::randn({b, kIn}, torch::kFloat64));
      y.push_back(torch::randint(kClasses, {b}, torch::kLong));
    }
    init = {torch::randn({kIn, kHidden}, torch::kFloat64) * 0.5, torch::randn({kHidden}, torch::kFloat64) * 0.1,
            torch::randn({kHidden, kClasses}, torch::kFloat64) * 0.5, torch::randn({kClasses}, torch::kFloat64) * 0.1,
            torch::full({4}, 2.0, torch::kFloat64)};
  }
};

torch::Tensor mean_loss(const std::vector<torch::Tensor>& p, const torch::Tensor& x, const torch::Tensor& y) {
  namespace F = torch::nn::functional;
  auto h = F::relu(torch::matmul(x, p[0]) + p[1]);
  return F::cross_entropy(torch::matmul(h, p[2]) + p[3], y) + 0.0 * p[4].sum();
}

enum class Kind { AdamS, SGDS };
constexpr double kLr = 0.05, kWd = 0.1, kMomentum = 0.9;

std::unique_ptr<so::OptimizerBase> make_optimizer(Kind kind, const std::vector<torch::Tensor>& params) {
  if (kind == Kind::AdamS) return std::make_unique<so::AdamS>(params, so::AdamOptions(kLr).weight_decay(kWd));
  return std::make_unique<so::SGDS>(params, so::SGDOptions(kLr).momentum(kMomentum).weight_decay(kWd));
}

struct Trajectory {
  std::vector<torch::Tensor> params;
  std::vector<double> vbar;  // per step, where the optimizer has one
};

/// Rank `rank` of `world`, K = `accumulate`: slices each global batch as the loader does
/// (micro-batch j of the global batch, then rank r's r/W-th of it), weights each micro-batch's
/// mean loss by its share of the global batch, reduces, steps once.
Trajectory train(const Problem& problem, Kind kind, sd::Group& group, int64_t accumulate,
                 int64_t bucket_bytes = sd::kDefaultBucketBytes) {
  const int64_t rank = group.rank(), world = group.world_size();
  std::vector<torch::Tensor> params;
  for (const auto& t : problem.init) {
    // Ranks other than 0 start from garbage: the broadcast must replace it.
    params.push_back((rank == 0 ? t.clone() : torch::full_like(t, 7.0)).requires_grad_(true));
  }
  group.broadcast(params, bucket_bytes, "initial broadcast");
  auto optimizer = make_optimizer(kind, params);
  sd::GradientReducer reducer(group, params, bucket_bytes);
  Trajectory out;
  for (size_t s = 0; s < problem.x.size(); ++s) {
    const int64_t m = problem.x[s].size(0);
    const int64_t micro = (m + accumulate - 1) / accumulate;
    optimizer->zero_grad();
    for (int64_t lo = 0; lo < m; lo += micro) {
      const int64_t len = std::min(micro, m - lo);
      const int64_t a = lo + rank * len / world, b = lo + (rank + 1) * len / world;
      if (a == b) continue;
      const double share = static_cast<double>(b - a) / static_cast<double>(m);
      (mean_loss(params, problem.x[s].slice(0, a, b), problem.y[s].slice(0, a, b)) * share).backward();
    }
    reducer.reduce();
    optimizer->step();
    if (optimizer->vbar().defined()) out.vbar.push_back(optimizer->vbar().item<double>());
  }
  for (auto& p : params) out.params.push_back(p.detach().clone());
  return out;
}

Trajectory single_process(const Problem& problem, Kind kind, int64_t accumulate = 1) {
  sd::Group alone;
  return train(problem, kind, alone, accumulate);
}

/// Every rank's trajectory for W ranks x K micro-batches.
std::vector<Trajectory> data_parallel(const Problem& problem, Kind kind, int world,
                                      int64_t accumulate, const std::string& name,
                                      int64_t bucket_bytes = sd::kDefaultBucketBytes) {
  const auto dir = swd_test::fresh_dir(name);
  std::vector<Trajectory> out(world);
  on_ranks(world, [&](int r) {
    sd::Group group(file_group(dir, r, world));
    out[r] = train(problem, kind, group, accumulate, bucket_bytes);
  });
  return out;
}

void expect_same(const Trajectory& got, const Trajectory& want, double tol, const std::string& what) {
  ASSERT_EQ(got.params.size(), want.params.size());
  for (size_t i = 0; i < want.params.size(); ++i) {
    EXPECT_LT(max_rel_error(got.params[i], want.params[i]), tol) << what << ", parameter " << i;
  }
}

// Float64 tolerance: the ranks add their partial sums in another order than one process does
// (measured: relative differences up to 2e-15 after 6 steps).
constexpr double kTol = 1e-13;

struct Case {
  Kind kind;
  int world;
  int64_t accumulate;
};

class DataParallelTest : public ::testing::TestWithParam<Case> {};

TEST_P(DataParallelTest, MatchesOneProcessWithTheGlobalBatch) {
  const auto c = GetParam();
  const Problem problem(std::vector<int64_t>(6, 16));
  const auto want = single_process(problem, c.kind);
  const auto got = data_parallel(problem, c.kind, c.world, c.accumulate, "dp");
  expect_same(got[0], want, kTol, "rank 0 vs one process");
  for (size_t i = 0; i < want.params.size(); ++i) {  // the ranks hold the same bits
    EXPECT_TRUE(torch::equal(got[1].params[i], got[0].params[i])) << "parameter " << i;
  }
  EXPECT_EQ(got[1].vbar, got[0].vbar);  // the same vbar everywhere, without communicating it
  // The parameters moved: the comparison is not between two untouched copies.
  EXPECT_GT(max_rel_error(want.params[0], problem.init[0]), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Dist, DataParallelTest,
                         ::testing::Values(Case{Kind::AdamS, 2, 1}, Case{Kind::AdamS, 2, 2},
                                           Case{Kind::SGDS, 2, 1}, Case{Kind::SGDS, 2, 2}),
                         [](const auto& info) {
                           return std::string(info.param.kind == Kind::AdamS ? "AdamS" : "SGDS") +
                                  "_accumulate" + std::to_string(info.param.accumulate);
                         });

TEST(DataParallel, AccumulatedMicroBatchesEqualOneStepAndDecayOnce) {
  const int steps = 6;
  const Problem problem(std::vector<int64_t>(steps, 16));
  for (Kind kind : {Kind::SGDS, Kind::AdamS}) {
    const auto want = single_process(problem, kind);
    const auto got = single_process(problem, kind, /*accumulate=*/4);
    expect_same(got, want, kTol, "accumulate 4 x 4 vs 16");
    // The idle parameter moved by weight decay alone, once per step (docs/OPTIMIZERS.md):
    // SGDS theta *= 1 - eta*lambda/(1-mu); AdamS theta *= 1 - eta*lambda/sqrt(vbar_t).
    double factor = 1;
    for (int t = 0; t < steps; ++t) {
      factor *= kind == Kind::SGDS ? 1 - kLr * kWd / (1 - kMomentum) : 1 - kLr * kWd / std::sqrt(got.vbar[t]);
    }
    const auto expected = problem.init[4] * factor;
    EXPECT_LT(max_rel_error(got.params[4], expected), 1e-14);
    EXPECT_LT(got.params[4][0].item<double>(), 2.0 * 0.9);  // decay did act
  }
}

TEST(DataParallel, PartialLastBatchWeightsBySampleCounts) {
  // 16, 16, then 7 samples: with 2 ranks x 2 micro-batches of 8 the last step has one
  // micro-batch of 7, split 3 / 4 between the ranks.
  const Problem problem({16, 16, 7});
  const auto want = single_process(problem, Kind::AdamS);
  const auto got = data_parallel(problem, Kind::AdamS, 2, 2, "partial");
  expect_same(got[0], want, kTol, "partial last batch");
}

TEST(DataParallel, SmallBucketsGiveTheSameResult) {
  const Problem problem(std::vector<int64_t>(4, 16));
  const auto one = data_parallel(problem, Kind::SGDS, 2, 1, "bucket-one");
  const auto many = data_parallel(problem, Kind::SGDS, 2, 1, "bucket-many", /*bucket_bytes=*/64);
  for (size_t i = 0; i < one[0].params.size(); ++i) {
    EXPECT_TRUE(torch::equal(one[0].params[i], many[0].params[i])) << "parameter " << i;
  }
  sd::Group alone;
  std::vector<torch::Tensor> params;
  for (const auto& t : problem.init) params.push_back(t.clone().requires_grad_(true));
  EXPECT_EQ(sd::GradientReducer(alone, params, 64).bucket_count(), 4);  // W1 240 B | b1 40 | W2 120 | b2 24 + idle 32
  EXPECT_EQ(sd::GradientReducer(alone, params).bucket_count(), 1);
}

TEST(DataParallel, GradientsMissingOnSomeRanks) {
  const auto dir = swd_test::fresh_dir("missing");
  std::vector<std::vector<torch::Tensor>> grads(2);
  on_ranks(2, [&](int r) {
    sd::Group group(file_group(dir, r, 2));
    auto a = torch::zeros({3}, torch::kFloat64).requires_grad_(true);
    auto b = torch::zeros({2}, torch::kFloat64).requires_grad_(true);  // never gets a gradient
    if (r == 0) a.mutable_grad() = torch::full({3}, 4.0, torch::kFloat64);
    sd::GradientReducer(group, {a, b}).reduce(sd::Reduction::Average);
    grads[r] = {a.grad(), b.grad()};
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(grads[r][0].defined()) << "rank " << r;
    EXPECT_TRUE(torch::equal(grads[r][0], torch::full({3}, 2.0, torch::kFloat64))) << "rank " << r;
    EXPECT_FALSE(grads[r][1].defined()) << "rank " << r;
  }
}

TEST(DataParallel, SumOfScalarsAndBatchSplitErrors) {
  const auto dir = swd_test::fresh_dir("sum");
  std::vector<std::vector<double>> sums(2);
  on_ranks(2, [&](int r) {
    sd::Group group(file_group(dir, r, 2));
    sums[r] = group.sum({1.5 + r, 10.0 * r}, "test sum");
  });
  EXPECT_EQ(sums[0], (std::vector<double>{4.0, 10.0}));
  EXPECT_EQ(sums[1], sums[0]);
  EXPECT_NO_THROW(sd::check_batch_split(64, 2, 4));
  try {
    sd::check_batch_split(100, 3, 2);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("batch size 100"), std::string::npos) << what;
    EXPECT_NE(what.find("world size 3 x accumulate 2 = 6"), std::string::npos) << what;
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(DataParallel, AMissingRankFailsTheRendezvousWithinTheTimeout) {
  sd::GroupOptions o;
  o.rank = 0;
  o.world_size = 2;
  o.master_port = sd::free_port();
  o.timeout = std::chrono::milliseconds(1000);
  const auto start = std::chrono::steady_clock::now();
  try {
    sd::Group group(o);
    FAIL() << "joined a group whose rank 1 never came";
  } catch (const sd::DistError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank 0 of 2: rendezvous"), std::string::npos) << what;
    EXPECT_NE(what.find("1 s"), std::string::npos) << what;
  }
  EXPECT_LT(seconds_since(start), 6.0);  // the timeout, and c10d's polling of the store
}

TEST(DataParallel, AHungRankFailsTheCollectiveWithinTheTimeout) {
  const auto dir = swd_test::fresh_dir("hung");
  std::string error;
  double waited = 0;
  on_ranks(2, [&](int r) {
    sd::Group group(file_group(dir, r, 2, /*timeout_ms=*/1000));
    group.barrier("start");
    if (r == 1) {  // stays silent while rank 0 reduces
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      return;
    }
    auto p = torch::ones({3}, torch::kFloat64).requires_grad_(true);
    p.mutable_grad() = torch::ones({3}, torch::kFloat64);
    sd::GradientReducer reducer(group, {p});
    const auto start = std::chrono::steady_clock::now();
    try {
      reducer.reduce();
    } catch (const sd::DistError& e) {
      error = e.what();
    }
    waited = seconds_since(start);
    EXPECT_THROW(group.barrier("after the failure"), sd::DistError);  // broken for good
  });
  EXPECT_NE(error.find("rank 0 of 2: gradient allreduce failed"), std::string::npos) << error;
  EXPECT_NE(error.find("timeout of 1 s"), std::string::npos) << error;
  EXPECT_GT(waited, 0.5);
  EXPECT_LT(waited, 3.0);
}

TEST(DataParallel, BadGroupOptionsAreRejected) {
  sd::GroupOptions o;
  o.world_size = 2;
  o.rank = 2;
  EXPECT_THROW(sd::Group{o}, std::invalid_argument);
  o.rank = 1;
  o.master_port = 0;  // neither a port nor a store file
  EXPECT_THROW(sd::Group{o}, std::invalid_argument);
}

TEST(DataParallel, ConfigKeys) {
  namespace st = swd::train;
  st::TrainConfig c;
  st::set_config_value(c, "accumulate", "4");
  st::set_config_value(c, "world_size", "2");
  st::set_config_value(c, "master-port", "29500");
  st::set_config_value(c, "dist-timeout", "2.5");
  const auto saved = nlohmann::json::parse(st::config_to_json(c));
  EXPECT_EQ(saved["accumulate"], 4);  // part of the run
  for (const char* key : {"nproc", "rank", "world-size", "master-addr", "master-port", "dist-timeout"}) {
    EXPECT_TRUE(st::config_key_is_launch(key)) << key;
    EXPECT_FALSE(saved.contains(key)) << key;  // a launch setting, not part of the run
  }
  EXPECT_FALSE(st::config_key_is_launch("accumulate"));
  const auto options = st::group_options(c);
  EXPECT_EQ(options.world_size, 2);
  EXPECT_EQ(options.master_port, 29500);
  EXPECT_EQ(options.timeout.count(), 2500);
  EXPECT_THROW(st::set_config_value(c, "accumulate", "0"), st::ConfigError);
  EXPECT_THROW(st::set_config_value(c, "nproc", "-1"), st::ConfigError);
  EXPECT_THROW(st::set_config_value(c, "master-port", "70000"), st::ConfigError);
  EXPECT_THROW(st::set_config_value(c, "dist-timeout", "0"), st::ConfigError);
}

}  // namespace
