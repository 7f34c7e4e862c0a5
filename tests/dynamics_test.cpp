// The learning dynamics (swd/train/dynamics.h, docs/DYNAMICS.md):
//  - every BatchNorm model's declared scale-invariant weights leave the logits unchanged when
//    multiplied by 0.5 or 3 (train mode, and eval mode with running statistics taken on the
//    same batch), and an undeclared weight does not; models without normalisation declare none;
//  - on a synthetic scale-invariant problem where the random-walk model holds (gradients
//    orthogonal to w, of norm proportional to 1/|w|), the measured equilibrium angular update
//    is within 3% of docs/DYNAMICS.md's prediction and the measured relaxation time within
//    20%, for SGD with momentum, AdamW, AdamS and AdaiS, after a decay budget of at least 5.
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.h"
#include "swd/models/models.h"
#include "swd/models/state_dict.h"
#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/paper_names.h"
#include "swd/optim/sgd.h"
#include "swd/run/metrics.h"
#include "swd/train/dynamics.h"
#include "swd/util/csv.h"

namespace {

namespace sm = swd::models;
namespace so = swd::optim;
namespace st = swd::train;

// ---- Scale invariance of the declared weights ----------------------------------------------

/// BatchNorm layers computing exactly scale-invariant functions: eps 0 (eps breaks invariance
/// by eps/var) and running statistics as the plain average of the batches seen (momentum
/// none), so that eval mode after one batch normalises with that batch's statistics.
void exact_batchnorm(torch::nn::Module& model) {
  for (auto& m : model.modules()) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm1dImpl*>(m.get())) {
      bn->options.eps(0).momentum(c10::nullopt);
    } else if (auto* bn2 = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) {
      bn2->options.eps(0).momentum(c10::nullopt);
    }
  }
}

void reset_running_stats(torch::nn::Module& model) {
  for (auto& m : model.modules()) {
    if (auto* bn = dynamic_cast<torch::nn::BatchNorm1dImpl*>(m.get())) bn->reset_running_stats();
    if (auto* bn2 = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) bn2->reset_running_stats();
  }
}

/// Train-mode and eval-mode logits of `x` with each named parameter multiplied by its factor
/// (running statistics taken on x itself); the parameters are restored afterwards.
std::pair<torch::Tensor, torch::Tensor> logits_scaled(sm::Classifier& model, const torch::Tensor& x,
                                                      const std::vector<std::string>& names,
                                                      const std::vector<double>& factors) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  for (std::size_t i = 0; i < names.size(); ++i) params[names[i]].mul_(factors[i]);
  reset_running_stats(model);
  model.train();
  auto train = model.forward(x);
  model.eval();
  auto eval = model.forward(x);
  for (std::size_t i = 0; i < names.size(); ++i) params[names[i]].div_(factors[i]);
  return {train, eval};
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

