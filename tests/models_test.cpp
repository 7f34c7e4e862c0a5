// The model zoo: parameter counts and logits against scripts/model_param_counts.py (the
// kuangliu reference definitions in PyTorch), output shapes, input checks, train/eval
// behaviour, seeded initialisation and serialisation.
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "swd/models/models.h"
#include "swd/optim/param_groups.h"

namespace {

namespace sm = swd::models;

const sm::InputSpec kFashion{1, 28, 28, 10};
const sm::InputSpec kCifar10{3, 32, 32, 10};
const sm::InputSpec kCifar100{3, 32, 32, 100};

struct Reference {
  const char* name;
  sm::InputSpec input;
  int64_t parameters;  // trainable elements
  int64_t tensors;     // trainable parameter tensors
  int64_t no_decay;    // elements of biases and BatchNorm parameters
};

// Printed by `/usr/bin/python3 scripts/model_param_counts.py`.
const Reference kReferences[] = {
    {"mlp", kFashion, 269322, 6, 522},
    {"cnn", kFashion, 421642, 8, 234},
    {"resnet18", kCifar10, 11173962, 62, 9610},
    {"resnet34", kCifar10, 21282122, 110, 17034},
    {"vgg16", kCifar10, 14728266, 54, 12682},
    {"densenet121", kCifar10, 6956298, 362, 83530},
    {"googlenet", kCifar10, 6166250, 258, 23722},
    {"mlp-bn", kFashion, 269834, 8, 1034},
    {"cnn-bn", kFashion, 421866, 11, 458},
    {"resnet8", kCifar10, 75290, 23, 490},
    {"resnet14", kCifar10, 172506, 41, 938},
    {"resnet20", kCifar10, 269722, 59, 1386},  // He et al. 2016: 0.27M
    {"resnet32", kCifar10, 464154, 95, 2282},
    {"resnet44", kCifar10, 658586, 131, 3178},
    {"resnet56", kCifar10, 853018, 167, 4074},
};

const std::vector<std::string> kNames = {
    "mlp",       "cnn",      "mlp-bn",   "cnn-bn",   "resnet18", "resnet34", "vgg16",   "densenet121",
    "googlenet", "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56"};

bool has_batchnorm(const std::string& name) { return name != "mlp" && name != "cnn"; }

/// mlp and cnn (and their BatchNorm variants) flatten a feature map: exactly one input size.
bool fixed_size(const std::string& name) {
  return name == "mlp" || name == "cnn" || name == "mlp-bn" || name == "cnn-bn";
}

/// The message of the std::invalid_argument `f` throws ("" and a test failure if none).
template <typename F>
std::string invalid_argument_message(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

torch::Tensor images_for(const sm::InputSpec& in, int64_t batch) {
  return torch::randn({batch, in.channels, in.height, in.width});
}

TEST(ModelZoo, NamesAreTheZoosModelsInOrder) { EXPECT_EQ(sm::model_names(), kNames); }

TEST(ModelZoo, UnknownNameNamesTheBadValueAndTheValidOnes) {
  const auto message = invalid_argument_message([] { sm::make_model("resnet50", kCifar10); });
  EXPECT_NE(message.find("'resnet50'"), std::string::npos) << message;
  for (const auto& name : kNames) EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_THROW(sm::min_input_size("ResNet18"), std::invalid_argument);
}

TEST(ModelZoo, InvalidSpecIsRejected) {
  auto message = invalid_argument_message([] { sm::make_model("vgg16", {0, 32, 32, 10}); });
  EXPECT_NE(message.find("vgg16: invalid channels 0"), std::string::npos) << message;
  message = invalid_argument_message([] { sm::make_model("mlp", {1, 28, 28, 0}); });
  EXPECT_NE(message.find("mlp: invalid classes 0"), std::string::npos) << message;
}

TEST(ModelZoo, CountParametersSkipsFrozenParameters) {
  auto model = sm::make_model("mlp", kFashion);
  const int64_t all = sm::count_parameters(*model);
  auto first = model->parameters().front();
  first.set_requires_grad(false);
  EXPECT_EQ(sm::count_parameters(*model), all - first.numel());
}

class ModelEach : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Models, ModelEach, ::testing::ValuesIn(kNames),
                         [](const auto& info) {  // test names: letters, digits, '_'
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_P(ModelEach, ParameterCountsMatchTheReference) {
  const auto ref = std::find_if(std::begin(kReferences), std::end(kReferences),
                                [](const Reference& r) { return r.name == GetParam(); });
  ASSERT_NE(ref, std::end(kReferences));
  auto model = sm::make_model(GetParam(), ref->input);
  EXPECT_EQ(sm::count_parameters(*model), ref->parameters);
  EXPECT_EQ(static_cast<int64_t>(model->parameters().size()), ref->tensors);
  // swd's decay split sees exactly the reference's biases and BatchNorm parameters.
  const auto split = swd::optim::split_parameters_for_decay(*model);
  int64_t no_decay = 0;
  for (const auto& p : split.no_decay) no_decay += p.numel();
  EXPECT_EQ(no_decay, ref->no_decay);
  EXPECT_EQ(split.decay.size() + split.no_decay.size(), model->parameters().size());
}

/// scripts/model_param_counts.py's golden_fill: parameter k, element i gets
/// v = sin(0.37 k + 0.91 i + 1e-5 i^2), / sqrt(fan-in) with 2+ dims, 0.5 v with 1 dim; image
/// element j is sin(0.61 j + 1.3e-3 j^2). float64, rounded to float32.
torch::Tensor golden_fill(torch::nn::Module& model, const std::vector<int64_t>& image_shape) {
  torch::NoGradGuard no_grad;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  int64_t k = 0;
  for (auto& p : model.parameters()) {
    const auto i = torch::arange(p.numel(), f64);
    auto values = torch::sin(0.37 * static_cast<double>(k++) + i * 0.91 + i * 1e-5 * i);
    values = p.dim() >= 2 ? values / std::sqrt(static_cast<double>(p.numel() / p.size(0)))
                          : values * 0.5;
    p.copy_(values.reshape(p.sizes()).to(torch::kFloat32));
  }
  int64_t n = 1;
  for (auto d : image_shape) n *= d;
  const auto j = torch::arange(n, f64);
  return torch::sin(j * 0.61 + j * 1.3e-3 * j).reshape(image_shape).to(torch::kFloat32);
}

torch::Tensor from_json(const nlohmann::json& rows) {
  std::vector<double> flat;
  for (const auto& row : rows) {
    for (const auto& v : row) flat.push_back(v.get<double>());
  }
  return torch::tensor(flat, torch::kFloat64).reshape({static_cast<int64_t>(rows.size()), -1});
}

TEST_P(ModelEach, LogitsMatchTheReferenceModelForTheSameParameters) {
  // tests/golden/models.json: the PyTorch reference's logits, train mode then eval mode.
  std::ifstream file(SWD_TEST_DATA_DIR "/golden/models.json");
  ASSERT_TRUE(file) << SWD_TEST_DATA_DIR "/golden/models.json";
  const auto golden = nlohmann::json::parse(file);
  const auto entry = std::find_if(golden["models"].begin(), golden["models"].end(),
                                  [](const auto& m) { return m["name"] == GetParam(); });
  ASSERT_NE(entry, golden["models"].end());
  const auto shape = (*entry)["images"].get<std::vector<int64_t>>();
  auto model = sm::make_model(GetParam(), {shape[1], shape[2], shape[3], (*entry)["classes"]});
  const auto images = golden_fill(*model, shape);

  torch::NoGradGuard no_grad;
  for (const char* mode : {"train_logits", "eval_logits"}) {
    if (std::string(mode) == "eval_logits") model->eval();
    const auto expected = from_json((*entry)[mode]);
    const auto actual = model->forward(images).to(torch::kFloat64);
    ASSERT_EQ(actual.sizes(), expected.sizes()) << mode;
    // float32 through up to 120 layers: agreement to 1e-4 of the largest logit.
    const double scale = std::max(1.0, expected.abs().max().item<double>());
    EXPECT_LE((actual - expected).abs().max().item<double>(), 1e-4 * scale) << mode;
  }
}

TEST_P(ModelEach, LogitsHaveShapeBatchByClassesAndEveryParameterGetsAGradient) {
  torch::manual_seed(0);
  for (const auto& in : {kFashion, kCifar100}) {
    auto model = sm::make_model(GetParam(), in);
    const auto logits = model->forward(images_for(in, 2));
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, in.classes}))
        << in.channels << "x" << in.height << "x" << in.width;
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    logits.square().sum().backward();
    for (const auto& p : model->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key() << " is not used by forward";
    }
  }
}

