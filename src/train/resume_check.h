#pragma once
// What a resumed run is checked against: the checkpoint is the source of truth
// (docs/TRAINING.md, "Resuming").

#include <cstdint>
#include <string>

namespace swd {
namespace train {

/// Whether `key` may differ from the saved run's when resuming (how the run is carried out,
/// not what it computes: threads, progress, checkpoint cadence, accumulation, ...).
bool resume_may_change(const std::string& key);

/// Refuses (ConfigError naming the key and both values) a resume whose resolved settings
/// `config_json` (as written to config.json) differ from the checkpoint's own copy in a key
/// that may not change, a checkpoint whose copy is unreadable, and `epochs` below the epochs
/// the checkpoint has finished.
void check_resume_against_checkpoint(const std::string& checkpoint_path,
                                     const std::string& config_json, int64_t epochs);

/// Test hook: with SWD_TEST_KILL_AFTER_CHECKPOINT=N in the environment, the process kills
/// itself (SIGKILL) right after the mid-epoch checkpoint written after training step N.
void kill_after_checkpoint_if_asked(int64_t steps_done);

}  // namespace train
}  // namespace swd
