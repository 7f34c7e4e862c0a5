// The checkpoint loader on arbitrary files: the container parser on its own (checksum
// skipped), then the whole loader on the input with its checksum made right, so that the
// fuzzer gets past the checksum to the JSON, tensor and model checks. Malformed input must
// end in a clear error.
#include <torch/nn/modules/linear.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "../src/run/tensor_file.h"
#include "fuzz_input.h"
#include "swd/optim/adam.h"
#include "swd/run/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    swd::run::decode_tensor_file(bytes, /*check_crc=*/false);
  } catch (const std::runtime_error&) {
  }
  if (bytes.size() >= 4) {  // the last 4 bytes are the CRC-32 of the rest
    const auto crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()),
              static_cast<uInt>(bytes.size() - 4)));
    std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
  }
  const auto path = swd_fuzz::write_input("checkpoint.pt", reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size());
  torch::nn::Linear model(2, 2);
  swd::optim::Adam optimizer(model->parameters(),
                             swd::optim::AdamOptions(1e-3).decay(swd::optim::Decay::Stable));
  try {
    swd::run::load_checkpoint(path, *model, optimizer);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
