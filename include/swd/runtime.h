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

/// Flushes denormal floats to zero (x86's FTZ and DAZ; ARM's FZ), in this thread and in every
/// thread of the intra-op pool (OpenMP's team, which keeps its threads between regions), and
/// in the threads started later. Numbers read or written after it lose their denormals too
/// (a comparison reads one as 0): swd train calls it once its settings are written. Weight decay drives
/// the weights that get no gradient (a dead unit's, a collapsed layer's) and their momentum
/// towards 0 geometrically; below 1.2e-38 (float32) they become denormal, and arithmetic on
/// denormals is 10 to 100 times slower: one run with a large weight decay took 45 s an epoch
/// instead of 2. Values that small are 0 for training. Returns whether the CPU supports it.
bool configure_denormals();

}  // namespace swd
