// IDX reader (MNIST / Fashion-MNIST): the input is split into an images file and a labels
// file at the position its first two bytes give. Malformed input must end in a DataError.
#include <cstdint>
#include <cstring>

#include "../src/data/readers.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = std::min<size_t>(size - 2, (size_t(data[0]) << 8 | data[1]));
  const auto images = swd_fuzz::write_input("images-idx3-ubyte", data + 2, split);
  const auto labels = swd_fuzz::write_input("labels-idx1-ubyte", data + 2 + split, size - 2 - split);
  try {
    swd::data::detail::read_idx(images, labels, 10);
  } catch (const swd::data::DataError&) {
  }
  return 0;
}
