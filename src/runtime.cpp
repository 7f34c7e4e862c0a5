#include "swd/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <malloc.h>

#include <cstdlib>

#include "swd/util/process.h"

namespace swd {

int configure_threads(int requested) {
  const int threads = requested > 0 ? requested : util::available_cores();
  at::set_num_threads(threads);
  return threads;
}

void configure_allocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr ||
      std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) {
    return;  // the user's choice wins
  }
  // Blocks up to 32 MiB (glibc's largest threshold) come from the heap, which is trimmed only
  // beyond 1 GiB of free memory at its top.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

bool configure_denormals() {
  const bool supported = at::globalContext().setFlushDenormal(true);
  // Each thread has its own floating-point control register: set it in every thread of the
  // team ATen's parallel regions use (libgomp keeps the same threads from region to region).
#pragma omp parallel num_threads(at::get_num_threads())
  at::globalContext().setFlushDenormal(true);
  return supported;
}

}  // namespace swd
