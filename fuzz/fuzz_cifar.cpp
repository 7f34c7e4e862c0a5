// CIFAR-10 / CIFAR-100 binary reader; the first byte picks the layout. Malformed input must
// end in a DataError.
#include <cstdint>

#include "../src/data/readers.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto path = swd_fuzz::write_input("cifar.bin", data + 1, size - 1);
  const auto layout = data[0] & 1 ? swd::data::detail::cifar100_layout()
                                  : swd::data::detail::cifar10_layout();
  try {
    swd::data::detail::read_cifar({path}, layout);
  } catch (const swd::data::DataError&) {
  }
  return 0;
}
