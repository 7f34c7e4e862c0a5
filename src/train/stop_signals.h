#pragma once
// SIGINT / SIGTERM while training: the first one asks the loop to finish its step, write a
// checkpoint and stop; a second one ends the process at once (the default action).

namespace swd {
namespace train {

class StopSignals {
 public:
  StopSignals();   ///< installs the handlers
  ~StopSignals();  ///< restores the previous ones
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// The signal received, or 0.
  static int received();
};

}  // namespace train
}  // namespace swd
