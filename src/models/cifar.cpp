// The paper's CIFAR networks, as defined in kuangliu/pytorch-cifar: ResNet-18/34, VGG-16 (BN),
// DenseNet-121 and GoogLeNet; and the CIFAR ResNets of He et al. 2016, resnet8..resnet56.
// Each ends in a global average pool and a linear layer, so any input size from the model's
// minimum up works; on 32x32 inputs the global pool is exactly the
// reference's fixed-size pool, and parameter counts equal the reference's
// (scripts/model_param_counts.py).
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <ATen/TensorIndexing.h>

#include <array>
#include <string>
#include <utility>

#include "zoo.h"

namespace swd {
namespace models {
namespace detail {
namespace {

/// A Sequential that can sit inside another one (LibTorch's Sequential::forward is a
/// template, which its container cannot call).
class ChainImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(const torch::Tensor& x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Chain);

/// conv k x k (stride, padding k/2, optional bias) -> BatchNorm2d [-> ReLU].
class ConvBnImpl : public torch::nn::Module {
 public:
  ConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bias, bool relu)
      : relu_(relu) {
    conv = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                      .stride(stride)
                                      .padding(kernel / 2)
                                      .bias(bias)));
    bn = register_module("bn", torch::nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = bn(conv(x));
    return relu_ ? torch::relu_(y) : y;
  }

 private:
  bool relu_;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBn);

/// BatchNorm2d -> ReLU -> conv k x k (padding k/2, no bias): DenseNet's pre-activation order.
class BnReluConvImpl : public torch::nn::Module {
 public:
  BnReluConvImpl(int64_t in, int64_t out, int64_t kernel) {
    bn = register_module("bn", torch::nn::BatchNorm2d(in));
    conv = register_module(
        "conv", torch::nn::Conv2d(
                    torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return conv(torch::relu(bn(x))); }

 private:
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(BnReluConv);

/// A body and the channels it ends with.
struct Body {
  Chain layers;
  int64_t channels = 0;
};

/// body -> global average pool -> linear classes.
class PooledNet : public ZooModel {
 public:
  template <typename Build>
  PooledNet(const ModelInfo& info, const InputSpec& in, const Build& build)
      : ZooModel(info, in) {  // checks the spec before any layer is built
    Body b = build(in.channels);
    body = register_module("body", b.layers);
    head = register_module("head", torch::nn::Linear(b.channels, in.classes));
  }

  std::vector<std::string> scale_invariant_parameters() const override { return conv_weights(*this); }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    return head(torch::adaptive_avg_pool2d(body->forward(images), {1, 1}).flatten(1));
  }

 private:
  Chain body{nullptr};
  torch::nn::Linear head{nullptr};
};

template <typename Build>
Entry pooled(ModelInfo info, Build build) {
  return {std::move(info), [build](const ModelInfo& i, const InputSpec& in) {
            return std::shared_ptr<Classifier>(std::make_shared<PooledNet>(i, in, build));
          }};
}

// --- ResNet ----------------------------------------------------------------------------------

/// BasicBlock: relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x)); the shortcut is
/// conv1x1 -> BN when the stride or the channel count changes, else the identity.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", ConvBn(in, planes, 3, stride, false, true));
    conv2 = register_module("conv2", ConvBn(planes, planes, 3, 1, false, false));
    if (stride != 1 || in != planes) {
      shortcut = register_module("shortcut", ConvBn(in, planes, 1, stride, false, false));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = conv2(conv1(x));
    out += shortcut ? shortcut(x) : x;
    return torch::relu_(out);
  }

 private:
  ConvBn conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(BasicBlock);

/// 3x3 stem conv 64 -> BN -> ReLU (no max-pool), then stages of BasicBlocks with 64, 128,
/// 256, 512 channels, the first block of stages 2-4 with stride 2. 3x3 convs with stride 2
/// and padding 1 map any size >= 1 to a size >= 1: min_size 1.
Body resnet_body(int64_t channels, const std::array<int, 4>& blocks) {
  Chain layers;
  layers->push_back("stem", ConvBn(channels, 64, 3, 1, false, true));
  int64_t in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t planes = int64_t{64} << stage;
    Chain blocks_of_stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      blocks_of_stage->push_back(BasicBlock(in, planes, stride));
      in = planes;
    }
    layers->push_back("layer" + std::to_string(stage + 1), blocks_of_stage);
  }
  return {layers, in};
}

// --- ResNet for CIFAR (He et al. 2016, section 4.2) ------------------------------------------

/// BasicBlock with the paper's option A shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) +
/// shortcut(x)), where the shortcut is the identity, or, when the block halves the size and
/// doubles the channels, x subsampled with stride 2 and zero-padded with planes/4 channels on
/// each side (no parameters). Sizes stay in step for odd sizes too: ceil(H/2) both ways.
class ShortcutABlockImpl : public torch::nn::Module {
 public:
  ShortcutABlockImpl(int64_t in, int64_t planes, int64_t stride)
      : project_(stride != 1 || in != planes), pad_((planes - in) / 2) {
    using torch::nn::Conv2dOptions;
    conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in, planes, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
    stride_ = stride;
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = bn1(conv1(x));
    auto out = bn2(conv2(torch::relu_(h)));
    if (project_) {
      using torch::indexing::None;
      using torch::indexing::Slice;
      const auto sub = x.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)});
      out += torch::constant_pad_nd(sub, {0, 0, 0, 0, pad_, pad_}, 0);
    } else {
      out += x;
    }
    return torch::relu_(out);
  }

 private:
  bool project_;
  int64_t pad_, stride_ = 1;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(ShortcutABlock);

