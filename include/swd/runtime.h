#pragma once
// Process-wide settings every swd program should make first.

namespace swd {

/// Sets LibTorch's intra-op thread count (it defaults to 1 here): `requested` if > 0, else
/// the cores this process may use (util::available_cores()). Returns the count set.
int configure_threads(int requested = 0);

/// Keeps memory freed between training steps in the process instead of handing it back to
/// the kernel after every step (glibc's default trims and unmaps it, and faulting it in again
/// tripled the CPU time of a CNN epoch here). Does nothing where the environment already sets
/// MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_. The numbers computed do not change.
void configure_allocator();

}  // namespace swd