TEST_P(ModelEach, WorksAtItsMinimumSizeAndRejectsSmallerInputs) {
  const auto name = GetParam();
  const int64_t min = sm::min_input_size(name);
  ASSERT_GE(min, 1);
  const sm::InputSpec smallest{2, min, min + 3, 5};
  auto model = sm::make_model(name, smallest);
  EXPECT_EQ(model->forward(images_for(smallest, 2)).sizes(), (std::vector<int64_t>{2, 5}));

  const auto message = invalid_argument_message([&] { sm::make_model(name, {2, min - 1, 28, 5}); });
  const std::string expected = name + ": input size " + std::to_string(min - 1) +
                               "x28 is too small (minimum " + std::to_string(min) + "x" +
                               std::to_string(min) + ")";
  EXPECT_EQ(message, expected);
  EXPECT_THROW(sm::make_model(name, {2, 28, min - 1, 5}), std::invalid_argument);
}

TEST_P(ModelEach, ForwardRejectsImagesThatDoNotFitTheSpec) {
  const auto name = GetParam();
  auto model = sm::make_model(name, kFashion);
  auto message = invalid_argument_message([&] { model->forward(torch::randn({2, 3, 28, 28})); });
  EXPECT_EQ(message.rfind(name + ": expected images [N, 1, ", 0), 0u) << message;
  EXPECT_NE(message.find("got [2, 3, 28, 28]"), std::string::npos) << message;
  EXPECT_THROW(model->forward(torch::randn({2, 28, 28})), std::invalid_argument);

  const auto larger = torch::randn({2, 1, 40, 36});
  if (fixed_size(name)) {
    // A flatten layer fixes the size.
    EXPECT_THROW(model->forward(larger), std::invalid_argument);
  } else {
    // Global average pooling takes any size from the minimum up.
    EXPECT_EQ(model->forward(larger).sizes(), (std::vector<int64_t>{2, 10}));
    const int64_t min = sm::min_input_size(name);
    if (min > 1) {
      EXPECT_THROW(model->forward(torch::randn({2, 1, min - 1, 28})), std::invalid_argument);
    }
  }
}