/// resnet(6n+2): 3x3 conv 16 -> BN -> ReLU, three stages of n blocks with 16, 32, 64
/// channels (the first block of stages 2 and 3 with stride 2), global average pool, linear.
/// Parameter names are those of the usual PyTorch definition (conv1, bn1, layerS.B.conv1, ...,
/// linear). Stride-2 3x3 convs map any size >= 1 to a size >= 1: min_size 1.
class CifarResNet : public ZooModel {
 public:
  CifarResNet(const ModelInfo& info, const InputSpec& in, int blocks) : ZooModel(info, in) {
    using torch::nn::Conv2dOptions;
    conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(in.channels, 16, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(16));
    int64_t planes_in = 16;
    for (int stage = 0; stage < 3; ++stage) {
      const int64_t planes = int64_t{16} << stage;
      Chain layer;
      for (int b = 0; b < blocks; ++b) {
        layer->push_back(ShortcutABlock(planes_in, planes, stage > 0 && b == 0 ? 2 : 1));
        planes_in = planes;
      }
      layers.push_back(register_module("layer" + std::to_string(stage + 1), layer));
    }
    linear = register_module("linear", torch::nn::Linear(planes_in, in.classes));
  }

  std::vector<std::string> scale_invariant_parameters() const override { return conv_weights(*this); }

 protected:
  torch::Tensor logits(const torch::Tensor& images) override {
    auto x = bn1(conv1(images));
    torch::relu_(x);
    for (auto& layer : layers) x = layer->forward(x);
    return linear(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }

 private:
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  std::vector<Chain> layers;
  torch::nn::Linear linear{nullptr};
};

Entry cifar_resnet(int depth) {
  const int blocks = (depth - 2) / 6;
  return {{"resnet" + std::to_string(depth), 1, false},
          [blocks](const ModelInfo& info, const InputSpec& in) -> std::shared_ptr<Classifier> {
            return std::make_shared<CifarResNet>(info, in, blocks);
          }};
}

// --- VGG -------------------------------------------------------------------------------------

constexpr int kPool = 0;  // 'M' in the reference's cfg

/// conv3x3 (with bias) -> BN -> ReLU per number in the cfg, a 2x2 max-pool per 'M'. The pools
/// use ceil mode so that 28x28 inputs work (28 -> 14 -> 7 -> 4 -> 2 -> 1); on 32x32 (any size
/// that stays even) this equals the reference's floor mode. Any size >= 1: min_size 1.
Body vgg16_body(int64_t channels) {
  constexpr int cfg[] = {64,  64,  kPool, 128, 128, kPool, 256, 256, 256,  kPool,
                         512, 512, 512,   kPool, 512, 512, 512, kPool};
  Chain layers;
  int64_t in = channels;
  for (int x : cfg) {
    if (x == kPool) {
      layers->push_back(torch::nn::MaxPool2d(
          torch::nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)));
    } else {
      layers->push_back(ConvBn(in, x, 3, 1, true, true));
      in = x;
    }
  }
  return {layers, in};
}

// --- DenseNet --------------------------------------------------------------------------------

/// Bottleneck: cat([conv3x3(relu(bn(conv1x1(relu(bn(x)))))), x]), 4*growth channels inside.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t in, int64_t growth) {
    reduce = register_module("reduce", BnReluConv(in, 4 * growth, 1));
    grow = register_module("grow", BnReluConv(4 * growth, growth, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::cat({grow(reduce(x)), x}, 1); }

 private:
  BnReluConv reduce{nullptr}, grow{nullptr};
};
TORCH_MODULE(DenseLayer);

/// Transition: avg_pool2d(conv1x1(relu(bn(x))), 2).
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t in, int64_t out) { conv = register_module("conv", BnReluConv(in, out, 1)); }
  torch::Tensor forward(const torch::Tensor& x) { return torch::avg_pool2d(conv(x), {2, 2}); }

 private:
  BnReluConv conv{nullptr};
};
TORCH_MODULE(Transition);

