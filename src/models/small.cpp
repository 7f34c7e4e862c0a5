// The registry, the input checks every model shares, and the small models (mlp, cnn, and
// their BatchNorm variants mlp-bn, cnn-bn).
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <sstream>
#include <stdexcept>
#include <utility>

#include "zoo.h"

namespace swd {
namespace models {
namespace detail {
namespace {

[[noreturn]] void fail(const std::ostringstream& message) {
  throw std::invalid_argument(message.str());
}

/// channels, classes >= 1 and height, width >= the model's minimum.
void check_spec(const ModelInfo& info, const InputSpec& input) {
  const std::pair<const char*, int64_t> counts[] = {{"channels", input.channels},
                                                    {"classes", input.classes}};
  for (const auto& [field, value] : counts) {
    if (value < 1) {
      std::ostringstream m;
      m << info.name << ": invalid " << field << " " << value << " (expected " << field
        << " >= 1)";
      fail(m);
    }
  }
  if (input.height < info.min_size || input.width < info.min_size) {
    std::ostringstream m;
    m << info.name << ": input size " << input.height << "x" << input.width
      << " is too small (minimum " << info.min_size << "x" << info.min_size << ")";
    fail(m);
  }
}

}  // namespace

ZooModel::ZooModel(ModelInfo info, const InputSpec& input)
    : info_(std::move(info)), input_(input) {
  check_spec(info_, input_);
}

std::vector<std::string> conv_weights(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& item : module.named_parameters()) {
    if (item.value().dim() == 4) names.push_back(item.key());
  }
  return names;
}

torch::Tensor ZooModel::forward(torch::Tensor images) {
  // [N, C, H, W] with the spec's C, and H, W as the spec's (fixed_size) or >= min_size.
  bool ok = images.dim() == 4 && images.size(1) == input_.channels;
  if (ok && info_.fixed_size) {
    ok = images.size(2) == input_.height && images.size(3) == input_.width;
  } else if (ok) {
    ok = images.size(2) >= info_.min_size && images.size(3) >= info_.min_size;
  }
  if (!ok) {
    std::ostringstream m;
    m << info_.name << ": expected images [N, " << input_.channels << ", ";
    if (info_.fixed_size) {
      m << input_.height << ", " << input_.width << "]";
    } else {
      m << "H, W] with H, W >= " << info_.min_size;
    }
    m << ", got " << images.sizes();
    fail(m);
  }
  return logits(images);
}

namespace {

/// mlp: flatten -> linear 256 -> ReLU -> linear 256 -> ReLU -> linear classes.
/// mlp-bn: the same with BatchNorm after each hidden linear layer (linear -> BN -> ReLU); a
/// layer followed by BatchNorm has no bias (BatchNorm's own shift takes its place), so its
/// weights are scale-invariant.
class MLP : public ZooModel {
 public:
  static constexpr int64_t kHidden = 256;

  MLP(const ModelInfo& info, const InputSpec& in, bool batchnorm) : ZooModel(info, in) {
    using torch::nn::LinearOptions;
    const int64_t features = in.channels * in.height * in.width;
    fc1 = register_module("fc1", torch::nn::Linear(LinearOptions(features, kHidden).bias(!batchnorm)));
    if (batchnorm) bn1 = register_module("bn1", torch::nn::BatchNorm1d(kHidden));
    fc2 = register_module("fc2", torch::nn::Linear(LinearOptions(kHidden, kHidden).bias(!batchnorm)));
    if (batchnorm) bn2 = register_module("bn2", torch::nn::BatchNorm1d(kHidden));
    fc3 = register_module("fc3", torch::nn::Linear(kHidden, in.classes));
  }

