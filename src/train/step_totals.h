#pragma once
// A training step's numbers and the epoch's running totals they add to (EpochTotals), and
// when the host reads them back from the device (trainer.cpp, class Epochs).

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <algorithm>
#include <cstdint>

#include "swd/parallel/group.h"
#include "swd/run/checkpoint.h"

namespace swd {
namespace train {

/// One step's numbers on the device: this rank's loss summed over its samples (float64) and
/// misclassified samples, the squared norm of the summed gradient (float64), and the
/// samples (known on the host).
struct StepSums {
  at::Tensor loss_sum;
  at::Tensor wrong;
  at::Tensor grad_norm_sq;
  int64_t seen = 0;
};

/// A step's numbers on the host, agreed over the ranks.
struct Agreed {
  double loss_sum = 0, wrong = 0, seen = 0;
  double grad_norm = 0;     ///< sqrt(grad_norm_sq): the summed gradient is the same on every rank
  bool finite_loss = true;  ///< on every rank
  bool stop = false;        ///< a stop signal arrived on some rank
  double mean_loss() const { return loss_sum / std::max(seen, 1.0); }
};

/// Reads a step's numbers back now (one copy) and agrees on them over the ranks, with a
/// non-finite loss and a stop signal anywhere (one small sum; nothing to send with one
/// process). `stop_asked`: a stop signal arrived in this process.
Agreed agree_now(const StepSums& sums, parallel::Group& group, bool stop_asked);

/// The step totals of EpochTotals (loss sum, wrong, grad-norm sum and sum of squares) kept on
/// the device between readbacks. Each step adds its numbers there in float64 (wrong: int64),
/// in the order the host would add them, to totals that start from the host's: so what is
/// read back is bitwise what adding on the host gives. The first step whose loss or gradient
/// norm is non-finite is recorded there too. Samples and steps are counted on the host.
/// read() copies everything back in one transfer: the only synchronisation.
class DeviceTotals {
 public:
  /// Totals equal to `totals`, on `device`; nothing pending.
  void start(const run::EpochTotals& totals, const c10::Device& device);
  /// Adds the step that is training batch `training_batch` of the run (1-based).
  void add(const StepSums& sums, int64_t training_batch);
  /// Whether steps were added since the last read (or start).
  bool pending() const { return steps_ > 0; }

  /// A non-finite step recorded on the device.
  struct Bad {
    int64_t training_batch = 0;  ///< 0: none
    bool loss = false;           ///< the loss was non-finite (else only the gradient norm)
  };
  /// Copies the totals into `totals` and returns the last step's numbers; when a step since
  /// the last read was non-finite, only sets `bad` (totals unchanged).
  Agreed read(run::EpochTotals& totals, Bad& bad);

 private:
  at::Tensor loss_sum_, wrong_, grad_norm_sum_, grad_norm_sq_sum_;
  at::Tensor first_bad_;  ///< 2 x training batch + (1 when the loss is non-finite); 0: none
  at::Tensor last_loss_sum_, last_grad_norm_;
  int64_t last_seen_ = 0;
  int64_t seen_ = 0, steps_ = 0;  ///< since the last read
};

}  // namespace train
}  // namespace swd
