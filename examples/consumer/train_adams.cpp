// A small model trained with AdamS: the whole public API a newcomer needs, in one file.
// Built in-tree (examples/) and, as a separate project, against the installed package
// (examples/consumer/).
#include <swd/swd.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  swd::configure_threads();
  torch::manual_seed(0);

  // A teacher network labels random inputs; the student learns to imitate it.
  torch::nn::Sequential teacher(torch::nn::Linear(20, 32), torch::nn::ReLU(),
                                torch::nn::Linear(32, 4));
  torch::nn::Sequential student(torch::nn::Linear(20, 64), torch::nn::ReLU(),
                                torch::nn::Linear(64, 4));
  auto x = torch::randn({2048, 20});
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = teacher->forward(x).argmax(1);
  }

  // Biases get no weight decay; everything else gets AdamS's stable weight decay.
  namespace so = swd::optim;
  const auto options = so::AdamOptions(1e-3).weight_decay(5e-4);
  auto groups = so::make_decay_groups(*student, options);
  so::AdamS optimizer(groups.groups, options);
  std::printf("decayed tensors: %lld, not decayed: %lld\n",
              static_cast<long long>(groups.decay_tensors),
              static_cast<long long>(groups.no_decay_tensors));

  for (int step = 1; step <= steps; ++step) {
    auto batch = torch::randint(0, x.size(0), {128});
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(student->forward(x.index({batch})),
                                                     y.index({batch}));
    loss.backward();
    optimizer.step();
    if (step == 1 || step % (steps / 10 > 0 ? steps / 10 : 1) == 0) {
      std::printf("step %4d  loss %.4f  sqrt(vbar) %.3e\n", step, loss.item<double>(),
                  std::sqrt(optimizer.vbar().item<double>()));
    }
  }
  return 0;
}
