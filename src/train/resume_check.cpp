#include "resume_check.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "../config/config_text.h"
#include "swd/config/config.h"
#include "swd/run/checkpoint.h"

namespace swd {
namespace train {

bool resume_may_change(const std::string& key) {
  static const std::vector<std::string> keys = {
      "epochs",           "threads", "workers", "progress", "limit-batches", "limit-test-batches",
      "checkpoint-every", "out",     "resume",  "log-every", "eval-every", "dynamics-every",
      "tensorboard",
      "device",  // checkpoints are device-independent: a run may continue elsewhere
      "accumulate"};  // [dist] the same global batch, split differently
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

void check_resume_against_checkpoint(const std::string& checkpoint_path,
                                     const std::string& config_json, int64_t epochs) {
  using Json = nlohmann::json;
  const run::CheckpointInfo info = run::read_checkpoint_info(checkpoint_path);
  const Json saved = Json::parse(info.config_json, nullptr, false);
  if (!saved.is_object()) {
    throw ConfigError("cannot resume from checkpoint " + checkpoint_path +
                      ": its copy of the configuration is not a JSON object");
  }
  const Json now = Json::parse(config_json);
  // A key the checkpoint predates had its default value then.
  const Json defaults = Json::parse(config_to_json(TrainConfig{}));
  for (const auto& [key, value] : now.items()) {
    if (detail::is_record_key(key) || resume_may_change(key)) continue;
    const Json& before = saved.contains(key) ? saved.at(key)
                         : defaults.contains(key) ? defaults.at(key) : value;
    if (before != value) {
      throw ConfigError("cannot resume: " + key + " is " + detail::cut(value.dump()) +
                        " but the checkpoint's run has " + detail::cut(before.dump()) +
                        " (the checkpoint " + checkpoint_path + " is the source of truth; "
                        "was config.json edited or a flag changed?)");
    }
  }
  const int64_t finished = info.position.epoch;
  if (epochs < finished) {
    throw ConfigError("cannot resume with --epochs " + std::to_string(epochs) + ": the run has " +
                      "already finished " + std::to_string(finished) + " epochs (give --epochs " +
                      std::to_string(finished) + " or more)");
  }
}

void kill_after_checkpoint_if_asked(int64_t steps_done) {
  static const char* const wanted = std::getenv("SWD_TEST_KILL_AFTER_CHECKPOINT");
  if (wanted != nullptr && std::to_string(steps_done) == wanted) std::raise(SIGKILL);
}

}  // namespace train
}  // namespace swd
