#pragma once
// Process-wide settings every swd program should make first.

namespace swd {

/// Sets LibTorch's intra-op thread count (it defaults to 1 here): `requested` if > 0, else
/// the number of cores. Returns the count set.
int configure_threads(int requested = 0);

}  // namespace swd
