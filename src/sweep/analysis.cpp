// [analysis] primary tests: parsing, checking against the grid, and their sweep.json form.
#include "swd/sweep/analysis.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "swd/config/config.h"
#include "swd/sweep/measures.h"
#include "swd/sweep/plan.h"

namespace swd {
namespace sweep {

using Json = nlohmann::ordered_json;
using train::ConfigError;

namespace {

const char* const kForm =
    "expected \"A - B < 0\" or \"A - B > 0\", then optionally \"on METRIC\" and \"at KEY=VALUE, "
    "...\", e.g. \"adams - adamw < 0 on final_test_error at weight-decay=5e-3\"";

std::string trim(const std::string& text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

/// The text with the spaces around every '=' removed, split at whitespace.
std::vector<std::string> tokens_of(const std::string& text) {
  std::string joined;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      while (!joined.empty() && std::isspace(static_cast<unsigned char>(joined.back()))) joined.pop_back();
      joined += '=';
      while (i + 1 < text.size() && std::isspace(static_cast<unsigned char>(text[i + 1]))) ++i;
    } else {
      joined += text[i];
    }
  }
  std::vector<std::string> out;
  std::string word;
  for (char ch : joined + " ") {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += ch;
    }
  }
  return out;
}

/// "< 0", "<0", "<" -> -1; "> 0", ">0", ">" -> +1; else 0.
int direction_of(const std::string& text) {
  std::string t;
  for (char ch : text) {
    if (!std::isspace(static_cast<unsigned char>(ch))) t += ch;
  }
  if (t == "<0" || t == "<") return -1;
  if (t == ">0" || t == ">") return 1;
  return 0;
}

std::string metric_list() {
  std::string names;
  for (const auto& m : measure_table()) names += (names.empty() ? "" : ", ") + std::string(m.name);
  return names;
}

/// A side's value as people read it, checked as a value its key can take.
std::string checked_value(const std::string& key, const std::string& text, const std::string& where) {
  const std::string json = json_from_text(text);
  check_train_setting(key, json, where);
  return display_value(json);
}

/// The checks every test passes, whichever form it was written in.
void check_test(PrimaryTest& t, const std::string& where) {
  if (t.a.empty() || t.b.empty()) throw ConfigError(where + ": A or B is empty (" + kForm + ")");
  if (t.axis == "seed") {
    throw ConfigError(where + ": seed cannot be compared (the tests are paired over seeds)");
  }
  t.a = checked_value(t.axis, t.a, where);
  t.b = checked_value(t.axis, t.b, where);
  if (same_value(t.a, t.b)) throw ConfigError(where + ": A and B are the same value " + t.a);
  if (!measure_named(t.metric)) {
    throw ConfigError(where + ": unknown metric '" + t.metric + "' (expected one of " + metric_list() + ")");
  }
  for (size_t i = 0; i < t.at.size(); ++i) {
    auto& [key, value] = t.at[i];
    key = normalise_key(key);
    if (key == t.axis || key == "seed") {
      throw ConfigError(where + ": 'at' cannot fix " + key + (key == "seed" ? " (the tests are paired over seeds)"
                                                                            : " (it is the setting compared)"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (t.at[j].first == key) throw ConfigError(where + ": 'at' fixes " + key + " twice");
    }
    value = checked_value(key, value, where);
  }
}

PrimaryTest from_text(const std::string& text, const std::string& where) {
  const auto tokens = tokens_of(text);
  PrimaryTest t;
  size_t i = 0;
  auto fail = [&](const std::string& why) { throw ConfigError(where + ": " + why + " (" + kForm + ")"); };
  if (tokens.size() < 4 || tokens[1] != "-") fail("no \"A - B\" at the start");
  const auto a = match_of(tokens[0]), b = match_of(tokens[2]);
  if (a.first != b.first) {
    fail("A and B name two different settings (" + a.first + ", " + b.first + ")");
  }
  t.axis = a.first;
  t.a = a.second;
  t.b = b.second;
  i = 3;
  std::string op = tokens[i++];
  if ((op == "<" || op == ">") && i < tokens.size() && tokens[i] == "0") op += tokens[i++];
  t.predicted = direction_of(op);
  if (t.predicted == 0) fail("after \"A - B\" comes \"< 0\" or \"> 0\", not '" + op + "'");
  if (i < tokens.size() && tokens[i] == "on") {
    if (++i >= tokens.size()) fail("\"on\" without a metric");
    t.metric = tokens[i++];
  }
  if (i < tokens.size() && tokens[i] == "at") {
    std::string rest;
    for (++i; i < tokens.size(); ++i) rest += tokens[i] + " ";
    size_t start = 0;
    while (start <= rest.size()) {
      const size_t comma = std::min(rest.find(',', start), rest.size());
      const std::string item = trim(rest.substr(start, comma - start));
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size() ||
          item.find(' ') != std::string::npos) {
        fail("'" + item + "' after \"at\" is not KEY=VALUE");
      }
      t.at.emplace_back(item.substr(0, eq), item.substr(eq + 1));
      start = comma + 1;
    }
  } else if (i < tokens.size()) {
    fail("unexpected '" + tokens[i] + "'");
  }
  return t;
}

PrimaryTest from_table(const Json& table, const std::string& where) {
  PrimaryTest t;
  std::string a, b;
  bool has_predict = false;
  for (const auto& [key, value] : table.items()) {
    if (key == "a" || key == "b" || key == "metric" || key == "predict") {
      if (!value.is_string()) throw ConfigError(where + ": " + key + " must be a string, got " + value.dump());
      const std::string text = value.get<std::string>();
      if (key == "a") a = text;
      if (key == "b") b = text;
      if (key == "metric") t.metric = text;
      if (key == "predict") {
        t.predicted = direction_of(text);
        has_predict = true;
        if (t.predicted == 0) {
          throw ConfigError(where + ": predict must be \"< 0\" or \"> 0\", got " + value.dump());
        }
      }
    } else if (key == "at") {
      if (!value.is_object()) throw ConfigError(where + ": at must be a table of settings, got " + value.dump());
      for (const auto& [k, v] : value.items()) {
        t.at.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
      }
    } else {
      throw ConfigError(where + ": unknown key '" + key + "' (expected a, b, predict, metric or at)");
    }
  }
  if (a.empty() || b.empty() || !has_predict) {
    throw ConfigError(where + ": a table needs a, b and predict (e.g. { a = \"adams\", b = \"adamw\", "
                      "predict = \"< 0\" })");
  }
  const auto ma = match_of(a), mb = match_of(b);
  if (ma.first != mb.first) {
    throw ConfigError(where + ": a and b name two different settings (" + ma.first + ", " + mb.first + ")");
  }
  t.axis = ma.first;
  t.a = ma.second;
  t.b = mb.second;
  return t;
}

std::string name_of(const std::string& axis, const std::string& value) {
  return axis == "optimizer" ? value : axis + "=" + value;
}

/// The value of `key` in `values`, or nullptr.
const std::string* lookup(const RunValues& values, const std::string& key) {
  for (const auto& [k, v] : values) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

std::string PrimaryTest::name_a() const { return name_of(axis, a); }
std::string PrimaryTest::name_b() const { return name_of(axis, b); }

std::string PrimaryTest::text() const {
  std::string text = name_a() + " - " + name_b() + (predicted < 0 ? " < 0" : " > 0") + " on " + metric;
  for (size_t i = 0; i < at.size(); ++i) text += (i ? ", " : " at ") + at[i].first + "=" + at[i].second;
  return text;
}

bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  return !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0' && x == y;
}

PrimaryTest parse_primary_test(const std::string& entry_json, const std::string& where) {
  const Json entry = Json::parse(entry_json, nullptr, false);
  const std::string here = where + " " + (entry.is_discarded() ? entry_json : entry.dump());
  PrimaryTest t;
  if (entry.is_string()) {
    t = from_text(entry.get<std::string>(), here);
  } else if (entry.is_object()) {
    t = from_table(entry, here);
  } else {
    throw ConfigError(here + ": a primary test is a string or a table (" + kForm + ")");
  }
  check_test(t, here);
  return t;
}

std::vector<PrimaryTest> parse_analysis(const std::string& table_json, const std::string& where) {
  const Json table = Json::parse(table_json, nullptr, false);
  if (!table.is_object()) throw ConfigError(where + ": [analysis] must be a table");
  std::vector<PrimaryTest> tests;
  for (const auto& [key, value] : table.items()) {
    if (key != "primary") {
      throw ConfigError(where + " [analysis]: unknown key '" + key + "' (expected primary)");
    }
    if (!value.is_array() || value.empty()) {
      throw ConfigError(where + " [analysis] primary: expected a non-empty list of tests, got " + value.dump());
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string here = where + " [analysis] primary entry " + std::to_string(i + 1);
      PrimaryTest t = parse_primary_test(value[i].dump(), here);
      for (const auto& earlier : tests) {
        if (earlier.text() == t.text()) throw ConfigError(here + ": the same test as an earlier entry (" + t.text() + ")");
      }
      tests.push_back(t);
    }
  }
  return tests;
}

bool in_arm(const PrimaryTest& t, const std::string& side, const RunValues& values) {
  const std::string* v = lookup(values, t.axis);
  if (!v || !same_value(*v, side)) return false;
  for (const auto& [key, value] : t.at) {
    const std::string* w = lookup(values, key);
    if (!w || !same_value(*w, value)) return false;
  }
  return true;
}

bool decides_a_test(const std::vector<PrimaryTest>& tests, const RunValues& values) {
  return std::any_of(tests.begin(), tests.end(),
                     [&](const PrimaryTest& t) { return in_arm(t, t.a, values) || in_arm(t, t.b, values); });
}

void check_tests_match_runs(const std::vector<PrimaryTest>& tests, const std::vector<RunValues>& runs) {
  for (size_t i = 0; i < tests.size(); ++i) {
    const auto& t = tests[i];
    for (const std::string& side : {t.a, t.b}) {
      const bool found =
          std::any_of(runs.begin(), runs.end(), [&](const RunValues& run) { return in_arm(t, side, run); });
      if (!found) {
        throw ConfigError("[analysis] primary entry " + std::to_string(i + 1) + " (" + t.text() +
                          "): no run of the grid has " + t.axis + "=" + side +
                          (t.at.empty() ? "" : " with the 'at' settings"));
      }
    }
  }
}

std::string analysis_json(const std::vector<PrimaryTest>& tests) {
  Json list = Json::array();
  for (const auto& t : tests) {
    Json entry = {{"a", t.name_a()}, {"b", t.name_b()}, {"predict", t.predicted < 0 ? "< 0" : "> 0"},
                  {"metric", t.metric}};
    if (!t.at.empty()) {
      entry["at"] = Json::object();
      for (const auto& [key, value] : t.at) entry["at"][key] = Json::parse(json_from_text(value));
    }
    list.push_back(entry);
  }
  return Json{{"primary", list}}.dump();
}

}  // namespace sweep
}  // namespace swd
