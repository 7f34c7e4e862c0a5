// The tables of the run's words-settings (settings.h).
#include "swd/train/settings.h"

#include "swd/util/words.h"

namespace swd {
namespace train {

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

}  // namespace train
}  // namespace swd
