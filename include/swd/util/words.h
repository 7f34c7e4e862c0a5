#pragma once
// Settings that are words (a decay mode, a schedule kind, a scaling rule, ...): each one's
// words and the values they stand for stated once, in one table, from which come the parse,
// the name of a value, and the list of choices that help and error messages show.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace swd {
namespace util {

/// One word of a setting and the value it stands for.
template <typename E>
struct Word {
  const char* name;
  E value;
};

/// The words of `table`, in order.
template <typename E, std::size_t N>
std::vector<std::string> word_names(const Word<E> (&table)[N]) {
  std::vector<std::string> names;
  for (const auto& word : table) names.emplace_back(word.name);
  return names;
}

/// "a, b, c" (`separator` ", ") or "a | b | c" (" | "), as messages and help list choices.
inline std::string join_words(const std::vector<std::string>& words, const char* separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) out += (i ? separator : "") + words[i];
  return out;
}

/// The value `name` stands for. Throws std::invalid_argument "unknown WHAT 'NAME' (expected
/// one of a, b, c)".
template <typename E, std::size_t N>
E parse_word(const Word<E> (&table)[N], const std::string& name, const std::string& what) {
  for (const auto& word : table) {
    if (name == word.name) return word.value;
  }
  throw std::invalid_argument("unknown " + what + " '" + name + "' (expected one of " +
                              join_words(word_names(table)) + ")");
}

/// The word of `value` ("unknown" for a value outside the table).
template <typename E, std::size_t N>
std::string word_of(const Word<E> (&table)[N], E value) {
  for (const auto& word : table) {
    if (word.value == value) return word.name;
  }
  return "unknown";
}

}  // namespace util
}  // namespace swd
