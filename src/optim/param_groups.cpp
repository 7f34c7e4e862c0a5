#include "swd/optim/param_groups.h"

namespace swd {
namespace optim {

bool is_no_decay_parameter(const std::string& local_name, const torch::nn::Module& owner) {
  if (local_name == "bias") return true;
  const std::string type = owner.name();  // e.g. "torch::nn::BatchNorm2dImpl"
  const auto last = type.rfind("::");
  const std::string short_type = last == std::string::npos ? type : type.substr(last + 2);
  return short_type.find("Norm") != std::string::npos;
}

ParameterSplit split_parameters_for_decay(const torch::nn::Module& module) {
  ParameterSplit split;
  for (const auto& item : module.named_modules()) {
    const auto& owner = *item.value();
    for (const auto& param : owner.named_parameters(/*recurse=*/false)) {
      if (!param.value().requires_grad()) continue;
      auto& target = is_no_decay_parameter(param.key(), owner) ? split.no_decay : split.decay;
      target.push_back(param.value());
    }
  }
  return split;
}

}  // namespace optim
}  // namespace swd
