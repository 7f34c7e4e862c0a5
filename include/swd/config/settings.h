#pragma once
// The run's settings that are words, as types. Each is parsed from its word once, where the
// configuration is read (config.h); the words, the parse and the choices that --help and the
// error messages list come from one table per setting (util/words.h). The schedule's kinds and
// the large-batch rules are the schedule's own (schedule/schedule.h, schedule/scaling.h).

#include <string>
#include <vector>

namespace swd {
namespace config {

/// --progress: auto (a bar on a terminal, else lines), bar, line, none (progress.h).
enum class ProgressMode { Auto, Bar, Line, None };
/// --precision: fp32, or bf16 autocast in the forward pass (device.h).
enum class Precision { FP32, BF16 };
/// --on-nonfinite: a non-finite loss or gradient stops the run, or its step is skipped.
enum class OnNonFinite { Stop, Skip };

/// Each setting's words in order, its value from a word (std::invalid_argument naming the word
/// and the choices) and its word.
const std::vector<std::string>& progress_mode_names();
ProgressMode progress_mode_from_string(const std::string& name);
std::string to_string(ProgressMode mode);

const std::vector<std::string>& precision_names();
Precision precision_from_string(const std::string& name);
std::string to_string(Precision precision);

/// The forms --device takes, as its help and its error show them.
extern const char* const kDeviceForms;  // "auto | cpu | cuda | cuda:N"

/// --device: throws ConfigError unless `spec` is one of kDeviceForms (N a non-negative
/// integer). Checks the form only: what exists is checked by train::resolve_device.
void check_device_spec(const std::string& spec);

const std::vector<std::string>& on_nonfinite_names();
OnNonFinite on_nonfinite_from_string(const std::string& name);
std::string to_string(OnNonFinite action);

}  // namespace config

// The training loop works in the configuration's words: train::TrainConfig, train::ConfigError
// and the rest name the same entities as config::.
namespace train {
using namespace config;
}  // namespace train
}  // namespace swd
