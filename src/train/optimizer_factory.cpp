#include "swd/train/optimizer_factory.h"

#include <stdexcept>
#include <type_traits>

#include "swd/optim/families.h"
#include "swd/optim/param_groups.h"
#include "swd/optim/sgd.h"
#include "swd/schedule/scaling.h"
#include "swd/util/csv.h"

namespace swd {
namespace train {

RunHyper resolve_hyper(const TrainConfig& c) {
  const auto choice = parse_optimizer_name(c.optimizer);
  const FamilyDefaults& row = family_defaults(choice.family);  // the one place defaults are stated
  RunHyper r;
  r.given_lr = c.lr;
  r.given_weight_decay = c.weight_decay;
  OptimizerHyper& h = r.optimizer;
  h.momentum = row.uses_momentum ? c.momentum.value_or(row.momentum) : row.momentum;
  h.dampening = c.dampening;
  h.nesterov = c.nesterov;
  h.betas = row.uses_betas ? c.betas.value_or(row.betas) : row.betas;
  h.eps = row.uses_betas ? c.eps.value_or(row.eps) : row.eps;

  // lr: given, else the family's default.
  r.base_lr = c.lr.value_or(row.lr);
  std::string lr_from = c.lr ? "given" : "default (" + std::string(row.family) + " family)";
  // Weight decay: given, else kDefaultWeightDecay; weight-decay-over-lr (adamw's default)
  // divides that lambda by the lr, so that AdamW's per-step decay eta * lambda_W equals the
  // others' lambda (the paper, arXiv 2011.11152; docs/TRAINING.md, "Defaults").
  const double lambda = c.weight_decay.value_or(kDefaultWeightDecay);
  const bool adamw_default = !c.weight_decay && choice.family == "adam" &&
                             choice.decay == optim::Decay::Decoupled && r.base_lr > 0;
  std::string wd_from = c.weight_decay ? "given" : "default";
  r.base_weight_decay = lambda;
  if (c.weight_decay_over_lr) {
    if (!(r.base_lr > 0)) {
      throw ConfigError("weight-decay-over-lr needs an lr > 0 (weight decay := weight-decay / lr), "
                        "got lr " + util::shortest_number(r.base_lr));
    }
    r.base_weight_decay = lambda / r.base_lr;
    wd_from = util::shortest_number(lambda) + " / lr (weight-decay-over-lr)";
  } else if (adamw_default) {
    r.base_weight_decay = lambda / r.base_lr;
    wd_from = "default " + util::shortest_number(lambda) + " / lr (adamw: the paper's convention)";
  }
  // The large-batch rule (the paper; docs/REPRODUCTION.md, claim 2): lr or weight decay x k.
  const auto rule = c.scale_rule;
  const auto scaled = schedule::scale_hyperparameters(rule, r.base_lr, r.base_weight_decay,
                                                      c.base_batch_size, c.batch_size);
  r.scale_k = scaled.k;
  h.lr = scaled.lr;
  h.weight_decay = scaled.weight_decay;
  const std::string times = " x " + util::shortest_number(scaled.k) + " (scale-rule " + schedule::to_string(c.scale_rule) + ": batch " +
                            std::to_string(c.batch_size) + " / " + std::to_string(c.base_batch_size) + ")";
  if (rule == schedule::ScaleRule::LearningRate && scaled.k != 1) lr_from += times;
  if (rule == schedule::ScaleRule::WeightDecay && scaled.k != 1) wd_from += times;
  if (c.no_decay_bias_norm) {
    r.groups.push_back({"decay", h.lr, h.weight_decay, lr_from, wd_from});
    r.groups.push_back({"no decay", h.lr, 0.0, lr_from, "0 (no-decay-bias-norm: biases and normalisation layers)"});
  } else {
    r.groups.push_back({"all", h.lr, h.weight_decay, lr_from, wd_from});
  }
  return r;
}

void resolve_optimizer_settings(TrainConfig& config) { write_resolved(config, resolve_hyper(config)); }

void write_resolved(TrainConfig& c, const RunHyper& r) {
  c.lr = r.base_lr;
  c.weight_decay = r.base_weight_decay;
  c.weight_decay_over_lr = false;  // applied: weight-decay holds lambda / lr
  c.momentum = r.optimizer.momentum;
  c.betas = r.optimizer.betas;
  c.eps = r.optimizer.eps;
}

OptimizerHyper optimizer_hyper(const TrainConfig& config) {
  const RunHyper r = resolve_hyper(config);
  OptimizerHyper h = r.optimizer;
  h.lr = r.base_lr;  // before the large-batch rule
  h.weight_decay = r.base_weight_decay;
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

std::unique_ptr<optim::OptimizerBase> make_run_optimizer(const std::string& name,
                                                         const RunHyper& hyper,
                                                         const torch::nn::Module& model,
                                                         std::vector<GroupHyper>& made) {
  made.clear();
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto add = [&](std::vector<torch::Tensor> params, const GroupHyper& values) {
    if (params.empty()) return;  // a role without parameters is no group
    groups.emplace_back(std::move(params));
    made.push_back(values);
  };
  if (hyper.groups.size() == 2) {  // decay, no decay (optim::split_parameters_for_decay)
    auto split = optim::split_parameters_for_decay(model);
    add(std::move(split.decay), hyper.groups[0]);
    add(std::move(split.no_decay), hyper.groups[1]);
  } else {
    add(model.parameters(), hyper.groups.at(0));
  }
  auto optimizer = make_optimizer(name, hyper.optimizer, std::move(groups));
  for (size_t g = 0; g < made.size(); ++g) {  // each group exactly its role's values
    optimizer->set_group_lr(g, made[g].lr);
    optimizer->set_group_weight_decay(g, made[g].weight_decay);
  }
  return optimizer;
}

}  // namespace train
}  // namespace swd