TEST(ScaleInvariance, DeclaredWeightsLeaveTheLogitsUnchangedAndOthersDoNot) {
  for (const auto& name : sm::model_names()) {
    const bool fashion = name == "mlp" || name == "cnn" || name == "mlp-bn" || name == "cnn-bn";
    const int64_t size = fashion ? 28 : std::max<int64_t>(sm::min_input_size(name), 8);
    const sm::InputSpec spec{fashion ? 1 : 3, size, size, 10};
    torch::manual_seed(3);
    auto model = sm::make_model(name, spec);
    const auto declared = model->scale_invariant_parameters();
    bool has_batchnorm = false;
    for (auto& m : model->modules()) {
      has_batchnorm = has_batchnorm || dynamic_cast<torch::nn::BatchNorm1dImpl*>(m.get()) ||
                      dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get());
    }
    if (!has_batchnorm) {
      EXPECT_TRUE(declared.empty()) << name << " has no normalisation but declares weights";
      continue;
    }
    ASSERT_FALSE(declared.empty()) << name;
    const auto params = model->named_parameters();
    for (const auto& d : declared) ASSERT_NE(params.find(d), nullptr) << name << ": no parameter " << d;
    model->to(torch::kDouble);
    exact_batchnorm(*model);
    const auto x = torch::randn({4, spec.channels, size, size}, torch::kDouble);
    const auto [train0, eval0] = logits_scaled(*model, x, {}, {});
    const double scale = 1 + max_abs(train0);
    // Each declared tensor by 0.5 or 3 (alternating), then the other way round.
    for (int flip = 0; flip < 2; ++flip) {
      std::vector<double> factors;
      for (std::size_t i = 0; i < declared.size(); ++i) factors.push_back((i + flip) % 2 ? 3.0 : 0.5);
      const auto [train, eval] = logits_scaled(*model, x, declared, factors);
      EXPECT_LT(max_abs(train - train0), 1e-9 * scale) << name << " (train mode)";
      EXPECT_LT(max_abs(eval - eval0), 1e-9 * scale) << name << " (eval mode)";
    }
    // A weight that is not declared (the classifier's) changes the logits.
    std::string undeclared;
    for (const auto& item : params) {
      if (item.value().dim() >= 2 &&
          std::find(declared.begin(), declared.end(), item.key()) == declared.end()) {
        undeclared = item.key();
      }
    }
    ASSERT_FALSE(undeclared.empty()) << name;
    const auto [train3, eval3] = logits_scaled(*model, x, {undeclared}, {3.0});
    EXPECT_GT(max_abs(train3 - train0), 1e-3 * scale) << name << ": " << undeclared;
  }
}

// ---- The equilibrium of the random-walk model ----------------------------------------------

/// One tensor of n elements whose "loss" gradient is sqrt(K/n) / |w| times a standard normal
/// vector projected orthogonally to w: E|g|^2 = K (n-1)/n / |w|^2, orthogonal to w, as for a
/// scale-invariant weight (docs/DYNAMICS.md, "The random-walk model").
struct Holder : torch::nn::Module {
  torch::Tensor w;
  explicit Holder(torch::Tensor init) { w = register_parameter("w", std::move(init)); }
};

constexpr int64_t kN = 2048;
constexpr double kK = 1.0;

struct Trace {
  std::vector<double> norms;  ///< |w| after each step
  double angular_update = 0;  ///< the meter's mean over the last third of the steps
  double decay_rate = 0;      ///< the last step's decay rate
  double budget = 0;          ///< e-folds over the run
};

Trace run_random_walk(const std::function<std::unique_ptr<so::OptimizerBase>(torch::Tensor)>& make,
                      double initial_norm, int64_t steps, uint64_t seed) {
  torch::manual_seed(seed);
  auto init = torch::randn({kN}, torch::kDouble);
  auto holder = std::make_shared<Holder>(init * (initial_norm / init.norm().item<double>()));
  auto optimizer = make(holder->w);
  st::DynamicsMeter meter(*holder, {"w"}, *optimizer, 1);
  Trace trace;
  const int64_t last_third = steps - steps / 3;
  for (int64_t t = 1; t <= steps; ++t) {
    {
      torch::NoGradGuard no_grad;
      const auto w = holder->w.detach();
      const double norm = w.norm().item<double>();
      auto xi = torch::randn({kN}, torch::kDouble);
      xi -= w * (xi.dot(w).item<double>() / (norm * norm));  // orthogonal to w
      holder->w.mutable_grad() = xi * (std::sqrt(kK / kN) / norm);
    }
    if (t == last_third) meter.end_epoch();  // averages from here on
    meter.before_step(t, false);
    optimizer->step();
    meter.after_step();
    trace.norms.push_back(holder->w.detach().norm().item<double>());
  }
  const auto rows = meter.end_epoch();
  trace.angular_update = rows.back().angular_update;
  trace.budget = rows.back().decay_budget;
  trace.decay_rate = rows.back().decay_rate;
  return trace;
}

