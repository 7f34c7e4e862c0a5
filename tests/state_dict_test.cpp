// Weights PyTorch can read: the zoo's names under PyTorch's definitions, the state_dict file,
// model.pt / best.pt in a run folder and `swd export`. That torch.load reads these files and
// the PyTorch models give the same logits is checked by scripts/check_state_dict.py (ctest
// state_dict_torch_load).
#include <gtest/gtest.h>

#include <torch/nn/module.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_support.h"
#include "swd/models/models.h"
#include "swd/models/state_dict.h"
#include "swd/run/metrics.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"

namespace fs = std::filesystem;
using swd::models::torch_name;
using swd_test::fresh_dir;
using swd_test::run_swd;

namespace {

swd::models::NamedTensors read_weights(const std::string& path) {
  return swd::models::read_state_dict_bytes(swd::util::read_file(path));
}

TEST(StateDict, NamesFollowThePyTorchDefinitions) {
  EXPECT_EQ(torch_name("resnet18", "body.stem.conv.weight"), "conv1.weight");
  EXPECT_EQ(torch_name("resnet18", "body.layer2.0.conv2.bn.running_var"), "layer2.0.bn2.running_var");
  EXPECT_EQ(torch_name("resnet34", "body.layer2.0.shortcut.bn.num_batches_tracked"),
            "layer2.0.shortcut.1.num_batches_tracked");
  EXPECT_EQ(torch_name("resnet18", "head.bias"), "linear.bias");
  // cfg 64, 64, M, 128: the fourth entry's conv sits at 3 + 3 + 1 = 7, its BatchNorm at 8
  EXPECT_EQ(torch_name("vgg16", "body.3.bn.weight"), "features.8.weight");
  EXPECT_EQ(torch_name("vgg16", "head.weight"), "classifier.weight");
  EXPECT_EQ(torch_name("densenet121", "body.dense2.5.grow.conv.weight"), "stages.2.5.conv2.weight");
  EXPECT_EQ(torch_name("densenet121", "body.trans3.conv.bn.bias"), "stages.5.bn.bias");
  EXPECT_EQ(torch_name("googlenet", "body.a3.b4.1.bn.running_mean"), "a3.b4.2.running_mean");
  EXPECT_EQ(torch_name("googlenet", "body.e4.b3.2.conv.bias"), "e4.b3.6.bias");
  EXPECT_EQ(torch_name("resnet20", "layer3.2.bn2.weight"), "layer3.2.bn2.weight");
}

TEST(StateDict, ANameOutsideTheLayoutIsAnError) {
  for (const auto& [model, name] : std::vector<std::pair<std::string, std::string>>{
           {"vgg16", "body.2.conv.weight"},  // a max-pool has no parameters
           {"resnet18", "body.layer1.0.conv3.conv.weight"},
           {"googlenet", "stem.weight"}}) {
    try {
      torch_name(model, name);
      ADD_FAILURE() << model << " " << name;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(StateDict, EveryZooModelHasDistinctNamesForEveryTensor) {
  for (const auto& model : swd::models::model_names()) {
    const bool small = model.rfind("mlp", 0) == 0 || model.rfind("cnn", 0) == 0;
    auto net = swd::models::make_model(model, {small ? 1 : 3, small ? 28 : 32, small ? 28 : 32, 10});
    const auto state = swd::models::torch_state_dict(model, *net);
    std::set<std::string> names;
    for (const auto& [name, tensor] : state) names.insert(name);
    EXPECT_EQ(names.size(), state.size()) << model;
    EXPECT_EQ(state.size(), net->parameters().size() + net->buffers().size()) << model;
  }
}

TEST(StateDict, FileRoundTripsNamesAndValues) {
  auto net = swd::models::make_model("cnn-bn", {1, 28, 28, 10});
  const auto state = swd::models::torch_state_dict("cnn-bn", *net);
  const auto back = swd::models::read_state_dict_bytes(swd::models::state_dict_bytes(state));
  ASSERT_EQ(back.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_EQ(back[i].first, state[i].first);  // in order
    EXPECT_TRUE(back[i].second.equal(state[i].second)) << state[i].first;
  }
  EXPECT_THROW(swd::models::read_state_dict_bytes("SWDCKPT1 not a state_dict"), std::runtime_error);
}

const std::string kRun =
    "train --dataset synthetic --synthetic-train 512 --synthetic-test 128 --synthetic-size 8"
    " --model mlp-bn --batch-size 64 --threads 1 --progress none --epochs 3";

TEST(StateDict, RunWritesModelAndBestAndExportMatchesModel) {
  const auto out = fresh_dir("weights") + "/run";
  const auto r = run_swd(kRun + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto model = read_weights(out + "/model.pt");
  const auto best = read_weights(out + "/best.pt");
  ASSERT_EQ(model.size(), 14u);  // mlp-bn: 3 linear, 2 BatchNorm with 3 buffers each
  EXPECT_EQ(model[0].first, "fc1.weight");
  ASSERT_EQ(best.size(), model.size());
  // best.pt is the epoch of the lowest test error; model.pt the last epoch
  const auto rows = swd::run::parse_metrics_csv(swd_test::slurp(out + "/metrics.csv"));
  size_t best_row = 0;
  for (size_t i = 1; i < rows.size(); ++i) best_row = rows[i].test_error < rows[best_row].test_error ? i : best_row;
  EXPECT_EQ(best.back().first, "fc3.bias");
  EXPECT_EQ(best_row + 1 == rows.size(), best[0].second.equal(model[0].second));

  // swd export writes the checkpoint's weights: the same as model.pt
  const auto exported = out + "/exported.pt";
  const auto e = run_swd("export " + out + " --out " + exported);
  ASSERT_EQ(e.status, 0) << e.output;
  // ... and says what a Python user needs: every name with its shape, and the normalisation
  // the run applied (config.json's record, as the loaders used it).
  EXPECT_NE(e.output.find("state_dict of mlp-bn: 14 tensors"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("\n  fc1.weight [256, 64]\n"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("\n  bn2.num_batches_tracked []\n"), std::string::npos) << e.output;
  const auto input = nlohmann::json::parse(swd_test::slurp(out + "/config.json"))["derived"]["input"];
  ASSERT_EQ(input["mean"].size(), 1u);
  EXPECT_GT(input["std"][0].get<double>(), 0.0);
  EXPECT_NE(e.output.find("input: x = (byte / 255 - mean[c]) / std[c] per channel, mean [" +
                          swd::util::shortest_number(input["mean"][0].get<double>()) + "], std [" +
                          swd::util::shortest_number(input["std"][0].get<double>()) + "]"),
            std::string::npos)
      << e.output;
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, tensor] : read_weights(exported)) by_name[name] = tensor;
  ASSERT_EQ(by_name.size(), model.size());
  for (const auto& [name, tensor] : model) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_TRUE(by_name[name].equal(tensor)) << name;
  }
  // never over an existing file; a format it cannot write is named
  const auto again = run_swd("export " + out + " --out " + exported);
  EXPECT_EQ(again.status, 2);
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  const auto bad = run_swd("export " + out + " --format torchscript --out " + out + "/x.pt");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("'torchscript' for --format"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(out + "/x.pt"));
}

}  // namespace
