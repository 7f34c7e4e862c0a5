#pragma once
// Shared by the optimizer tests: the problem of tests/golden/make_golden.py (two groups, a
// parameter that never gets a gradient, an lr drop mid-run), loaded from its JSON file.

#include <gtest/gtest.h>
#include <torch/optim/optimizer.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "swd/swd.h"

namespace swd_test {

using Json = nlohmann::json;

/// The parsed golden file (read once).
const Json& golden();

/// float64 tensor of `shape` from a flat JSON list.
torch::Tensor tensor_from(const Json& values, const Json& shape);

/// The golden problem: fresh parameters, targets, and the gradient rule.
struct Problem {
  std::map<std::string, torch::Tensor> params;  // A, b, C, frozen (float64, requires grad)
  std::vector<std::vector<std::string>> groups;  // names per group
  /// Sets p.grad = (a * (p - x_t) + c * p^3) * grad_decay^(t-1) for every parameter but
  /// "frozen" (step t from 1) whose first step (`starts`, default 1) has come.
  void set_gradients(int t);
  /// A golden scenario's "starts" and "grad_decay" (make_swd_optimizer applies them).
  void use_scenario(const Json& scenario);
  std::vector<torch::Tensor> group_params(size_t g);
  explicit Problem(torch::Dtype dtype = torch::kFloat64);

 private:
  std::vector<std::map<std::string, torch::Tensor>> targets_;
  std::map<std::string, int> starts_;
  double grad_decay_ = 1.0;
};

/// The options and decay mode of a golden scenario (each group's own options where it sets
/// them), as an swd optimizer over `problem`, on the fused path (the default) or the reference
/// path. Also applies the scenario's gradient schedule to `problem` (use_scenario).
std::unique_ptr<torch::optim::Optimizer> make_swd_optimizer(const Json& scenario,
                                                            Problem& problem, bool fused = true);

/// Max over elements of |a - b| / max(|b|, 1e-12).
double max_rel_error(const torch::Tensor& a, const torch::Tensor& b);

/// Group 0's lr times the golden file's lr_drop, right after step lr_drop_step.
void drop_lr_if_due(torch::optim::Optimizer& opt, int t);

/// Runs `steps` steps of the golden problem with `opt` (lr drop as in the golden file),
/// calling `after_step(t)` after each.
void run_problem(Problem& problem, torch::optim::Optimizer& opt, int steps,
                 const std::function<void(int)>& after_step = nullptr);

}  // namespace swd_test