/// The step at which |x_t - x_eq| first falls below 1/e of |x_0 - x_eq|, for x = |w|^power
/// smoothed over 51 steps, x_eq its mean over the last third.
double measured_relaxation(const std::vector<double>& norms, double power, double x_eq, double x0) {
  const int64_t half_window = 25;
  std::vector<double> x;
  for (double n : norms) x.push_back(std::pow(n, power));
  for (int64_t t = half_window; t + half_window < static_cast<int64_t>(x.size()); ++t) {
    double mean = 0;
    for (int64_t k = -half_window; k <= half_window; ++k) mean += x[t + k];
    mean /= 2 * half_window + 1;
    if ((mean - x_eq) / (x0 - x_eq) <= std::exp(-1.0)) return static_cast<double>(t + 1);
  }
  return std::nan("");
}

struct Expectation {
  std::string name;
  std::function<std::unique_ptr<so::OptimizerBase>(torch::Tensor)> make;
  double decay_rate;   ///< d per step at equilibrium
  double momentum;     ///< the update's averaging coefficient (mu, beta1, 1 - beta0)
  double power;        ///< x = |w|^power relaxes (4: SGD-like updates, 2: normalised)
  double equilibrium_norm;
  std::function<double(double)> relaxation;  ///< predicted steps from x0 (docs/DYNAMICS.md)
};

TEST(RandomWalkEquilibrium, AngularUpdateAndRelaxationTimeMatchThePredictions) {
  const double n = kN, s = std::sqrt(kK / kN);  // sqrt(vbar) = s / |w|
  std::vector<Expectation> cases;
  {  // SGD with momentum 0.9 and L2: d = eta*lambda/(1-mu), |w|^4 = eta^2 K / ((1-mu)^2 2d)
    const double eta = 0.1, lambda = 1e-3, mu = 0.9, d = eta * lambda / (1 - mu);
    const double w = std::pow(eta * eta * kK / ((1 - mu) * (1 - mu) * 2 * d), 0.25);
    cases.push_back({"sgd-m (L2)", [=](torch::Tensor p) { return std::make_unique<so::SGD>(std::vector<torch::Tensor>{p}, so::SGDOptions(eta).momentum(mu).weight_decay(lambda)); },
                     d, mu, 4, w, [=](double) { return 1 / (4 * d); }});
  }
  {  // AdamW: d = eta*lambda, |w|^2 = eta^2 n / (2d)
    const double eta = 1e-3, lambda = 0.25, d = eta * lambda;
    cases.push_back({"adamw", [=](torch::Tensor p) { return std::make_unique<so::AdamW>(std::vector<torch::Tensor>{p}, so::AdamOptions(eta).betas({0.9, 0.99}).weight_decay(lambda)); },
                     d, 0.9, 2, std::sqrt(eta * eta * n / (2 * d)), [=](double) { return 1 / (2 * d); }});
  }
  {  // AdamS: d = eta*lambda*|w|/s, |w|^3 = eta n s / (2 lambda); the relaxation of |w|^2
     // from x0 integrates dx/dt = -2 eta lambda x^(3/2) / s + eta^2 n (linearised: 1/(3d)).
    const double eta = 1e-3, lambda = 0.004;
    const double w = std::cbrt(eta * n * s / (2 * lambda)), d = eta * lambda * w / s;
    auto ode = [=](double x0) {
      const double x_eq = w * w, target = x_eq + (x0 - x_eq) * std::exp(-1.0), dt = 0.25;
      double x = x0, t = 0;
      while ((x - target) * (x0 - target) > 0) {
        x += dt * (-2 * eta * lambda * std::pow(x, 1.5) / s + eta * eta * n);
        t += dt;
      }
      return t;
    };
    cases.push_back({"adams", [=](torch::Tensor p) { return std::make_unique<so::AdamS>(std::vector<torch::Tensor>{p}, so::AdamOptions(eta).betas({0.9, 0.99}).weight_decay(lambda)); },
                     d, 0.9, 2, w, ode});
  }
  {  // AdaiS (beta0 0.1: beta1 ~ 0.9 where vhat ~ vbar): d = eta*lambda, |w|^4 = eta^2 K / (2d)
    const double eta = 0.1, lambda = 2.5e-3, d = eta * lambda;
    cases.push_back({"adais", [=](torch::Tensor p) { return std::make_unique<so::AdaiS>(std::vector<torch::Tensor>{p}, so::AdaiOptions(eta).weight_decay(lambda)); },
                     d, 0.9, 4, std::pow(eta * eta * kK / (2 * d), 0.25), [=](double) { return 1 / (4 * d); }});
  }
  for (const auto& c : cases) {
    const double x_eq = std::pow(c.equilibrium_norm, c.power), x0 = 0.5 * x_eq;
    const int64_t steps = static_cast<int64_t>(std::ceil(6.5 / c.decay_rate));
    const Trace trace = run_random_walk(c.make, std::pow(x0, 1 / c.power), steps, 7);
    EXPECT_GE(trace.budget, 5.0) << c.name;
    const double predicted = st::equilibrium_angular_update(c.decay_rate, c.momentum);
    EXPECT_NEAR(trace.angular_update / predicted, 1.0, 0.03)
        << c.name << ": measured " << trace.angular_update << ", predicted " << predicted;
    double tail = 0;  // the measured equilibrium: the mean of x over the last third
    const std::size_t from = trace.norms.size() - trace.norms.size() / 3;
    for (std::size_t t = from; t < trace.norms.size(); ++t) tail += std::pow(trace.norms[t], c.power);
    tail /= static_cast<double>(trace.norms.size() - from);
    EXPECT_NEAR(tail / x_eq, 1.0, 0.05) << c.name << ": equilibrium |w|^" << c.power;
    const double tau = measured_relaxation(trace.norms, c.power, tail, x0);
    const double tau_predicted = c.relaxation(x0);
    std::printf("%-11s budget %.2f  angular update %.6g (predicted %.6g, %+.2f%%)  relaxation %.0f steps "
                "(predicted %.0f, %+.1f%%)\n", c.name.c_str(), trace.budget, trace.angular_update, predicted,
                100 * (trace.angular_update / predicted - 1), tau, tau_predicted, 100 * (tau / tau_predicted - 1));
    EXPECT_NEAR(tau / tau_predicted, 1.0, 0.2)
        << c.name << ": relaxation " << tau << " steps, predicted " << tau_predicted;
  }
}