TEST_P(ModelEach, TrainsByDefaultAndBatchNormSwitchesWithEval) {
  torch::manual_seed(1);
  auto model = sm::make_model(GetParam(), kFashion);
  for (const auto& module : model->modules()) EXPECT_TRUE(module->is_training());
  const auto x = images_for(kFashion, 4) * 3 + 1;  // far from BN's initial running stats

  torch::NoGradGuard no_grad;
  auto buffers = [&] {
    std::vector<torch::Tensor> copies;
    for (const auto& b : model->buffers()) copies.push_back(b.clone());
    return copies;
  };
  const auto before = buffers();
  const auto train_logits = model->forward(x);
  const auto after_train = buffers();
  model->eval();
  for (const auto& module : model->modules()) EXPECT_FALSE(module->is_training());
  const auto eval_logits = model->forward(x);
  const auto after_eval = buffers();
  // In eval mode a sample's logits do not depend on the rest of its batch.
  EXPECT_TRUE(torch::allclose(model->forward(x.slice(0, 0, 1)), eval_logits.slice(0, 0, 1),
                              1e-4, 1e-5));

  ASSERT_EQ(before.size(), after_eval.size());
  bool train_changed_buffers = false;
  for (size_t i = 0; i < before.size(); ++i) {
    train_changed_buffers |= !torch::equal(before[i], after_train[i]);
    EXPECT_TRUE(torch::equal(after_train[i], after_eval[i])) << "eval() updated buffer " << i;
  }
  const double gap = (train_logits - eval_logits).abs().max().item<double>();
  if (has_batchnorm(GetParam())) {
    EXPECT_FALSE(before.empty());
    EXPECT_TRUE(train_changed_buffers) << "train() did not update the running statistics";
    EXPECT_GT(gap, 1e-3) << "train and eval mode gave the same logits";
  } else {
    EXPECT_TRUE(before.empty());
    EXPECT_EQ(gap, 0.0);
  }
}

TEST_P(ModelEach, SameSeedGivesIdenticalInitialParameters) {
  auto make = [&](uint64_t seed) {
    torch::manual_seed(seed);
    return sm::make_model(GetParam(), kFashion);
  };
  const auto a = make(7)->parameters();
  const auto b = make(7)->parameters();
  const auto c = make(8)->parameters();
  ASSERT_EQ(a.size(), b.size());
  bool any_differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
    any_differs |= !torch::equal(a[i], c[i]);
  }
  EXPECT_TRUE(any_differs) << "seeds 7 and 8 gave the same initial parameters";
}

TEST_P(ModelEach, StateRoundTripsThroughSaveAndLoad) {
  torch::manual_seed(3);
  auto trained = sm::make_model(GetParam(), kFashion);
  const auto x = images_for(kFashion, 2);
  trained->forward(x);  // moves BatchNorm's running statistics off their initial values
  trained->eval();
  torch::serialize::OutputArchive out;
  trained->save(out);
  std::ostringstream bytes;
  out.save_to(bytes);

  auto restored = sm::make_model(GetParam(), kFashion);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  restored->load(archive);
  restored->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(restored->forward(x), trained->forward(x)));
}

}  // namespace
