#pragma once
// A sweep file's [analysis]: the comparisons fixed before the runs (primary tests). Each
// names two values of one setting (A and B, as [report] pairs do), the measure, the sign of
// A - B the hypothesis predicts, and optionally the values of other settings it is made at:
//
//   [analysis]
//   primary = [
//     "adams - adamw < 0 on final_test_error at weight-decay = 5e-3",
//     "scale-rule=wd - scale-rule=none < 0 at batch-size = 4096, epochs = 10",
//     { a = "sgds", b = "sgd", predict = "< 0", metric = "final_test_error",
//       at = { weight-decay = 5e-3 } },
//   ]
//
// The text form is  A - B < 0  or  A - B > 0, then optionally  on METRIC  (default
// final_test_error), then optionally  at KEY=VALUE, KEY=VALUE ...  (spaces around '=' allowed;
// a value holding a comma needs the table form). A and B are an optimizer name ("adams") or
// KEY=VALUE ("scale-rule=wd"). `swd report` evaluates each test paired over seeds, once for
// every combination of the settings that vary and that `at` leaves open, and adjusts the
// verdicts for the number of tests (Holm). docs/SWEEPS.md has the whole format.

#include <string>
#include <utility>
#include <vector>

namespace swd {
namespace sweep {

struct PrimaryTest {
  std::string axis;   ///< the setting compared, with dashes: "optimizer", "scale-rule"
  std::string a, b;   ///< its two values, as people read them (display_value)
  std::string metric = "final_test_error";  ///< a name of measure_table() (measures.h)
  int predicted = -1;                       ///< the predicted sign of A - B: -1 (< 0) or +1 (> 0)
  /// Other settings fixed: key (dashes) and value as people read it, in the order written.
  std::vector<std::pair<std::string, std::string>> at;

  /// The test in its canonical text form: "adams - adamw < 0 on final_test_error at
  /// weight-decay=0.005".
  std::string text() const;
  /// "adams" for an optimizer, else "KEY=VALUE".
  std::string name_a() const;
  std::string name_b() const;
};

/// One entry of `primary`: its JSON text (a string in the text form, or a table with a, b,
/// predict, and optionally metric and at). Every name and value is checked as `swd train`
/// would check it; a bad entry throws train::ConfigError naming `where` and the entry.
PrimaryTest parse_primary_test(const std::string& entry_json, const std::string& where);

/// The [analysis] table (JSON text); `where` names the file. Only `primary` is known.
std::vector<PrimaryTest> parse_analysis(const std::string& table_json, const std::string& where);

/// Whether two values as people read them are the same: equal numbers when both are numbers
/// ("0.005" and "5e-3", "10" and "10.0"), else equal texts.
bool same_value(const std::string& a, const std::string& b);

/// Settings as (key with dashes, value as people read it).
using RunValues = std::vector<std::pair<std::string, std::string>>;
/// Whether the run with `values` is in arm `side` (A's or B's value) of test `t`: its value
/// of t.axis is `side` and it has every `at` value.
bool in_arm(const PrimaryTest& t, const std::string& side, const RunValues& values);
/// Whether the run is in either arm of some test of `tests` (the runs that decide them).
bool decides_a_test(const std::vector<PrimaryTest>& tests, const RunValues& values);

/// Throws train::ConfigError naming the test when one can match no run: for each of A and
/// B, some run must have that value and every `at` value. `runs`: each run's resolved
/// settings, with the weight decay the sweep names (before weight-decay-over-lr).
void check_tests_match_runs(const std::vector<PrimaryTest>& tests, const std::vector<RunValues>& runs);

/// The tests as the [analysis] table of sweep.json (JSON text): each one a table, so that a
/// report reads back exactly what the sweep file fixed.
std::string analysis_json(const std::vector<PrimaryTest>& tests);

}  // namespace sweep
}  // namespace swd