TEST(RandomWalkEquilibrium, PredictionFormulas) {
  // sqrt(2 d (1 - mu) / (1 + mu)): Wan et al.'s sqrt(2 eta lambda / (1 + mu)) for SGD-M with
  // L2, where d = eta lambda / (1 - mu).
  const double eta = 0.1, lambda = 5e-4, mu = 0.9;
  EXPECT_NEAR(st::equilibrium_angular_update(eta * lambda / (1 - mu), mu),
              std::sqrt(2 * eta * lambda / (1 + mu)), 1e-15);
  EXPECT_NEAR(st::equilibrium_angular_update(1e-3, 0), std::sqrt(2e-3), 1e-15);
  EXPECT_TRUE(std::isnan(st::equilibrium_angular_update(-1, 0.9)));
}

// ---- swd train: the numbers against an independent computation ----------------------------

const std::string kRun =
    " --dataset synthetic --synthetic-train 512 --synthetic-test 128 --synthetic-size 8"
    " --model mlp-bn --batch-size 64 --threads 1 --workers 1 --progress none --dynamics-every 1";

/// dynamics.csv's row of `tensor` in `epoch`, as cells by column name.
std::map<std::string, std::string> dynamics_row(const std::string& run, int epoch, const std::string& tensor) {
  const auto table = swd::util::parse_csv(swd_test::slurp(run + "/dynamics.csv"), "dynamics.csv");
  for (const auto& row : table.rows) {
    if (row[0] == std::to_string(epoch) && row[1] == tensor) {
      std::map<std::string, std::string> cells;
      for (std::size_t i = 0; i < row.size(); ++i) cells[table.header[i]] = row[i];
      return cells;
    }
  }
  ADD_FAILURE() << "no row " << epoch << "," << tensor << " in " << run << "/dynamics.csv";
  return {};
}

