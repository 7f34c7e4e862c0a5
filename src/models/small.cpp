// The registry, the input checks every model shares, and the two small models (mlp, cnn).
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
class MLP : public ZooModel {
 public:
  static constexpr int64_t kHidden = 256;

  MLP(const ModelInfo& info, const InputSpec& in) : ZooModel(info, in) {
    fc1 = register_module("fc1", torch::nn::Linear(in.channels * in.height * in.width, kHidden));
    fc2 = register_module("fc2", torch::nn::Linear(kHidden, kHidden));
    fc3 = register_module("fc3", torch::nn::Linear(kHidden, in.classes));
  }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    auto x = torch::relu(fc1(images.flatten(1)));
    return fc3(torch::relu(fc2(x)));
  }

 private:
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

/// cnn: conv 32 3x3 (padding 1) -> ReLU -> max-pool 2 -> conv 64 3x3 (padding 1) -> ReLU ->
/// max-pool 2 -> flatten -> linear 128 -> ReLU -> linear classes. No BatchNorm: the small
/// models are the plain case where weight decay acts on every weight as a regulariser (no
/// scale-invariant layers, whose weight norm only sets an effective learning rate), and
/// train() and eval() compute the same function; the CIFAR nets cover BatchNorm.
class CNN : public ZooModel {
 public:
  CNN(const ModelInfo& info, const InputSpec& in) : ZooModel(info, in) {
    using torch::nn::Conv2dOptions;
    conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in.channels, 32, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(32, 64, 3).padding(1)));
    // Two floor-mode 2x2 pools: H -> H/2 -> H/4 (hence min_size 4).
    fc1 = register_module("fc1", torch::nn::Linear(64 * (in.height / 4) * (in.width / 4), 128));
    fc2 = register_module("fc2", torch::nn::Linear(128, in.classes));
  }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    // relu(max_pool(x)) == max_pool(relu(x)) (ReLU is monotone), on 4x fewer elements: the
    // ReLU and its backward over the full-size maps cost more than the convolutions here.
    auto x = torch::relu(torch::max_pool2d(conv1(images), 2));
    x = torch::relu(torch::max_pool2d(conv2(x), 2));
    return fc2(torch::relu(fc1(x.flatten(1))));
  }

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

template <typename Model>
Factory factory() {
  return [](const ModelInfo& info, const InputSpec& in) -> std::shared_ptr<Classifier> {
    return std::make_shared<Model>(info, in);
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
  return {{{"mlp", 1, true}, factory<MLP>()}, {{"cnn", 4, true}, factory<CNN>()}};
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
