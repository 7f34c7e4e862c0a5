// The checkpoint loader on arbitrary files. Malformed input must end in a clear error.
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <stdexcept>

#include "fuzz_input.h"
#include "swd/optim/adam.h"
#include "swd/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = swd_fuzz::write_input("checkpoint.pt", data, size);
  torch::nn::Linear model(2, 2);
  swd::optim::Adam optimizer(model->parameters(),
                             swd::optim::AdamOptions(1e-3).decay(swd::optim::Decay::Stable));
  try {
    swd::train::load_checkpoint(path, *model, optimizer);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
