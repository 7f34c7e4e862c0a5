#pragma once
// Optimizer names as the CLI spells them, mapped onto family x decay mode:
//   sgd = SGD + L2        sgdw = SGD + Decoupled      sgds = SGD + Stable
//   adam = Adam + L2      adamw = Adam + Decoupled    adams = Adam + Stable
//   amsgrad = Adam(amsgrad) + L2                       amsgrads = Adam(amsgrad) + Stable
//   adai = Adai + L2      adais = Adai + Stable

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "swd/optim/decay.h"
#include "swd/optim/optimizer_base.h"

namespace swd {
namespace train {

std::vector<std::string> optimizer_names();

struct OptimizerChoice {
  std::string family;  ///< sgd | adam | adai
  optim::Decay decay = optim::Decay::L2;
  bool amsgrad = false;
};

/// Throws std::invalid_argument naming the bad name and listing the valid ones.
OptimizerChoice parse_optimizer_name(const std::string& name);

/// Fully resolved hyper-parameters of one run's optimizer.
struct OptimizerHyper {
  double lr = 0;
  double weight_decay = 0;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  std::tuple<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
};

/// The defaults for `name` with every given value taken instead (unset = default). Defaults:
/// lr 0.1 / 1e-3 / 0.5 (SGD / Adam / Adai families), momentum 0.9, betas (0.9, 0.999) Adam
/// and (0.1, 0.99) Adai, eps 1e-8 Adam and 1e-3 Adai, weight decay 5e-4 -- except adamw,
/// whose default is 5e-4 / lr so that its per-step decay equals the others' (the paper,
/// arXiv 2011.11152).
OptimizerHyper resolve_hyper(const std::string& name, std::optional<double> lr,
                             std::optional<double> weight_decay, std::optional<double> momentum,
                             double dampening, bool nesterov,
                             std::optional<std::tuple<double, double>> betas,
                             std::optional<double> eps);

/// The optimizer over `groups`. A group without options gets `hyper`; a group with options
/// keeps them (the decay/no-decay groups of make_decay_groups carry their own).
std::unique_ptr<optim::OptimizerBase> make_optimizer(
    const std::string& name, const OptimizerHyper& hyper,
    std::vector<torch::optim::OptimizerParamGroup> groups);

/// The same, with the model's parameters split by optim::make_decay_groups when
/// `no_decay_bias_norm` (biases and normalisation layers get weight decay 0).
std::unique_ptr<optim::OptimizerBase> make_optimizer_for(const std::string& name,
                                                         const OptimizerHyper& hyper,
                                                         const torch::nn::Module& model,
                                                         bool no_decay_bias_norm);

}  // namespace train
}  // namespace swd
