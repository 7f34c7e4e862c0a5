// The zoo's parameter names as PyTorch's definitions of the same models spell them
// (scripts/model_param_counts.py, which transcribes kuangliu/pytorch-cifar and He et al.),
// and a writer of state_dicts in the format torch.load reads.
#include "swd/models/state_dict.h"

#include <ATen/core/Dict.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/module.h>

#include <sstream>
#include <stdexcept>

#include "swd/errors.h"

namespace swd {
namespace models {

namespace {

std::vector<std::string> split(const std::string& name) {
  std::vector<std::string> parts;
  std::stringstream in(name);
  std::string part;
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

[[noreturn]] void unknown(const std::string& model, const std::string& name) {
  throw std::invalid_argument(model + ": no parameter or buffer '" + name +
                              "' in this model's layout");
}

/// parts[i] as a non-negative index, or -1.
int64_t index_at(const std::vector<std::string>& parts, size_t i) {
  if (i >= parts.size() || parts[i].empty() ||
      parts[i].find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoll(parts[i]);
}

/// ResNet-18/34 (kuangliu): body.stem.{conv,bn} -> conv1, bn1; a block's conv1/conv2
/// ConvBn -> convN, bnN; its shortcut ConvBn -> shortcut.0, shortcut.1.
std::string resnet_name(const std::vector<std::string>& p, const std::string& leaf) {
  if (p.size() == 2 && p[0] == "stem" && p[1] == "conv") return "conv1." + leaf;
  if (p.size() == 2 && p[0] == "stem" && p[1] == "bn") return "bn1." + leaf;
  if (p.size() == 4 && p[0].rfind("layer", 0) == 0 && index_at(p, 1) >= 0) {
    const std::string block = p[0] + "." + p[1] + ".";
    if (p[2] == "conv1" || p[2] == "conv2") {
      const std::string n = p[2].substr(4);
      if (p[3] == "conv") return block + "conv" + n + "." + leaf;
      if (p[3] == "bn") return block + "bn" + n + "." + leaf;
    }
    if (p[2] == "shortcut" && (p[3] == "conv" || p[3] == "bn")) {
      return block + "shortcut." + (p[3] == "conv" ? "0." : "1.") + leaf;
    }
  }
  return "";
}

/// VGG-16 (kuangliu): the body's K-th cfg entry is features.P, where each conv before it
/// took three places (Conv2d, BatchNorm2d, ReLU) and each max-pool one.
std::string vgg_name(const std::vector<std::string>& p, const std::string& leaf) {
  constexpr int kCfg[] = {1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0};  // 1 conv, 0 pool
  const int64_t k = index_at(p, 0);
  if (p.size() != 2 || k < 0 || k >= 18 || kCfg[k] == 0) return "";
  int64_t place = 0;
  for (int64_t i = 0; i < k; ++i) place += kCfg[i] ? 3 : 1;
  if (p[1] == "conv") return "features." + std::to_string(place) + "." + leaf;
  if (p[1] == "bn") return "features." + std::to_string(place + 1) + "." + leaf;
  return "";
}

/// DenseNet-121 (the script's transcription): stem -> conv1; denseS -> stages.(2S-2) whose
/// layers' reduce/grow BnReluConv -> bn1, conv1 / bn2, conv2; transS -> stages.(2S-1); bn.
std::string densenet_name(const std::vector<std::string>& p, const std::string& leaf) {
  if (p.size() == 1 && p[0] == "stem") return "conv1." + leaf;
  if (p.size() == 1 && p[0] == "bn") return "bn." + leaf;
  auto stage_of = [&](const std::string& prefix) -> int64_t {
    if (p[0].rfind(prefix, 0) != 0) return -1;
    return index_at({p[0].substr(prefix.size())}, 0);
  };
  if (const int64_t s = stage_of("dense"); s >= 1 && p.size() == 4 && index_at(p, 1) >= 0) {
    const std::string n = p[2] == "reduce" ? "1" : p[2] == "grow" ? "2" : "";
    if (!n.empty() && (p[3] == "bn" || p[3] == "conv")) {
      return "stages." + std::to_string(2 * s - 2) + "." + p[1] + "." + p[3] + n + "." + leaf;
    }
  }
  if (const int64_t s = stage_of("trans"); s >= 1 && p.size() == 3 && p[1] == "conv" &&
                                           (p[2] == "bn" || p[2] == "conv")) {
    return "stages." + std::to_string(2 * s - 1) + "." + p[2] + "." + leaf;
  }
  return "";
}

/// GoogLeNet (kuangliu): pre -> pre_layers.0/1; in an inception, branch bJ's I-th ConvBn ->
/// bJ.(3I), bJ.(3I+1) (conv_bn_relu takes three places); b4 starts with its max-pool.
std::string googlenet_name(const std::vector<std::string>& p, const std::string& leaf) {
  if (p.size() == 2 && p[0] == "pre" && (p[1] == "conv" || p[1] == "bn")) {
    return std::string("pre_layers.") + (p[1] == "conv" ? "0." : "1.") + leaf;
  }
  const int64_t i = index_at(p, 2);
  if (p.size() == 4 && p[1].size() == 2 && p[1][0] == 'b' && i >= 0 && (p[3] == "conv" || p[3] == "bn")) {
    const int64_t place = (p[1] == "b4" ? 1 + 3 * (i - 1) : 3 * i) + (p[3] == "bn" ? 1 : 0);
    if (place >= 0) return p[0] + "." + p[1] + "." + std::to_string(place) + "." + leaf;
  }
  return "";
}

void collect(const torch::nn::Module& module, const std::string& prefix, NamedTensors& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

}  // namespace

std::string torch_name(const std::string& model, const std::string& swd_name) {
  const bool pooled = model == "resnet18" || model == "resnet34" || model == "vgg16" ||
                      model == "densenet121" || model == "googlenet";
  if (!pooled) return swd_name;  // mlp, cnn, mlp-bn, cnn-bn, resnet8..56 use PyTorch's names
  auto parts = split(swd_name);
  if (parts.size() < 2) unknown(model, swd_name);
  const std::string leaf = parts.back();
  if (parts[0] == "head" && parts.size() == 2) {
    return (model == "vgg16" ? "classifier." : "linear.") + leaf;
  }
  if (parts[0] != "body") unknown(model, swd_name);
  const std::vector<std::string> path(parts.begin() + 1, parts.end() - 1);
  std::string name;
  if (model == "vgg16") name = vgg_name(path, leaf);
  else if (model == "densenet121") name = densenet_name(path, leaf);
  else if (model == "googlenet") name = googlenet_name(path, leaf);
  else name = resnet_name(path, leaf);
  if (name.empty()) unknown(model, swd_name);
  return name;
}

NamedTensors to_torch_names(const std::string& model, const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, tensor] : tensors) out.emplace_back(torch_name(model, name), tensor);
  return out;
}

NamedTensors torch_state_dict(const std::string& model, const torch::nn::Module& module) {
  NamedTensors swd_named;
  collect(module, "", swd_named);
  for (auto& [name, tensor] : swd_named) tensor = tensor.detach().to(at::kCPU).contiguous();
  return to_torch_names(model, swd_named);
}

std::string state_dict_bytes(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (dict.contains(name)) throw std::invalid_argument("state_dict: two tensors named " + name);
    dict.insert(name, tensor.detach().to(at::kCPU).contiguous());
  }
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

NamedTensors read_state_dict_bytes(const std::string& bytes) {
  NamedTensors out;
  try {
    const auto value = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    if (!value.isGenericDict()) throw std::runtime_error("it does not hold a dict");
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) {
        throw std::runtime_error("it holds an entry that is not name: tensor");
      }
      out.emplace_back(item.key().toStringRef(), item.value().toTensor());
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("not a state_dict file: " + message_of(e));
  }
  return out;
}

}  // namespace models
}  // namespace swd