/// 3x3 stem conv (2*growth, no bias), dense blocks of Bottlenecks separated by Transitions
/// to floor(channels * reduction), then BN -> ReLU. Three floor-mode 2x2 average pools:
/// min_size 8.
Body densenet_body(int64_t channels, const std::array<int, 4>& blocks, int64_t growth,
                   double reduction) {
  Chain layers;
  int64_t planes = 2 * growth;
  layers->push_back("stem", torch::nn::Conv2d(
                                torch::nn::Conv2dOptions(channels, planes, 3).padding(1).bias(false)));
  for (size_t stage = 0; stage < blocks.size(); ++stage) {
    Chain dense;
    for (int b = 0; b < blocks[stage]; ++b) {
      dense->push_back(DenseLayer(planes, growth));
      planes += growth;
    }
    layers->push_back("dense" + std::to_string(stage + 1), dense);
    if (stage + 1 < blocks.size()) {
      const auto out = static_cast<int64_t>(planes * reduction);  // floor, as the reference
      layers->push_back("trans" + std::to_string(stage + 1), Transition(planes, out));
      planes = out;
    }
  }
  layers->push_back("bn", torch::nn::BatchNorm2d(planes));
  layers->push_back("relu", torch::nn::ReLU());
  return {layers, planes};
}

// --- GoogLeNet -------------------------------------------------------------------------------

struct InceptionWidths {
  const char* name;
  int64_t n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_planes;
};

/// Four branches, concatenated: conv1x1; conv1x1 -> conv3x3; conv1x1 -> conv3x3 -> conv3x3
/// (the reference's "5x5" branch); max-pool 3x3 (stride 1) -> conv1x1. Every conv has a bias
/// and is followed by BN -> ReLU.
class InceptionImpl : public torch::nn::Module {
 public:
  InceptionImpl(int64_t in, const InceptionWidths& w) {
    b1 = register_module("b1", Chain(ConvBn(in, w.n1x1, 1, 1, true, true)));
    b2 = register_module("b2", Chain(ConvBn(in, w.n3x3red, 1, 1, true, true),
                                          ConvBn(w.n3x3red, w.n3x3, 3, 1, true, true)));
    b3 = register_module("b3", Chain(ConvBn(in, w.n5x5red, 1, 1, true, true),
                                          ConvBn(w.n5x5red, w.n5x5, 3, 1, true, true),
                                          ConvBn(w.n5x5, w.n5x5, 3, 1, true, true)));
    b4 = register_module(
        "b4", Chain(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(1).padding(1)),
                         ConvBn(in, w.pool_planes, 1, 1, true, true)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat({b1->forward(x), b2->forward(x), b3->forward(x), b4->forward(x)}, 1);
  }

 private:
  Chain b1{nullptr}, b2{nullptr}, b3{nullptr}, b4{nullptr};
};
TORCH_MODULE(Inception);

/// 3x3 pre-layer conv 192 -> BN -> ReLU, inceptions a3 b3, max-pool, a4..e4, max-pool, a5 b5
/// (ending with 1024 channels). The max-pools are 3x3, stride 2, padding 1, which map any
/// size >= 1 to a size >= 1: min_size 1.
Body googlenet_body(int64_t channels) {
  constexpr InceptionWidths kStages[] = {
      {"a3", 64, 96, 128, 16, 32, 32},      {"b3", 128, 128, 192, 32, 96, 64},
      {"a4", 192, 96, 208, 16, 48, 64},     {"b4", 160, 112, 224, 24, 64, 64},
      {"c4", 128, 128, 256, 24, 64, 64},    {"d4", 112, 144, 288, 32, 64, 64},
      {"e4", 256, 160, 320, 32, 128, 128},  {"a5", 256, 160, 320, 32, 128, 128},
      {"b5", 384, 192, 384, 48, 128, 128}};
  Chain layers;
  layers->push_back("pre", ConvBn(channels, 192, 3, 1, true, true));
  int64_t in = 192;
  for (const auto& w : kStages) {
    const std::string name = w.name;
    if (name == "a4" || name == "a5") {
      layers->push_back("pool" + name.substr(1),
                        torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    }
    layers->push_back(std::string(name), Inception(in, w));
    in = w.n1x1 + w.n3x3 + w.n5x5 + w.pool_planes;
  }
  return {layers, in};
}

}  // namespace

std::vector<Entry> cifar_models() {
  return {
      pooled({"resnet18", 1, false}, [](int64_t c) { return resnet_body(c, {2, 2, 2, 2}); }),
      pooled({"resnet34", 1, false}, [](int64_t c) { return resnet_body(c, {3, 4, 6, 3}); }),
      pooled({"vgg16", 1, false}, vgg16_body),
      pooled({"densenet121", 8, false},
             [](int64_t c) { return densenet_body(c, {6, 12, 24, 16}, 32, 0.5); }),
      pooled({"googlenet", 1, false}, googlenet_body),
      cifar_resnet(8),
      cifar_resnet(14),
      cifar_resnet(20),
      cifar_resnet(32),
      cifar_resnet(44),
      cifar_resnet(56),
  };
}

}  // namespace detail
}  // namespace models
}  // namespace swd
