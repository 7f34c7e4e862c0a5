#pragma once
// Hyper-parameters for a batch size B from those tuned at a base batch size B0 (k = B / B0).
// The paper's weight-decay linear scaling rule (arXiv 2011.11152; docs/REPRODUCTION.md,
// claim 2) keeps the learning rate and multiplies the weight decay by k; the classic
// learning-rate linear scaling rule multiplies the learning rate by k. Both keep
// eta * lambda / B constant.

#include <cstdint>
#include <string>
#include <vector>

namespace swd {
namespace schedule {

enum class ScaleRule {
  None,         ///< eta, lambda unchanged
  LearningRate, ///< eta -> k * eta
  WeightDecay,  ///< lambda -> k * lambda
};

/// "none", "lr", "wd" and back. from-string throws std::invalid_argument naming the value.
std::string to_string(ScaleRule rule);
ScaleRule scale_rule_from_string(const std::string& name);
/// Every rule's word, in order (the choices help lists).
const std::vector<std::string>& scale_rule_names();

struct ScaledHyper {
  double lr = 0;
  double weight_decay = 0;
  double k = 1;  ///< batch_size / base_batch_size
};

/// Applies `rule`. Throws std::invalid_argument when a batch size is not positive.
ScaledHyper scale_hyperparameters(ScaleRule rule, double base_lr, double base_weight_decay,
                                  int64_t base_batch_size, int64_t batch_size);

}  // namespace schedule
}  // namespace swd