  /// mlp-bn: fc1 and fc2 feed bn1 and bn2; fc3 gives the logits. mlp: none.
  std::vector<std::string> scale_invariant_parameters() const override {
    if (!bn1) return {};
    return {"fc1.weight", "fc2.weight"};
  }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    auto x = torch::relu(normalised(bn1, fc1(images.flatten(1))));
    return fc3(torch::relu(normalised(bn2, fc2(x))));
  }

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr}, bn2{nullptr};
};

/// cnn: conv 32 3x3 (padding 1) -> ReLU -> max-pool 2 -> conv 64 3x3 (padding 1) -> ReLU ->
/// max-pool 2 -> flatten -> linear 128 -> ReLU -> linear classes. No BatchNorm: the plain case
/// where weight decay acts on every weight as a regulariser, and train() and eval() compute
/// the same function.
/// cnn-bn: the same with BatchNorm after each conv and the hidden linear layer (conv -> BN ->
/// ReLU -> max-pool), those layers without bias: the case where weight decay mostly sets the
/// effective learning rate of scale-invariant weights (lr / ||w||^2).
class CNN : public ZooModel {
 public:
  CNN(const ModelInfo& info, const InputSpec& in, bool batchnorm) : ZooModel(info, in) {
    using torch::nn::Conv2dOptions;
    using torch::nn::LinearOptions;
    conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in.channels, 32, 3).padding(1).bias(!batchnorm)));
    if (batchnorm) bn1 = register_module("bn1", torch::nn::BatchNorm2d(32));
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(32, 64, 3).padding(1).bias(!batchnorm)));
    if (batchnorm) bn2 = register_module("bn2", torch::nn::BatchNorm2d(64));
    // Two floor-mode 2x2 pools: H -> H/2 -> H/4 (hence min_size 4).
    const int64_t features = 64 * (in.height / 4) * (in.width / 4);
    fc1 = register_module("fc1", torch::nn::Linear(LinearOptions(features, 128).bias(!batchnorm)));
    if (batchnorm) bn3 = register_module("bn3", torch::nn::BatchNorm1d(128));
    fc2 = register_module("fc2", torch::nn::Linear(128, in.classes));
  }

  /// cnn-bn: conv1, conv2 and fc1 feed bn1, bn2 and bn3; fc2 gives the logits. cnn: none.
  std::vector<std::string> scale_invariant_parameters() const override {
    if (!bn1) return {};
    return {"conv1.weight", "conv2.weight", "fc1.weight"};
  }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    // relu(max_pool(x)) == max_pool(relu(x)) (ReLU is monotone), on 4x fewer elements: the
    // ReLU and its backward over the full-size maps cost more than the convolutions here.
    auto x = torch::relu(torch::max_pool2d(normalised(bn1, conv1(images)), 2));
    x = torch::relu(torch::max_pool2d(normalised(bn2, conv2(x)), 2));
    return fc2(torch::relu(normalised(bn3, fc1(x.flatten(1)))));
  }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::BatchNorm1d bn3{nullptr};
};

template <typename Model>
Factory factory(bool batchnorm) {
  return [batchnorm](const ModelInfo& info, const InputSpec& in) -> std::shared_ptr<Classifier> {
    return std::make_shared<Model>(info, in, batchnorm);
  };
}

/// Every model, in model_names() order.
const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = [] {
    std::vector<Entry> all = small_models();
    for (auto& entry : cifar_models()) all.push_back(std::move(entry));
    return all;
  }();
  return entries;
}

const Entry& find_entry(const std::string& name, const char* caller) {
  for (const auto& entry : registry()) {
    if (entry.info.name == name) return entry;
  }
  std::ostringstream m;
  m << caller << ": unknown model '" << name << "' (expected one of:";
  for (const auto& entry : registry()) m << " " << entry.info.name;
  m << ")";
  fail(m);
}

}  // namespace

std::vector<Entry> small_models() {
  return {{{"mlp", 1, true}, factory<MLP>(false)},
          {{"cnn", 4, true}, factory<CNN>(false)},
          {{"mlp-bn", 1, true}, factory<MLP>(true)},
          {{"cnn-bn", 4, true}, factory<CNN>(true)}};
}

}  // namespace detail

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : detail::registry()) names.push_back(entry.info.name);
  return names;
}

std::shared_ptr<Classifier> make_model(const std::string& name, const InputSpec& input) {
  const auto& entry = detail::find_entry(name, "swd::models::make_model");
  return entry.make(entry.info, input);
}

int64_t min_input_size(const std::string& name) {
  return detail::find_entry(name, "swd::models::min_input_size").info.min_size;
}

int64_t count_parameters(const torch::nn::Module& model) {
  int64_t total = 0;
  for (const auto& p : model.parameters(/*recurse=*/true)) {
    if (p.requires_grad()) total += p.numel();
  }
  return total;
}

}  // namespace models
}  // namespace swd
