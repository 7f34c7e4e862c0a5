#include "swd/run/weights.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "swd/errors.h"
#include "swd/models/state_dict.h"
#include "swd/util/io.h"
#include "tensor_file.h"

namespace swd {
namespace run {

namespace fs = std::filesystem;

void save_weights(const std::string& path, const std::string& model, const torch::nn::Module& module) {
  util::write_file_atomically(path, models::state_dict_bytes(models::torch_state_dict(model, module)));
}

std::string export_weights(const std::string& run_dir, const std::string& format,
                           const std::string& out_path) {
  if (format != "torch") {
    throw std::runtime_error(
        "invalid value '" + format + "' for --format (expected torch; a TorchScript export "
        "needs the model traced in Python: load the state_dict into the definition in "
        "scripts/model_param_counts.py and call torch.jit.script there)");
  }
  const fs::path dir(run_dir);
  const std::string out = out_path.empty() ? (dir / "model.pt").string() : out_path;
  if (fs::exists(out)) {
    throw std::runtime_error(out + " already exists; choose another --out or move it away");
  }
  std::string model;
  try {
    model = nlohmann::json::parse(util::read_file((dir / "config.json").string())).at("model");
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error((dir / "config.json").string() + " does not name the model (" +
                             e.what() + ")");
  }
  const std::string checkpoint = (dir / "checkpoint.pt").string();
  TensorFile file;
  try {
    file = read_tensor_file(checkpoint);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot export " + checkpoint + ": " + message_of(e));
  }
  models::NamedTensors weights;
  const std::string prefix = "model/";
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(prefix, 0) == 0) weights.emplace_back(name.substr(prefix.size()), tensor);
  }
  if (weights.empty()) throw std::runtime_error(checkpoint + " holds no model tensors");
  util::write_file_atomically(out, models::state_dict_bytes(models::to_torch_names(model, weights)));
  return out;
}

}  // namespace run
}  // namespace swd
