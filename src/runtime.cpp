#include "swd/runtime.h"

#include <ATen/Parallel.h>

#include <thread>

namespace swd {

int configure_threads(int requested) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
  return threads;
}

}  // namespace swd
