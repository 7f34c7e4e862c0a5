#pragma once
// "Did you mean": the nearest valid name to a mistyped one (a flag, a subcommand, a key).

#include <string>
#include <vector>

namespace swd {
namespace util {

/// The optimal-string-alignment distance of a and b: insertions, deletions, substitutions and
/// swaps of two neighbouring characters each count 1 ("trian" -> "train" is 1).
size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate nearest to `word`, compared with '_' read as '-' and case ignored, when it is
/// near enough to be a typo (distance at most 1 for names up to 4 characters, 2 up to 8, else
/// 3); "" otherwise. Ties go to the earlier candidate.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

/// " (did you mean 'NAME'?)" for nearest_name, or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace util
}  // namespace swd
