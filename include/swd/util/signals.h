#pragma once
// Stop signals turned into a flag the program polls: the one way swd catches SIGINT, SIGTERM
// and SIGHUP (the trainer, the sweep runner and the launcher of `swd train --nproc`).

#include <initializer_list>

namespace swd {
namespace util {

/// While alive, the signals given are remembered instead of ending the process; the destructor
/// puts the previous handlers back. The flag is the process's: catchers alive at the same time
/// (two trainings on two threads) share it, so one Ctrl-C stops them all, and the handlers are
/// installed by the first and restored by the last; the first one's signals and Repeat apply.
class SignalCatcher {
 public:
  /// What a signal does when one has already arrived and was not taken.
  enum class Repeat {
    Remember,     ///< remembered again (the program forwards or ignores it)
    EndsProcess,  ///< the default action: a second Ctrl-C stops a program that is finishing up
  };

  explicit SignalCatcher(std::initializer_list<int> signals, Repeat repeat = Repeat::Remember);
  ~SignalCatcher();
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

  /// The signal received, or 0.
  int received() const;
  /// The signal received, or 0, and forgets it (a later one is remembered again).
  int take();
};

}  // namespace util
}  // namespace swd
