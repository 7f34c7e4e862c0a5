#pragma once
// Internal to the configuration code (config.cpp, config_file.cpp): how config files and
// config.json are read, and the limits that keep hostile input from exhausting the stack,
// the memory or the terminal.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace swd {
namespace config {
namespace detail {

using Json = nlohmann::json;

constexpr int kMaxConfigDepth = 8;                ///< nesting of JSON objects and lists
constexpr std::size_t kMaxConfigBytes = 1 << 20;  ///< a config file's size
constexpr std::size_t kMaxQuoted = 80;            ///< characters of a value quoted in a message

/// `text` as quoted in an error message: at most kMaxQuoted characters, then "... (N bytes)".
std::string cut(const std::string& text);

constexpr const char* kDerivedKey = "derived";  ///< the trainer's record in config.json
/// Keys of config.json that record what happened, not settings ("derived", "provenance"):
/// ignored when a configuration is read or compared.
inline bool is_record_key(const std::string& key) { return key == kDerivedKey || key == "provenance"; }

/// The whole of a settings file (config or sweep file) by util::read_file: a regular file (a
/// FIFO or device would block or never end) of at most kMaxConfigBytes. Throws ConfigError
/// naming the path.
std::string read_config_text(const std::string& path);

/// Parses a JSON document, refusing nesting deeper than kMaxConfigDepth and a key given twice
/// in one object. Throws ConfigError starting with `what` ("config file X", "configuration").
Json parse_config_json(const std::string& text, const std::string& what);

/// A JSON value as the text the key's parser takes: a scalar, or (list_allowed) a flat list
/// of scalars joined by commas. Anything else is a ConfigError naming the key.
std::string json_to_text(const std::string& key, const Json& v, bool list_allowed);

/// Whether `key` takes a list (milestones, betas). Throws ConfigError for an unknown key.
bool config_key_takes_list(const std::string& key);
/// The table's spelling of `raw_key` (dashes). Throws ConfigError for an unknown key.
std::string canonical_key(const std::string& raw_key);

}  // namespace detail
}  // namespace config
}  // namespace swd
