// Config files (TOML or JSON) as (key, value text) entries, and the limits every settings
// file is read under: size, nesting, duplicate keys, length of quoted values.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "config_text.h"
#include "swd/config/config.h"
#include "swd/util/io.h"

namespace swd {
namespace config {
namespace detail {

std::string cut(const std::string& text) {
  if (text.size() <= kMaxQuoted) return text;
  return text.substr(0, kMaxQuoted) + "... (" + std::to_string(text.size()) + " bytes)";
}

std::string read_config_text(const std::string& path) {
  try {
    // A regular file only (a FIFO is refused, not waited on), refused unread when too large.
    return util::read_file(path, {"", "", kMaxConfigBytes});
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
}

Json parse_config_json(const std::string& text, const std::string& what) {
  std::vector<std::set<std::string>> open;  // the keys seen in each open object or list
  auto callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (open.size() >= static_cast<std::size_t>(kMaxConfigDepth)) {
          throw ConfigError(what + " nests lists or objects deeper than " +
                            std::to_string(kMaxConfigDepth) + " levels");
        }
        open.emplace_back();
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        open.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto key = parsed.get<std::string>();
        if (!open.empty() && !open.back().insert(key).second) {
          throw ConfigError(what + " gives the key '" + cut(key) + "' twice");
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, callback);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(what + " is not valid JSON: " + cut(e.what()));
  }
}

std::string json_to_text(const std::string& key, const Json& v, bool list_allowed) {
  if (v.is_null()) return "null";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();  // the shortest text that reads back exactly
  if (v.is_array()) {
    if (!list_allowed) {
      throw ConfigError("invalid value " + cut(v.dump()) + " for " + key +
                        " (expected a single value, not a list)");
    }
    std::string text;
    for (std::size_t i = 0; i < v.size(); ++i) text += (i ? "," : "") + json_to_text(key, v[i], false);
    return text;
  }
  throw ConfigError("invalid value for " + key + ": " + cut(v.dump()) +
                    " (expected a number, string, boolean or list)");
}

}  // namespace detail

namespace {

using detail::Json;

/// TOML 1.0 allows non-ASCII characters only inside strings and comments, and toml++ 3.3
/// reaches __builtin_unreachable (undefined behaviour) on some of them elsewhere (U+00A1..,
/// found by fuzz/fuzz_config). Refuse them outside strings and comments before parsing.
void reject_non_ascii_outside_strings(const std::string& text, const std::string& path) {
  enum class In { Code, Comment, Basic, Literal, MultiBasic, MultiLiteral } in = In::Code;
  int line = 1;
  auto starts = [&](size_t i, const char* token) { return text.compare(i, 3, token) == 0; };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    switch (in) {
      case In::Code:
        if (c == '#') in = In::Comment;
        else if (starts(i, "\"\"\"")) in = In::MultiBasic, i += 2;
        else if (starts(i, "'''")) in = In::MultiLiteral, i += 2;
        else if (c == '"') in = In::Basic;
        else if (c == '\'') in = In::Literal;
        else if (static_cast<unsigned char>(c) >= 0x80) {
          throw ConfigError("config file " + path + " is not valid TOML: a non-ASCII character "
                            "outside a string or comment on line " + std::to_string(line));
        }
        break;
      case In::Comment:
        if (c == '\n') in = In::Code;
        break;
      case In::Basic:
        if (c == '\\') ++i;
        else if (c == '"' || c == '\n') in = In::Code;
        break;
      case In::Literal:
        if (c == '\'' || c == '\n') in = In::Code;
        break;
      case In::MultiBasic:
        if (c == '\\') ++i;
        else if (starts(i, "\"\"\"")) in = In::Code, i += 2;
        break;
      case In::MultiLiteral:
        if (starts(i, "'''")) in = In::Code, i += 2;
        break;
    }
  }
}

/// A TOML value as JSON: scalars, and lists of numbers.
Json toml_value(const std::string& key, const toml::node& node, const std::string& path) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  if (node.is_boolean()) return *node.value<bool>();
  if (node.is_integer()) return *node.value<int64_t>();
  if (node.is_floating_point()) return *node.value<double>();
  if (const auto* arr = node.as_array()) {
    Json value = Json::array();
    for (const auto& item : *arr) {
      if (item.is_integer()) value.push_back(*item.value<int64_t>());
      else if (item.is_floating_point()) value.push_back(*item.value<double>());
      else throw ConfigError("invalid value for " + key + " in " + path + " (expected a list of numbers)");
    }
    return value;
  }
  throw ConfigError("invalid value for " + key + " in " + path +
                    " (expected a number, string, boolean or list)");
}

}  // namespace

void apply_config_file(TrainConfig& config, const std::string& path) {
  for (const auto& [key, text] : read_config_file(path)) set_config_value(config, key, text);
}

std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::map<std::string, std::string> spelling;  // the table's key -> the file's spelling
  TrainConfig scratch;  // each entry is checked as it is read
  std::string contents;  // the file's text, for the line of a bad key
  auto line_of = [&](const std::string& key) -> std::string {
    // The first line that starts (after spaces) with the key, bare or quoted, then = or :.
    size_t start = 0;
    for (int line = 1; start < contents.size(); ++line) {
      const size_t end = std::min(contents.find('\n', start), contents.size());
      size_t i = contents.find_first_not_of(" \t{,", start);
      if (i < end && contents[i] == '"') ++i;
      if (i < end && contents.compare(i, key.size(), key) == 0) {
        const size_t after = contents.find_first_not_of(" \t\"", i + key.size());
        if (after < end && (contents[after] == '=' || contents[after] == ':')) return " line " + std::to_string(line);
      }
      start = end + 1;
    }
    return "";
  };
  auto add = [&](const std::string& key, const Json& value) {
    if (detail::is_record_key(key)) return;
    std::string name, text;
    try {  // an unknown key, a bad value: named with the file and line
      name = detail::canonical_key(key);
      text = detail::json_to_text(key, value, detail::config_key_takes_list(key));
      set_config_value(scratch, key, text);
    } catch (const ConfigError& e) {
      throw ConfigError("config file " + path + line_of(key) + ": " + e.what());
    }
    if (const auto [it, fresh] = spelling.emplace(name, key); !fresh) {
      throw ConfigError("config file " + path + " sets " + name + " twice (as '" + it->second +
                        "' and as '" + detail::cut(key) + "'); keep one");
    }
    entries.emplace_back(key, text);
  };
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  if (ext != ".json" && ext != ".toml") {
    throw ConfigError("config file " + path + ": unknown extension '" + detail::cut(ext) +
                      "' (expected .toml or .json)");
  }
  const std::string text = detail::read_config_text(path);
  contents = text;
  if (ext == ".json") {
    const Json doc = detail::parse_config_json(text, "config file " + path);
    if (!doc.is_object()) throw ConfigError("config file " + path + " must hold a JSON object");
    for (const auto& [key, value] : doc.items()) add(key, value);
    return entries;
  }
  reject_non_ascii_outside_strings(text, path);
  toml::table doc;
  try {
    doc = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config file " << path << " is not valid TOML: " << detail::cut(std::string(e.description()))
        << " (line " << e.source().begin.line << ")";
    throw ConfigError(msg.str());
  }
  for (const auto& [raw_key, node] : doc) {
    const std::string key(raw_key.str());
    add(key, toml_value(key, node, path));
  }
  return entries;
}

}  // namespace config
}  // namespace swd