torch::Tensor saved_weight(const std::string& path, const std::string& name) {
  const auto tensors = swd::models::read_state_dict_bytes(swd_test::slurp(path));
  for (const auto& [key, value] : tensors) {
    if (key == name) return value.to(torch::kDouble).flatten();
  }
  ADD_FAILURE() << "no " << name << " in " << path;
  return {};
}

TEST(DynamicsCli, OneStepsNumbersAreThoseOfTheSavedWeights) {
  // Epoch 1: 4 steps; epoch 2 (resumed): 1 step. That step's angular update, relative update
  // and norm follow from model.pt before and after it; the budget of SGDW is 5 x lr x wd.
  const auto dir = swd_test::fresh_dir("dynamics_saved") + "/run";
  const std::string opt = " --optimizer sgdw --lr 0.05 --weight-decay 0.2 --momentum 0.9";
  auto first = swd_test::run_swd("train" + kRun + opt + " --epochs 1 --limit-batches 4 --out " + dir);
  ASSERT_EQ(first.status, 0) << first.output;
  const auto before = saved_weight(dir + "/model.pt", "fc1.weight");
  auto second = swd_test::run_swd("train --resume --out " + dir + " --epochs 2 --limit-batches 1");
  ASSERT_EQ(second.status, 0) << second.output;
  const auto after = saved_weight(dir + "/model.pt", "fc1.weight");
  const auto row = dynamics_row(dir, 2, "fc1.weight");
  const double n0 = before.norm().item<double>(), n1 = after.norm().item<double>();
  const double cosine = before.dot(after).item<double>() / (n0 * n1);
  const double angle = std::acos(std::min(1.0, cosine));
  EXPECT_NEAR(std::stod(row.at("angular_update")) / angle, 1.0, 1e-6);
  EXPECT_NEAR(std::stod(row.at("relative_update")), (after - before).norm().item<double>() / n0, 1e-12);
  EXPECT_NEAR(std::stod(row.at("weight_norm")), n1, 1e-12);
  EXPECT_NEAR(std::stod(row.at("effective_lr")), 0.05 / (n0 * n0), 1e-12);  // lr / |w|^2
  EXPECT_NEAR(std::stod(row.at("decay_budget")), 5 * 0.05 * 0.2, 1e-12);
  EXPECT_NEAR(std::stod(row.at("decay_rate")), 0.05 * 0.2, 1e-15);
  // The aggregate in metrics.csv is the mean over the tracked tensors (fc1, fc2).
  const auto rows = swd::run::parse_metrics_csv(swd_test::slurp(dir + "/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  const auto other = dynamics_row(dir, 2, "fc2.weight");
  EXPECT_NEAR(rows[1].angular_update, (std::stod(row.at("angular_update")) + std::stod(other.at("angular_update"))) / 2, 1e-15);
  EXPECT_NEAR(rows[1].decay_budget, 1.0 * 5 * 0.05 * 0.2, 1e-12);

  // swd plan says the same budget before training: exact for decoupled decay.
  auto plan = swd_test::run_swd("plan" + kRun + opt + " --epochs 1 --limit-batches 4");
  ASSERT_EQ(plan.status, 0) << plan.output;
  EXPECT_NE(plan.output.find("budget 0.04 e-folds (exact; tracked weights)"), std::string::npos) << plan.output;
  EXPECT_NE(plan.output.find("verdict: short"), std::string::npos) << plan.output;
}

TEST(DynamicsCli, PlanMatchesTheMeasuredBudgetWithSchedules) {
  // SGD (L2, momentum 0.9), a step schedule and a warm-up: the plan sums lr_t x wd x 10 over
  // the steps exactly as the run decays; SGDS and AdamW (decoupled) likewise.
  for (const std::string opt : {" --optimizer sgd --weight-decay 0.01", " --optimizer sgds --weight-decay 0.01",
                                " --optimizer adamw --weight-decay 0.5"}) {
    const auto dir = swd_test::fresh_dir("dynamics_plan") + "/run";
    const std::string args = kRun + opt + " --epochs 3 --lr-schedule step --warmup-epochs 1 --dynamics-every 5";
    auto run = swd_test::run_swd("train" + args + " --out " + dir);
    ASSERT_EQ(run.status, 0) << run.output;
    const auto rows = swd::run::parse_metrics_csv(swd_test::slurp(dir + "/metrics.csv"));
    auto plan = swd_test::run_swd("plan" + args);
    ASSERT_EQ(plan.status, 0) << plan.output;
    char expected[64];
    std::snprintf(expected, sizeof expected, "budget %.3g e-folds (exact", rows.back().decay_budget);
    EXPECT_NE(plan.output.find(expected), std::string::npos) << opt << ": " << plan.output;
  }
}

TEST(DynamicsCli, ResumeMidEpochKeepsTheDynamicsBitwise) {
  const auto dir = swd_test::fresh_dir("dynamics_resume");
  const std::string args = "train" + kRun + " --optimizer adams --epochs 2 --dynamics-every 3 --log-every 2";
  auto whole = swd_test::run_swd(args + " --out " + dir + "/whole");
  ASSERT_EQ(whole.status, 0) << whole.output;
  ::setenv("SWD_TEST_KILL_AFTER_CHECKPOINT", "11", 1);  // mid-epoch 2 (8 steps per epoch)
  auto killed = swd_test::run_swd(args + " --checkpoint-every 11 --out " + dir + "/parts");
  ::unsetenv("SWD_TEST_KILL_AFTER_CHECKPOINT");
  ASSERT_NE(killed.status, 0) << killed.output;
  auto resumed = swd_test::run_swd("train --resume --out " + dir + "/parts");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(swd_test::slurp(dir + "/parts/dynamics.csv"), swd_test::slurp(dir + "/whole/dynamics.csv"));
  EXPECT_EQ(swd_test::rows_without_seconds(dir + "/parts"), swd_test::rows_without_seconds(dir + "/whole"));
  const auto rows = swd::run::parse_metrics_csv(swd_test::slurp(dir + "/whole/metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_GT(rows[1].decay_budget, rows[0].decay_budget);
  EXPECT_GT(rows[1].angular_update, 0);
  // steps.jsonl carries the interval's dynamics, per tensor too.
  const auto steps = swd_test::slurp(dir + "/whole/steps.jsonl");
  EXPECT_NE(steps.find("\"dynamics\":{\"weight_norm\""), std::string::npos) << steps.substr(0, 400);
  EXPECT_NE(steps.find("\"fc2.weight\":{"), std::string::npos);
}

TEST(DynamicsCli, EvalEveryLeavesTestColumnsEmptyAndBestSkipsThem) {
  const auto dir = swd_test::fresh_dir("eval_every") + "/run";
  auto run = swd_test::run_swd("train" + kRun + " --epochs 3 --eval-every 2 --out " + dir);
  ASSERT_EQ(run.status, 0) << run.output;
  const auto rows = swd::run::parse_metrics_csv(swd_test::slurp(dir + "/metrics.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(std::isnan(rows[0].test_error));   // epoch 1: not evaluated
  EXPECT_FALSE(std::isnan(rows[1].test_error));  // epoch 2
  EXPECT_FALSE(std::isnan(rows[2].test_error));  // the last epoch always
  EXPECT_EQ(run.output.find("(epoch 1)"), std::string::npos) << run.output;  // best among evaluated
  auto bad = swd_test::run_swd("train" + kRun + " --eval-every 0 --out " + dir + "2");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("eval-every"), std::string::npos) << bad.output;
}

}  // namespace
