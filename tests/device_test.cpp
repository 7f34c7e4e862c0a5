// --device and --precision (train/device.h): the device's resolution and its errors, autocast,
// device-independent checkpoints, bf16 training, and the same on CUDA where a GPU is present.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "swd/config/config.h"
#include "swd/models/models.h"
#include "swd/optim/compat.h"
#include "swd/run/checkpoint.h"
#include "swd/run/metrics.h"
#include "swd/train/device.h"
#include "swd/train/optimizer_factory.h"
#include "swd/train/trainer.h"

namespace fs = std::filesystem;
namespace st = swd::train;
using swd_test::fresh_dir;
using swd_test::run_swd;
using swd_test::slurp;

namespace {

bool have_cuda() { return torch::cuda::is_available(); }

const std::string kSmall =
    " --dataset synthetic --synthetic-train 512 --synthetic-test 128 --synthetic-size 8"
    " --model mlp --batch-size 64 --threads 1 --progress none";

TEST(Device, SpecsOfTheRightFormAreAccepted) {
  for (const char* ok : {"auto", "cpu", "cuda", "cuda:0", "cuda:12"}) {
    EXPECT_NO_THROW(st::check_device_spec(ok)) << ok;
  }
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cpu:0", "mps"}) {
    try {
      st::check_device_spec(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const st::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cuda:N"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, ResolvesToWhatExists) {
  EXPECT_EQ(st::resolve_device("cpu"), c10::Device(c10::kCPU));
  const auto gpus = have_cuda() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    EXPECT_EQ(st::resolve_device("auto"), c10::Device(c10::kCPU));
    EXPECT_EQ(st::resolve_device("auto", 3), c10::Device(c10::kCPU));
  } else {
    EXPECT_EQ(st::resolve_device("auto"), c10::Device(c10::kCUDA, 0));
    EXPECT_EQ(st::resolve_device("cuda", gpus + 1), c10::Device(c10::kCUDA, 1 % gpus));  // local rank
  }
  // An index beyond the device count is an error naming the value and what exists.
  const std::string beyond = "cuda:" + std::to_string(gpus);
  try {
    st::resolve_device(beyond);
    ADD_FAILURE() << beyond << " was accepted";
  } catch (const st::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(beyond), std::string::npos) << what;
    EXPECT_NE(what.find(gpus == 0 ? "CUDA" : "CUDA device"), std::string::npos) << what;
  }
  if (gpus == 0) {
    try {
      st::resolve_device("cuda");
      ADD_FAILURE() << "cuda was accepted without a CUDA device";
    } catch (const st::ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("--device cuda"), std::string::npos) << what;
      EXPECT_TRUE(what.find("no CUDA support") != std::string::npos ||
                  what.find("sees no CUDA device") != std::string::npos)
          << what;
    }
  }
}

TEST(Device, NamesTheDevice) {
  EXPECT_EQ(st::device_name(c10::Device(c10::kCPU)).rfind("CPU", 0), 0u);
  if (have_cuda()) EXPECT_FALSE(st::device_name(c10::Device(c10::kCUDA, 0)).empty());
}

TEST(Device, CliErrorsAreOneLineWithStatusTwoAndWriteNothing) {
  const auto dir = fresh_dir("device-errors");
  const auto gpus = have_cuda() ? torch::cuda::device_count() : 0;
  std::vector<std::pair<std::string, std::string>> cases = {
      {"--device gpu", "'gpu'"},
      {"--device cuda:" + std::to_string(gpus + 6), "cuda:" + std::to_string(gpus + 6)},
      {"--precision fp16", "'fp16'"},
  };
  if (gpus == 0) cases.push_back({"--device cuda", "--device cuda"});
  for (const auto& [args, expected] : cases) {
    const auto r = run_swd("train" + kSmall + " " + args + " --out " + dir + "/x");
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << "\n" << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir + "/x")) << args;
  }
}

