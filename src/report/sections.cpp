// The sections report.md opens and closes with: the answer (the primary tests, or each
// optimizer against each other), the settings that differ between groups, and the settings
// every run shares.
#include <algorithm>

#include "markdown.h"

namespace swd {
namespace report {
namespace md {

namespace {

const char* const kDetectable =
    "detectable: the smallest difference these seeds could tell from 0 with the spread they "
    "show, the half-width of the 95% interval (t x SE); a true difference below it goes "
    "undetected, and one of about 1.4 times it is detected four times in five";

/// "0.12" (pp for errors): the detectable difference, or "-" for n < 2.
std::string detectable(const Paired& p, bool error) {
  const double d = detectable_difference(p);
  return std::isnan(d) ? "-" : format(error ? "%.2f" : "%.3g", (error ? 100 : 1) * d);
}

/// "optimizer adams, weight decay 0.005": a group in words.
std::string group_words(const SweepResults& r, const Group& g) {
  std::string who;
  for (size_t a = 0; a < r.group_axes.size(); ++a) {
    who += (a ? ", " : "") + value_label(r.group_axes[a], g.key[a]);
  }
  return who.empty() ? std::string("all runs") : who;
}

std::string primary_section(const std::vector<PrimaryResult>& primary) {
  std::string text =
      "## The answer: primary comparisons (fixed in advance)\n\nThe tests the sweep file's "
      "[analysis] section fixed before the runs, each paired over the seeds both groups ran "
      "(same seed: same initialisation, data order and subset). A - B: the mean difference, its "
      "95% confidence interval (Student t, n - 1 degrees of freedom) and standard error, in "
      "percentage points for errors; " + std::string(kDetectable) + "; p: the paired t test, "
      "two-sided. Verdict at the 95% level: supported when the interval lies on the predicted "
      "side of 0, contradicted when it lies on the other side, inconclusive when it contains 0. "
      "Holm's step-down correction (Holm 1979) adjusts the p-values for the " +
      std::to_string(primary.front().holm_m) +
      " primary tests of this report (a test without data counts, as p = 1); the last column "
      "is the verdict at the 95% level after it. A test with fewer seeds paired than the sweep "
      "plans is an interim look: its verdict waits for the rest, and Holm counts it as p = 1. "
      "primary.csv holds the same numbers unrounded.\n\n" +
      row({"test (A - B, predicted)", "at", "seeds", "A - B mean [95% CI]", "SE", "detectable", "p",
           "verdict", "p (Holm)", "verdict (Holm)"}) + rule(10);
  for (const auto& r : primary) {
    const bool error = measure_named(r.test.metric)->is_error;
    const Stat& d = r.result.diff;
    const std::string test = r.test.name_a() + " - " + r.test.name_b() +
                             (r.test.predicted < 0 ? " < 0" : " > 0") + " (" + r.test.metric + ")";
    text += row({test, r.where().empty() ? "-" : r.where(), std::to_string(d.n),
                 d.n == 0 ? "-" : difference(d, error) + (error ? " pp" : ""),
                 d.n > 1 ? format(error ? "%.2f" : "%.3g", (error ? 100 : 1) * d.se()) : "-",
                 detectable(r.result, error), p_text(r.p), "**" + r.verdict() + "**",
                 p_text(d.n == 0 ? NAN : r.p_holm), "**" + r.verdict_holm() + "**"});
  }
  return text + "\n**Exploratory.** Everything below was not fixed in advance: read it as "
                "exploratory, however small its intervals.\n\n";
}

}  // namespace

std::string answer_section(const SweepResults& r, const std::vector<PrimaryResult>& primary) {
  if (!primary.empty()) return primary_section(primary);
  const auto comparisons = pivot_comparisons(r);
  if (comparisons.empty()) return "";
  const std::string pivot = pivot_axis(r);
  std::vector<std::string> header = {"A - B"};
  for (const auto& a : comparisons.front().rest_axes) header.push_back(axis_title(a));
  for (const char* h : {"seeds", "mean [95% CI] (pp)", "detectable (pp)", "in SE", "verdict"}) {
    header.push_back(h);
  }
  std::string text =
      "## The answer: each " + axis_title(pivot) + " against each other\n\nThe sweep file fixed "
      "no primary tests ([analysis], docs/SWEEPS.md), so this is exploratory: each " +
      axis_title(pivot) + " against each other at the same other settings, final test error, "
      "A minus B over the seeds both ran (same seed: same initialisation, data order and "
      "subset), in percentage points: the mean difference and its 95% confidence interval "
      "(Student t, n - 1 degrees of freedom); " + kDetectable + "; the mean in standard "
      "errors; \"A better\" when the whole interval is below 0, \"B better\" when above. With "
      "this many comparisons, expect about one in twenty to exclude 0 by chance.\n\n" +
      row(header) + rule(header.size());
  for (const auto& c : comparisons) {
    std::vector<std::string> cells = {c.pair.a + " - " + c.pair.b};
    cells.insert(cells.end(), c.rest.begin(), c.rest.end());
    cells.push_back(std::to_string(c.result.diff.n));
    cells.push_back(difference(c.result.diff, true));
    cells.push_back(detectable(c.result, true));
    cells.push_back(in_se(c.result));
    cells.push_back(comparison_verdict(c));
    text += row(cells);
  }
  return text + "\n";
}

std::string differing_section(const SweepResults& r) {
  const auto keys = differing_settings(r);
  std::string text;
  if (!r.group_axes.empty() || !keys.empty()) {
    std::vector<std::string> header;
    for (const auto& axis : r.group_axes) header.push_back(axis_title(axis));
    for (const auto& key : keys) header.push_back(key);
    const bool applied_column = applied_varies(r);
    if (applied_column) header.push_back("weight decay applied");
    header.push_back("runs");
    text += "## Settings that differ between groups\n\nOne row per group (runs alike but for "
            "their seed): the settings compared" +
            std::string(keys.empty() ? "" : ", then those that differ with them (set by an "
                                             "override, or moving with the optimizer)") +
            (applied_column ? ", and the weight decay the runs were given (config.json)" : "") +
            "; \"-\" where a setting does not apply to a group's optimizer.\n\n" + row(header) +
            rule(header.size());
    for (const auto& g : r.groups) {
      std::vector<std::string> cells = g.key;
      const Settings& first = r.runs[g.runs.front()].settings;
      for (const auto& key : keys) {
        std::string value = setting_applies(key, first) ? setting_of(first, key) : "-";
        for (size_t i : g.runs) {
          if (setting_of(r.runs[i].settings, key) != setting_of(first, key)) value = "(varies)";
        }
        cells.push_back(value.empty() ? "(unset)" : value);
      }
      if (applied_column) cells.push_back(applied_weight_decay(r, g));
      cells.push_back(std::to_string(g.runs.size()));
      text += row(cells);
    }
    text += "\n";
  }
  std::vector<std::string> lines;
  for (const auto& g : r.groups) {
    if (!applied_differs(r, g)) continue;
    lines.push_back("- " + group_words(r, g) + ": weight decay " + nominal_weight_decay(r, g) +
                    " as named, " + applied_weight_decay(r, g) + " applied (config.json)");
  }
  if (!lines.empty()) {
    text += "Weight decay applied where it differs from the value named (weight-decay-over-lr, "
            "or AdamW's lambda / lr: the paper's convention); tables and figures place these "
            "runs at the value named and mark them:\n\n";
    for (const auto& l : lines) text += one_line(l) + "\n";
    text += "\n";
  }
  return text;
}

std::string shared_section(const SweepResults& r) {
  std::string text;
  Settings shown;
  for (const auto& kv : r.shared) {
    const bool applies = std::any_of(r.runs.begin(), r.runs.end(), [&](const RunResult& run) {
      return setting_applies(kv.first, run.settings);
    });
    if (applies) shown.push_back(kv);
  }
  if (!shown.empty()) {
    text += "## Settings shared by every run\n\nFrom the finished runs' config.json, the values "
            "as the runs resolved them (defaults included); settings that apply to none of the "
            "runs (momentum for Adam, betas for SGD, synthetic data sizes for a real dataset) and "
            "records of a start (threads, workers, progress, log settings, provenance) are left "
            "out.\n\n" + row({"setting", "value"}) + rule(2);
    for (const auto& [key, value] : shown) text += row({key, value.empty() ? "(empty)" : value});
    text += "\n";
  }
  if (r.runs_without_config > 0) {
    text += std::to_string(r.runs_without_config) + " finished runs have no config.json: their "
            "settings are not shown.\n\n";
  }
  return text;
}

}  // namespace md
}  // namespace report
}  // namespace swd
