// The tables of the run's settings that are words, and the form of --device (settings.h).
#include "swd/config/settings.h"

#include "swd/config/config_error.h"
#include "swd/util/words.h"

namespace swd {
namespace config {

namespace {
constexpr util::Word<ProgressMode> kProgressModes[] = {{"auto", ProgressMode::Auto},
                                                       {"bar", ProgressMode::Bar},
                                                       {"line", ProgressMode::Line},
                                                       {"none", ProgressMode::None}};
constexpr util::Word<Precision> kPrecisions[] = {{"fp32", Precision::FP32}, {"bf16", Precision::BF16}};
constexpr util::Word<OnNonFinite> kOnNonFinite[] = {{"stop", OnNonFinite::Stop},
                                                    {"skip", OnNonFinite::Skip}};
}  // namespace

const std::vector<std::string>& progress_mode_names() {
  static const std::vector<std::string> names = util::word_names(kProgressModes);
  return names;
}
ProgressMode progress_mode_from_string(const std::string& name) {
  return util::parse_word(kProgressModes, name, "progress mode");
}
std::string to_string(ProgressMode mode) { return util::word_of(kProgressModes, mode); }

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = util::word_names(kPrecisions);
  return names;
}
Precision precision_from_string(const std::string& name) {
  return util::parse_word(kPrecisions, name, "precision");
}
std::string to_string(Precision precision) { return util::word_of(kPrecisions, precision); }

const std::vector<std::string>& on_nonfinite_names() {
  static const std::vector<std::string> names = util::word_names(kOnNonFinite);
  return names;
}
OnNonFinite on_nonfinite_from_string(const std::string& name) {
  return util::parse_word(kOnNonFinite, name, "on-nonfinite action");
}
std::string to_string(OnNonFinite action) { return util::word_of(kOnNonFinite, action); }

const char* const kDeviceForms = "auto | cpu | cuda | cuda:N";

void check_device_spec(const std::string& spec) {
  if (spec == "auto" || spec == "cpu" || spec == "cuda") return;
  if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 9 &&
      spec.find_first_not_of("0123456789", 5) == std::string::npos) {
    return;
  }
  throw ConfigError("invalid value '" + spec + "' for device (expected " + kDeviceForms + ")");
}

}  // namespace config
}  // namespace swd