TEST(Device, ConfigJsonRecordsTheDeviceAndItsName) {
  const auto out = fresh_dir("device-record") + "/run";
  const auto r = run_swd("train" + kSmall + " --epochs 1 --device cpu --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto config = nlohmann::json::parse(slurp(out + "/config.json"));
  EXPECT_EQ(config["device"], "cpu");
  EXPECT_EQ(config["precision"], "fp32");
  EXPECT_EQ(config["derived"]["device"], "cpu");
  EXPECT_EQ(config["derived"]["device_name"].get<std::string>().rfind("CPU", 0), 0u);
  // The device may change when resuming (checkpoints are device-independent).
  const auto resumed = run_swd("train --resume --device auto --epochs 2 --progress none --out " + out);
  EXPECT_EQ(resumed.status, 0) << resumed.output;
}

// ---- Autocast --------------------------------------------------------------------------------

TEST(Precision, Bf16AutocastOnTheCpuOnlyInsideTheGuard) {
  torch::nn::Linear linear(8, 4);
  const auto x = torch::randn({2, 8});
  {
    st::AutocastGuard autocast(c10::Device(c10::kCPU), st::Precision::BF16);
    EXPECT_EQ(linear->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(linear->forward(x).scalar_type(), torch::kFloat);
  {
    st::AutocastGuard fp32(c10::Device(c10::kCPU), st::Precision::FP32);
    EXPECT_EQ(linear->forward(x).scalar_type(), torch::kFloat);
  }
}

st::TrainConfig small_config(const std::string& out, const std::string& precision,
                             const std::string& device = "cpu") {
  st::TrainConfig c;
  c.dataset = "synthetic";
  c.synthetic_train = 1024;
  c.synthetic_test = 256;
  c.synthetic_size = 12;
  c.model = "cnn-bn";
  c.optimizer = "adams";
  c.batch_size = 64;
  c.epochs = 3;
  c.threads = 1;
  c.progress = st::ProgressMode::None;
  c.out = out;
  c.precision = st::precision_from_string(precision);
  c.device = device;
  return c;
}

// bf16 trains: the loss falls and stays finite, the weights stay float32, and the first
// epoch's loss is the fp32 run's within 2% (bfloat16 keeps 8 bits of mantissa: each product's
// relative error is at most 2^-8 ~ 0.4%; the tolerance leaves room for their sum over an epoch).
TEST(Precision, Bf16TrainsAndStaysCloseToFp32) {
  const auto dir = fresh_dir("bf16");
  const auto fp32 = st::run_training(small_config(dir + "/fp32", "fp32"));
  const auto bf16 = st::run_training(small_config(dir + "/bf16", "bf16"));
  ASSERT_EQ(bf16.epochs.size(), 3u);
  for (const auto& m : bf16.epochs) EXPECT_TRUE(std::isfinite(m.train_loss) && std::isfinite(m.test_loss));
  EXPECT_LT(bf16.epochs.back().train_loss, bf16.epochs.front().train_loss);
  const double a = fp32.epochs.front().train_loss, b = bf16.epochs.front().train_loss;
  EXPECT_LT(std::abs(a - b) / a, 0.02) << "fp32 " << a << ", bf16 " << b;
  EXPECT_NE(a, b);  // bf16 did run in bfloat16
  // The weights written (float32 only: the checkpoint format has no bfloat16) reload.
  auto model = swd::models::make_model("cnn-bn", {1, 12, 12, 10});
  auto opt = st::make_optimizer_for("adams", st::default_hyper("adams"),
                                    *model, false);
  EXPECT_NO_THROW(swd::run::load_checkpoint(dir + "/bf16/checkpoint.pt", *model, *opt));
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

// ---- Device-independent checkpoints ------------------------------------------------------------

struct Trained {
  std::shared_ptr<swd::models::Classifier> model;
  std::unique_ptr<swd::optim::OptimizerBase> optimizer;
};

Trained make_on(const c10::Device& device) {
  torch::manual_seed(7);
  Trained t;
  t.model = swd::models::make_model("mlp", {1, 8, 8, 10});
  t.model->to(device);
  t.optimizer = st::make_optimizer_for(
      "adams", st::default_hyper("adams"), *t.model, false);
  return t;
}

void train_steps(Trained& t, const c10::Device& device, int steps) {
  torch::manual_seed(8);
  for (int i = 0; i < steps; ++i) {
    const auto x = torch::randn({16, 1, 8, 8}).to(device);
    const auto y = torch::randint(10, {16}, torch::kLong).to(device);
    t.optimizer->zero_grad();
    torch::nn::functional::cross_entropy(t.model->forward(x), y).backward();
    t.optimizer->step();
  }
}

/// Every model tensor and optimizer state tensor of `t`, on the CPU, by name.
std::map<std::string, torch::Tensor> everything(const Trained& t) {
  std::map<std::string, torch::Tensor> all;
  for (const auto& p : t.model->named_parameters()) all["model/" + p.key()] = p.value().detach().cpu();
  for (const auto& b : t.model->named_buffers()) all["model/" + b.key()] = b.value().cpu();
  for (const auto& p : t.optimizer->export_state().params) {
    for (const auto& [field, tensor] : p.tensors) {
      all["opt/" + std::to_string(p.group) + "/" + std::to_string(p.index) + "/" + field] = tensor.cpu();
    }
  }
  return all;
}

/// Saves on `from`, loads into a fresh model and optimizer on `to`: every tensor is on `to`
/// and holds the saved value; one more step gives the same parameters on both.
void expect_moves(const c10::Device& from, const c10::Device& to) {
  const auto path = fresh_dir("ckpt-move") + "/checkpoint.pt";
  auto saved = make_on(from);
  train_steps(saved, from, 3);
  swd::run::CheckpointInfo info;
  info.config_json = "{}";
  swd::run::save_checkpoint(path, *saved.model, *saved.optimizer, info);
  auto loaded = make_on(to);
  swd::run::load_checkpoint(path, *loaded.model, *loaded.optimizer);
  for (const auto& p : loaded.model->parameters()) EXPECT_EQ(p.device(), to);
  const auto record = loaded.optimizer->export_state();
  ASSERT_FALSE(record.params.empty());
  for (const auto& p : record.params) {
    for (const auto& [field, tensor] : p.tensors) EXPECT_EQ(tensor.device(), to) << field;
  }
  const auto a = everything(saved), b = everything(loaded);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  if (from == to) {  // the same arithmetic continues bitwise
    train_steps(saved, from, 1);
    train_steps(loaded, to, 1);
    const auto c = everything(saved), d = everything(loaded);
    for (const auto& [name, tensor] : c) EXPECT_TRUE(torch::equal(tensor, d.at(name))) << name;
  }
}

TEST(DeviceCheckpoint, CpuToCpuRestoresEveryTensorOntoTheRunsDevice) {
  expect_moves(c10::Device(c10::kCPU), c10::Device(c10::kCPU));
}

TEST(DeviceCheckpoint, CudaToCpuAndBackWhereAGpuIsPresent) {
  if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
  expect_moves(c10::Device(c10::kCUDA, 0), c10::Device(c10::kCPU));
  expect_moves(c10::Device(c10::kCPU), c10::Device(c10::kCUDA, 0));
  expect_moves(c10::Device(c10::kCUDA, 0), c10::Device(c10::kCUDA, 0));
}

// A run on CUDA resumed on the CPU continues from the same numbers; its first epoch's training
// loss matches a CPU run's within 1e-4 (float32 kernels differ in summation order).
TEST(DeviceCheckpoint, RunOnCudaResumesOnTheCpuWhereAGpuIsPresent) {
  if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
  const auto dir = fresh_dir("cuda-resume");
  auto cuda = small_config(dir + "/cuda", "fp32", "cuda");
  cuda.epochs = 1;
  const auto first = st::run_training(cuda);
  const auto cpu = st::run_training(small_config(dir + "/cpu", "fp32", "cpu"));
  EXPECT_NEAR(first.epochs[0].train_loss, cpu.epochs[0].train_loss, 1e-4 * cpu.epochs[0].train_loss);
  auto resumed = st::resume_config(dir + "/cuda", {{"device", "cpu"}, {"epochs", "2"}});
  const auto second = st::run_training(resumed);
  ASSERT_EQ(second.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(second.epochs[1].train_loss));
}

TEST(Precision, Bf16TrainsOnCudaWhereAGpuIsPresent) {
  if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
  const auto dir = fresh_dir("bf16-cuda");
  const auto fp32 = st::run_training(small_config(dir + "/fp32", "fp32", "cuda"));
  const auto bf16 = st::run_training(small_config(dir + "/bf16", "bf16", "cuda"));
  EXPECT_LT(bf16.epochs.back().train_loss, bf16.epochs.front().train_loss);
  const double a = fp32.epochs.front().train_loss, b = bf16.epochs.front().train_loss;
  EXPECT_LT(std::abs(a - b) / a, 0.02) << "fp32 " << a << ", bf16 " << b;
}

// --channels-last: the conv weights (and their optimizer state) take the NHWC layout, the
// function computed is the same up to rounding, and a resumed run continues bitwise.
TEST(ChannelsLast, WeightsChangeLayoutNotFunction) {
  torch::manual_seed(0);
  auto plain = swd::models::make_model("cnn-bn", {1, 12, 12, 10});
  torch::manual_seed(0);
  auto nhwc = swd::models::make_model("cnn-bn", {1, 12, 12, 10});
  st::use_channels_last(*nhwc);
  int64_t four_d = 0;
  for (const auto& p : nhwc->parameters()) {
    if (p.dim() != 4) continue;
    ++four_d;
    EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
  }
  EXPECT_EQ(four_d, 2);  // cnn-bn's two convolutions
  const auto images = torch::randn({16, 3, 12, 12}).narrow(1, 0, 1).contiguous();
  const auto a = st::forward_with(*plain, images, torch::kCPU, st::Precision::FP32, false);
  const auto b = st::forward_with(*nhwc, images, torch::kCPU, st::Precision::FP32, true);
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-4 * a.abs().max().item<double>());
}

TEST(ChannelsLast, TrainsLikeThePlainLayoutAndResumesBitwise) {
  const auto dir = fresh_dir("channels-last");
  const std::string args =
      "train --dataset synthetic --synthetic-train 256 --synthetic-test 64 --synthetic-size 8"
      " --synthetic-channels 3 --model resnet8 --batch-size 64 --threads 1 --progress none"
      " --optimizer adams --seed 2 --out ";
  ASSERT_EQ(run_swd(args + dir + "/plain --epochs 2").status, 0);
  const auto straight = run_swd(args + dir + "/straight --epochs 2 --channels-last");
  ASSERT_EQ(straight.status, 0) << straight.output;
  ASSERT_EQ(run_swd(args + dir + "/split --epochs 1 --channels-last").status, 0);
  const auto resumed = run_swd("train --resume --epochs 2 --progress none --out " + dir + "/split");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  const auto nhwc = swd::run::parse_metrics_csv(slurp(dir + "/straight/metrics.csv"));
  const auto split = swd::run::parse_metrics_csv(slurp(dir + "/split/metrics.csv"));
  const auto plain = swd::run::parse_metrics_csv(slurp(dir + "/plain/metrics.csv"));
  ASSERT_EQ(nhwc.size(), 2u);
  ASSERT_EQ(split.size(), 2u);
  ASSERT_EQ(plain.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(nhwc[e].train_loss, split[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(nhwc[e].test_loss, split[e].test_loss) << "epoch " << e + 1;
    EXPECT_EQ(nhwc[e].weight_norm, split[e].weight_norm) << "epoch " << e + 1;
  }
  // Convolutions in another layout round differently; the first epoch agrees closely.
  EXPECT_LT(std::abs(nhwc[0].train_loss - plain[0].train_loss) / plain[0].train_loss, 1e-3);
  const auto config = nlohmann::json::parse(slurp(dir + "/straight/config.json"));
  EXPECT_EQ(config.at("channels-last"), true);
}

}  // namespace
