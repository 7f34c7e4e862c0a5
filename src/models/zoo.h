#pragma once
// Shared by the model zoo's translation units: the base every model derives from (it checks
// the images against the InputSpec), and the registry entries each unit contributes.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "swd/models/models.h"

namespace swd {
namespace models {
namespace detail {

/// What the registry and the input checks know about one architecture.
struct ModelInfo {
  std::string name;
  /// Smallest height and width for which every layer's output is non-empty.
  int64_t min_size = 1;
  /// The model flattens a feature map into a linear layer, so images must have exactly the
  /// InputSpec's height and width; otherwise any size >= min_size works (global pooling).
  bool fixed_size = false;
};

/// A model of the zoo: forward() checks the images, then computes logits().
class ZooModel : public Classifier {
 public:
  ZooModel(ModelInfo info, const InputSpec& input);
  torch::Tensor forward(torch::Tensor images) final;

 protected:
  virtual torch::Tensor logits(const torch::Tensor& images) = 0;

 private:
  ModelInfo info_;
  InputSpec input_;
};

/// bn(x), or x where the model has no such BatchNorm layer (an empty holder).
template <typename Norm>
torch::Tensor normalised(Norm& bn, const torch::Tensor& x) {
  return bn ? bn(x) : x;
}

/// The names of `module`'s convolution weights (its 4-D parameters): the scale-invariant
/// parameters of the CIFAR nets, where every convolution feeds a BatchNorm (directly, or, in
/// DenseNet, through concatenations that only BatchNorms read).
std::vector<std::string> conv_weights(const torch::nn::Module& module);

using Factory = std::function<std::shared_ptr<Classifier>(const ModelInfo&, const InputSpec&)>;

struct Entry {
  ModelInfo info;
  Factory make;
};

/// mlp, cnn, mlp-bn, cnn-bn (small.cpp).
std::vector<Entry> small_models();
/// resnet18, resnet34, vgg16, densenet121, googlenet, and He et al.'s resnet8..resnet56
/// (cifar.cpp).
std::vector<Entry> cifar_models();

}  // namespace detail
}  // namespace models
}  // namespace swd
