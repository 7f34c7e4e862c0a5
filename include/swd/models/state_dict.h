#pragma once
// Weights PyTorch can read: a model's parameters and buffers under the names PyTorch's own
// definition of the same architecture uses (the definitions in scripts/model_param_counts.py),
// saved so that `torch.load(path)` in Python returns {name: tensor} and
// `model.load_state_dict(torch.load(path))` works. docs/MODELS.md lists the definitions.

#include <ATen/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace torch {
namespace nn {
class Module;
}  // namespace nn
}  // namespace torch

namespace swd {
namespace models {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// The PyTorch name of the parameter or buffer `swd_name` of zoo model `model`. Throws
/// std::invalid_argument naming the model and the name when it is not one of the model's.
std::string torch_name(const std::string& model, const std::string& swd_name);

/// Every parameter and buffer of `module` (a zoo model named `model`), renamed with
/// torch_name, in PyTorch's state_dict order (each module's parameters, then its buffers,
/// modules in pre-order). Detached CPU tensors.
NamedTensors torch_state_dict(const std::string& model, const torch::nn::Module& module);

/// Renames (swd name, tensor) pairs with torch_name, keeping their order.
NamedTensors to_torch_names(const std::string& model, const NamedTensors& tensors);

/// The bytes of a file that `torch.load` reads as an ordered {name: tensor} dict
/// (LibTorch's pickle format, the zip container of torch.save).
std::string state_dict_bytes(const NamedTensors& tensors);

/// Reads state_dict_bytes' output back (for tests and tools). Throws std::runtime_error
/// when the bytes are not such a file.
NamedTensors read_state_dict_bytes(const std::string& bytes);

}  // namespace models
}  // namespace swd
