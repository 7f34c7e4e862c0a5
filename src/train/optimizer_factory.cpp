#include "swd/train/optimizer_factory.h"

#include <stdexcept>
#include <type_traits>

#include "swd/optim/families.h"
#include "swd/optim/param_groups.h"
#include "swd/optim/sgd.h"

namespace swd {
namespace train {

namespace {
struct Named {
  const char* name;
  OptimizerChoice choice;
};
const std::vector<Named>& catalogue() {
  using optim::Decay;
  static const std::vector<Named> all = {
      {"sgd", {"sgd", Decay::L2, false}},        {"sgdw", {"sgd", Decay::Decoupled, false}},
      {"sgds", {"sgd", Decay::Stable, false}},   {"adam", {"adam", Decay::L2, false}},
      {"adamw", {"adam", Decay::Decoupled, false}}, {"adams", {"adam", Decay::Stable, false}},
      {"amsgrad", {"adam", Decay::L2, true}},    {"amsgrads", {"adam", Decay::Stable, true}},
      {"adai", {"adai", Decay::L2, false}},      {"adais", {"adai", Decay::Stable, false}},
  };
  return all;
}
}  // namespace

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& n : catalogue()) names.emplace_back(n.name);
  return names;
}

OptimizerChoice parse_optimizer_name(const std::string& name) {
  for (const auto& n : catalogue()) {
    if (name == n.name) return n.choice;
  }
  std::string list;
  for (const auto& n : catalogue()) list += std::string(list.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("unknown optimizer '" + name + "' (expected one of " + list + ")");
}

const std::vector<FamilyDefaults>& defaults_table() {
  // family  lr    momentum  betas         eps   uses momentum / betas and eps
  static const std::vector<FamilyDefaults> rows = {
      {"sgd", 0.1, 0.9, {0.9, 0.999}, 1e-8, true, false},
      {"adam", 1e-3, 0.0, {0.9, 0.999}, 1e-8, false, true},
      {"adai", 0.5, 0.0, {0.1, 0.99}, 1e-3, false, true},
  };
  return rows;
}

const FamilyDefaults& family_defaults(const std::string& family) {
  for (const auto& row : defaults_table()) {
    if (family == row.family) return row;
  }
  throw std::invalid_argument("unknown optimizer family '" + family + "'");
}

double default_lr(const std::string& optimizer) {
  return family_defaults(parse_optimizer_name(optimizer).family).lr;
}

void resolve_optimizer_settings(TrainConfig& c) {
  const auto choice = parse_optimizer_name(c.optimizer);
  const FamilyDefaults& row = family_defaults(choice.family);
  c.lr = c.lr.value_or(row.lr);
  c.momentum = row.uses_momentum ? c.momentum.value_or(row.momentum) : row.momentum;
  c.betas = row.uses_betas ? c.betas.value_or(row.betas) : row.betas;
  c.eps = row.uses_betas ? c.eps.value_or(row.eps) : row.eps;
  const bool per_step_convention = choice.family == "adam" && choice.decay == optim::Decay::Decoupled;
  c.weight_decay = c.weight_decay.value_or(per_step_convention && *c.lr > 0 ? kDefaultWeightDecay / *c.lr
                                                                            : kDefaultWeightDecay);
}

OptimizerHyper optimizer_hyper(const TrainConfig& config) {
  TrainConfig c = config;
  resolve_optimizer_settings(c);
  OptimizerHyper h;
  h.lr = *c.lr;
  h.weight_decay = *c.weight_decay;
  h.momentum = *c.momentum;
  h.dampening = c.dampening;
  h.nesterov = c.nesterov;
  h.betas = *c.betas;
  h.eps = *c.eps;
  return h;
}

OptimizerHyper default_hyper(const std::string& optimizer) {
  TrainConfig config;
  config.optimizer = optimizer;
  return optimizer_hyper(config);
}

std::unique_ptr<optim::OptimizerBase> make_optimizer(
    const std::string& name, const OptimizerHyper& h,
    std::vector<torch::optim::OptimizerParamGroup> groups) {
  const auto choice = parse_optimizer_name(name);
  return optim::visit_family(choice.family, [&](auto tag) -> std::unique_ptr<optim::OptimizerBase> {
    using Optimizer = typename decltype(tag)::type;
    auto options = typename decltype(tag)::options_type(h.lr);
    options.weight_decay(h.weight_decay).decay(choice.decay);
    // The family's own hyper-parameters (defaults_table says which each family uses).
    if constexpr (std::is_same_v<Optimizer, optim::SGD>) {
      options.momentum(h.momentum).dampening(h.dampening).nesterov(h.nesterov);
    } else {
      options.betas(h.betas).eps(h.eps);
    }
    if constexpr (std::is_same_v<Optimizer, optim::Adam>) options.amsgrad(choice.amsgrad);
    return std::make_unique<Optimizer>(std::move(groups), options);
  });
}

std::unique_ptr<optim::OptimizerBase> make_optimizer_for(const std::string& name,
                                                         const OptimizerHyper& hyper,
                                                         const torch::nn::Module& model,
                                                         bool no_decay_bias_norm) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (no_decay_bias_norm) {
    // [decay group, no-decay group]: both start from the defaults, then the second gets
    // weight decay 0.
    auto split = optim::split_parameters_for_decay(model);
    if (!split.decay.empty()) groups.emplace_back(std::move(split.decay));
    const bool has_no_decay = !split.no_decay.empty();
    if (has_no_decay) groups.emplace_back(std::move(split.no_decay));
    auto opt = make_optimizer(name, hyper, std::move(groups));
    if (has_no_decay) opt->set_group_weight_decay(opt->param_groups().size() - 1, 0.0);
    return opt;
  }
  groups.emplace_back(model.parameters());
  return make_optimizer(name, hyper, std::move(groups));
}

}  // namespace train
}  // namespace swd
