#pragma once
// Decay / no-decay parameter groups built in one visible place: biases and the parameters of
// normalisation layers get weight decay 0; every other trainable parameter gets the
// defaults' options.

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace swd {
namespace optim {

/// Whether a parameter is exempt from weight decay: its own name is "bias", or the module
/// owning it is a normalisation layer (a type name containing "Norm": BatchNorm*, LayerNorm,
/// GroupNorm, InstanceNorm*, and user layers named alike).
bool is_no_decay_parameter(const std::string& local_name, const torch::nn::Module& owner);

/// The trainable parameters of `module`, split by is_no_decay_parameter, in module order.
struct ParameterSplit {
  std::vector<torch::Tensor> decay;
  std::vector<torch::Tensor> no_decay;
};
ParameterSplit split_parameters_for_decay(const torch::nn::Module& module);

/// Groups ready for an optimizer, and what went where.
struct DecayGroups {
  /// [decay group, no-decay group]; a group with no parameter is left out.
  std::vector<torch::optim::OptimizerParamGroup> groups;
  int64_t decay_tensors = 0;
  int64_t no_decay_tensors = 0;
  int64_t decay_elements = 0;
  int64_t no_decay_elements = 0;
};

/// Builds the groups: the decay group takes a copy of `defaults`, the no-decay group a copy
/// with weight_decay 0. Prints nothing.
template <typename Options>
DecayGroups make_decay_groups(const torch::nn::Module& module, const Options& defaults) {
  ParameterSplit split = split_parameters_for_decay(module);
  DecayGroups out;
  for (const auto& p : split.decay) out.decay_elements += p.numel();
  for (const auto& p : split.no_decay) out.no_decay_elements += p.numel();
  out.decay_tensors = static_cast<int64_t>(split.decay.size());
  out.no_decay_tensors = static_cast<int64_t>(split.no_decay.size());
  if (!split.decay.empty()) {
    out.groups.emplace_back(std::move(split.decay), std::make_unique<Options>(defaults));
  }
  if (!split.no_decay.empty()) {
    auto no_decay_options = std::make_unique<Options>(defaults);
    no_decay_options->weight_decay(0.0);
    out.groups.emplace_back(std::move(split.no_decay), std::move(no_decay_options));
  }
  return out;
}

}  // namespace optim
}  // namespace swd
