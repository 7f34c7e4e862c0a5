// For scripts/check_state_dict.py: writes, for every model of the zoo, DIR/<model>.pt (its
// state_dict with PyTorch's names, models/state_dict.h) and DIR/<model>.check.pt ({"images",
// "logits"}: eval-mode logits of the C++ model). BatchNorm running statistics are first moved
// away from their initial values by three train-mode passes, so buffers are checked too.
#include <ATen/ops/randn.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "swd/models/models.h"
#include "swd/models/state_dict.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  auto write = [](const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out) throw std::runtime_error("cannot write " + path);
  };
  torch::NoGradGuard no_grad;
  int64_t seed = 0;
  for (const auto& name : swd::models::model_names()) {
    const bool small = name == "mlp" || name == "cnn" || name == "mlp-bn" || name == "cnn-bn";
    const swd::models::InputSpec spec{small ? 1 : 3, small ? 28 : 32, small ? 28 : 32, 10};
    torch::manual_seed(++seed);
    auto model = swd::models::make_model(name, spec);
    for (int i = 0; i < 3; ++i) model->forward(at::randn({4, spec.channels, spec.height, spec.width}));
    model->eval();
    const auto images = at::randn({2, spec.channels, spec.height, spec.width});
    const auto logits = model->forward(images);
    write(dir + "/" + name + ".pt",
          swd::models::state_dict_bytes(swd::models::torch_state_dict(name, *model)));
    write(dir + "/" + name + ".check.pt",
          swd::models::state_dict_bytes({{"images", images}, {"logits", logits}}));
    std::printf("%s\n", name.c_str());
  }
  return 0;
}
