#pragma once
// A run's weights as PyTorch state_dicts (models/state_dict.h): model.pt (the latest finished
// epoch, the final model once the run ends) and best.pt (the epoch with the lowest test error
// so far), and `swd export` for runs that have only checkpoint.pt.

#include <torch/nn/module.h>

#include <string>

namespace swd {
namespace run {

/// Writes `module` (zoo model `model`) to `path` atomically as a state_dict with PyTorch's
/// names.
void save_weights(const std::string& path, const std::string& model, const torch::nn::Module& module);

/// Writes the weights of the run in `run_dir` (its config.json and checkpoint.pt) to
/// `out_path` (empty: <run_dir>/model.pt) in `format` ("torch": a state_dict). Returns the
/// path written. Throws std::runtime_error naming the file or value at fault; never
/// overwrites an existing file.
std::string export_weights(const std::string& run_dir, const std::string& format,
                           const std::string& out_path);

}  // namespace run
}  // namespace swd
