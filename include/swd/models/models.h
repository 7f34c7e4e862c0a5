#pragma once
// The model zoo: a small MLP and CNN for (Fashion-)MNIST, and the paper's CIFAR variants of
// ResNet-18/34, VGG-16, DenseNet-121 and GoogLeNet (3x3 stem, no max-pool). Every model adapts
// to the input's channels and size. Architectures, minimum sizes and how they are checked
// against the PyTorch reference definitions: docs/MODELS.md.

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace swd {
namespace models {

struct InputSpec {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t classes = 10;
};

/// A classifier: images [N, C, H, W] float32 -> logits [N, classes]. The zoo's models start
/// in train mode (BatchNorm uses batch statistics; call eval() for inference) and their
/// forward throws std::invalid_argument for images whose shape does not fit the InputSpec.
class Classifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  /// The names (as in named_parameters()) of the scale-invariant weights: those whose output
  /// feeds a normalisation layer, so that multiplying one by c > 0 leaves the logits unchanged
  /// (up to BatchNorm's eps), in train mode and in eval mode with running statistics taken on
  /// the same data. Weight decay sets their norm and with it their effective learning rate
  /// (docs/DYNAMICS.md). Models without normalisation have none.
  virtual std::vector<std::string> scale_invariant_parameters() const { return {}; }
};

/// mlp, cnn, resnet18, resnet34, vgg16, densenet121, googlenet.
std::vector<std::string> model_names();

/// A freshly initialised model (LibTorch's default initialisation, drawn from the global
/// generator: call torch::manual_seed first for a reproducible one). Throws
/// std::invalid_argument naming the bad name and the valid ones, or naming the model and
/// the bad value for channels or classes < 1 or a size below min_input_size(name).
std::shared_ptr<Classifier> make_model(const std::string& name, const InputSpec& input);

/// The smallest height and width the model `name` accepts: make_model and forward throw
/// std::invalid_argument below it. mlp and cnn take images of exactly the InputSpec's size;
/// the other models take any size from this minimum up (global average pooling).
int64_t min_input_size(const std::string& name);

/// Number of trainable parameters (elements).
int64_t count_parameters(const torch::nn::Module& model);

}  // namespace models
}  // namespace swd
