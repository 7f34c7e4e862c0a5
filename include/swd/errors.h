#pragma once
// The error convention of swd. A bad value from the caller throws std::invalid_argument (or a
// subclass such as ConfigError), a failure of data, files, the network or the run throws
// std::runtime_error (or a subclass: DataError, DistError, NonFiniteError, StableDecayError),
// a broken internal invariant throws std::logic_error; LibTorch's TORCH_CHECK is not used by
// swd's own code. A message names the bad value and what was expected:
//   "<where>: invalid <name> <value> (expected <condition>)".
// LibTorch's own errors (c10::Error) carry a backtrace after the first line; message_of() is
// the one way swd shows any exception in one line.

#include <exception>
#include <string>

namespace swd {

/// The first line of e.what(), without LibTorch's backtrace.
std::string message_of(const std::exception& e);

}  // namespace swd
