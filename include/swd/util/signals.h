#pragma once
// Stop signals turned into a flag the program polls: the one way swd catches SIGINT, SIGTERM
// and SIGHUP (the trainer, the sweep runner and the launcher of `swd train --nproc`).
//
// One stop request often arrives as several signals: Ctrl-C reaches every process of the
// terminal's foreground group, so `timeout 300 swd train` gets SIGINT from the terminal and
// again from timeout, and a program that forwards signals may add a SIGTERM. Signals that
// arrive within kSameRequestSeconds of the one that made the request are that request.

#include <initializer_list>

namespace swd {
namespace util {

/// Seconds after a stop signal during which further stop signals are the same request.
constexpr double kSameRequestSeconds = 2.0;

/// While alive, the signals given are remembered instead of ending the process; the destructor
/// puts the previous handlers back. The flag is the process's: catchers alive at the same time
/// (two trainings on two threads) share it, so one Ctrl-C stops them all, and the handlers are
/// installed by the first and restored by the last; the first one's signals, Repeat and grace
/// apply.
class SignalCatcher {
 public:
  /// What a signal does that arrives more than `grace_seconds` after the request it follows.
  enum class Repeat {
    Remember,     ///< a new request: remembered again once the last one was taken
    EndsProcess,  ///< the default action: a second Ctrl-C stops a program that is finishing up
  };

  /// `grace_seconds`: how long after a request further signals are part of it (ignored).
  explicit SignalCatcher(std::initializer_list<int> signals, Repeat repeat = Repeat::Remember,
                         double grace_seconds = kSameRequestSeconds);
  ~SignalCatcher();
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;

  /// The signal of the request received, or 0.
  int received() const;
  /// The signal of the request received, or 0, and forgets it: a signal after the grace
  /// period of that request is a new request.
  int take();
};

}  // namespace util
}  // namespace swd
