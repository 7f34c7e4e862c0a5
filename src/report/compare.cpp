// Paired comparisons over seeds, and paired.csv.
#include "swd/report/compare.h"

#include <algorithm>

#include "swd/util/csv.h"

namespace swd {
namespace report {

std::vector<PairSpec> paper_pairs() {
  return {{"optimizer", "sgds", "sgd"},
          {"optimizer", "adams", "adam"},
          {"optimizer", "adams", "adamw"},
          {"optimizer", "amsgrads", "amsgrad"},
          {"optimizer", "adais", "adai"},
          {"scale-rule", "wd", "lr"},
          {"scale-rule", "wd", "none"}};
}

namespace {

const Measure kPairedMeasures[] = {Measure::FinalTestError, Measure::FinalGradNorm};


}  // namespace

Paired paired_groups(const SweepResults& results, const Group& ga, const Group& gb, Measure measure,
                     std::vector<std::string>* seeds) {
  const auto seed_axis = std::find(results.axes.begin(), results.axes.end(), "seed");
  auto seed_of = [&](size_t run) {
    return seed_axis == results.axes.end()
               ? std::string()
               : results.runs[run].axis_values[seed_axis - results.axes.begin()];
  };
  std::vector<double> a, b;
  for (size_t ra : ga.runs) {
    for (size_t rb : gb.runs) {
      if (seed_of(ra) != seed_of(rb)) continue;
      if (seeds) seeds->push_back(seed_of(ra));
      a.push_back(measure_of(results.runs[ra], measure));
      b.push_back(measure_of(results.runs[rb], measure));
      break;
    }
  }
  return paired(a, b);
}

std::vector<Comparison> paired_comparisons(const SweepResults& results) {
  std::vector<PairSpec> pairs = paper_pairs();
  for (const auto& p : results.pairs) {
    if (std::find(pairs.begin(), pairs.end(), p) == pairs.end()) pairs.push_back(p);
  }
  return comparisons_of(results, pairs, {std::begin(kPairedMeasures), std::end(kPairedMeasures)});
}

std::vector<Comparison> pivot_comparisons(const SweepResults& results, Measure measure) {
  const std::string pivot = pivot_axis(results);
  if (pivot.empty()) return {};
  std::vector<PairSpec> known = paper_pairs();
  known.insert(known.end(), results.pairs.begin(), results.pairs.end());
  const auto values = results.values_of(pivot);
  std::vector<PairSpec> pairs;
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = i + 1; j < values.size(); ++j) {
      const PairSpec reversed{pivot, values[j], values[i]};
      const bool flip = std::find(known.begin(), known.end(), reversed) != known.end();
      pairs.push_back(flip ? reversed : PairSpec{pivot, values[i], values[j]});
    }
  }
  return comparisons_of(results, pairs, {measure});
}

std::vector<Comparison> comparisons_of(const SweepResults& results, const std::vector<PairSpec>& pairs,
                                       const std::vector<Measure>& measures) {
  std::vector<Comparison> out;
  for (const auto& pair : pairs) {
    const int axis = results.group_axis(pair.axis);
    if (axis < 0) continue;
    std::vector<std::string> rest_axes;
    for (const auto& a : results.group_axes) {
      if (a != pair.axis) rest_axes.push_back(a);
    }
    auto rest_of = [&](const Group& g) {
      std::vector<std::string> key = g.key;
      key.erase(key.begin() + axis);
      return key;
    };
    // A value matches however it is spelled (0 and 0.0); the comparison names the runs' own.
    for (const auto& ga : results.groups) {
      if (!sweep::same_value(ga.key[axis], pair.a)) continue;
      const auto gb = std::find_if(results.groups.begin(), results.groups.end(), [&](const Group& g) {
        return sweep::same_value(g.key[axis], pair.b) && rest_of(g) == rest_of(ga);
      });
      if (gb == results.groups.end()) continue;
      const PairSpec named{pair.axis, ga.key[axis], gb->key[axis]};
      for (Measure m : measures) {
        Comparison c{named, rest_axes, rest_of(ga), m, {}, {}};
        c.result = paired_groups(results, ga, *gb, m, &c.seeds);
        out.push_back(c);
      }
    }
  }
  return out;
}

namespace {

/// Whether every run of `group` has `value` for `key`: its grid value when `key` is an axis
/// (the weight decay the sweep names, before weight-decay-over-lr), else its config.json.
bool group_has(const SweepResults& results, const Group& group, const std::string& key,
               const std::string& value) {
  const int axis = results.group_axis(key);
  if (axis >= 0) return sweep::same_value(group.key[axis], value);
  if (key == "weight-decay") {
    const std::string nominal = nominal_weight_decay(results, group);
    if (!nominal.empty()) return sweep::same_value(nominal, value);
  }
  const auto column = std::find(results.axes.begin(), results.axes.end(), key);
  for (size_t r : group.runs) {
    const auto& run = results.runs[r];
    const std::string have = column != results.axes.end()
                                 ? run.axis_values[column - results.axes.begin()]
                                 : setting_of(run.config, key);
    if (!sweep::same_value(have, value)) return false;
  }
  return !group.runs.empty();
}

std::string prediction_verdict(int predicted, int observed) {
  return observed == 0 ? "inconclusive" : observed == predicted ? "supported" : "contradicted";
}

}  // namespace

std::string PrimaryResult::verdict() const {
  if (result.diff.n == 0) return "no data";
  if (interim()) {
    return "interim (" + std::to_string(result.diff.n) + " of " + std::to_string(planned_seeds) + " seeds)";
  }
  return prediction_verdict(test.predicted, result.sign());
}

std::string PrimaryResult::verdict_holm() const {
  if (result.diff.n == 0 || interim()) return verdict();
  const int observed = p_holm <= 0.05 ? (result.diff.mean < 0 ? -1 : 1) : 0;
  return prediction_verdict(test.predicted, observed);
}

std::string PrimaryResult::where() const {
  std::string text;
  for (const auto& [key, value] : test.at) text += (text.empty() ? "" : ", ") + key + "=" + value;
  for (size_t i = 0; i < open_axes.size(); ++i) {
    text += (text.empty() ? "" : ", ") + open_axes[i] + "=" + open[i];
  }
  return text;
}

std::vector<PrimaryResult> primary_results(const SweepResults& results) {
  std::vector<PrimaryResult> out;
  const size_t planned_seeds = results.values_of("seed").size();  // runs.csv lists every run
  for (const auto& test : results.primary) {
    const Measure measure = measure_named(test.metric)->measure;
    std::vector<std::string> open_axes;
    for (const auto& a : results.group_axes) {
      const bool fixed = std::any_of(test.at.begin(), test.at.end(), [&](const auto& kv) { return kv.first == a; });
      if (a != test.axis && !fixed) open_axes.push_back(a);
    }
    auto open_of = [&](const Group& g) {
      std::vector<std::string> values;
      for (const auto& a : open_axes) values.push_back(g.key[results.group_axis(a)]);
      return values;
    };
    auto is = [&](const Group& g, const std::string& side) {
      if (!group_has(results, g, test.axis, side)) return false;
      for (const auto& [key, value] : test.at) {
        if (!group_has(results, g, key, value)) return false;
      }
      return true;
    };
    const size_t before = out.size();
    for (const auto& ga : results.groups) {
      if (!is(ga, test.a)) continue;
      for (const auto& gb : results.groups) {
        if (!is(gb, test.b) || open_of(gb) != open_of(ga)) continue;
        PrimaryResult r;
        r.test = test;
        r.open_axes = open_axes;
        r.open = open_of(ga);
        r.planned_seeds = planned_seeds;
        r.result = paired_groups(results, ga, gb, measure, &r.seeds);
        if (r.result.diff.n == 0) continue;
        r.p = p_value(r.result);
        out.push_back(r);
        break;
      }
    }
    if (out.size() == before) {
      PrimaryResult none;
      none.test = test;
      out.push_back(none);
    }
  }
  std::vector<double> p;
  for (const auto& r : out) p.push_back(r.interim() ? 1.0 : r.p);  // an interim look counts as p = 1
  const auto adjusted = holm_adjust(p);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].p_holm = adjusted[i];
    out[i].holm_m = out.size();
  }
  return out;
}

std::string primary_csv(const std::vector<PrimaryResult>& results) {
  std::string text = util::csv_line({"test", "axis", "a", "b", "metric", "predicted", "settings", "n",
                                     "seeds", "diff_mean", "diff_std", "diff_se", "diff_ci95_lo",
                                     "diff_ci95_hi", "diff_in_se", "p", "verdict", "p_holm",
                                     "verdict_holm"}) + "\n";
  auto number = [](double v, bool defined) { return defined ? util::shortest_number(v) : ""; };
  for (const auto& r : results) {
    std::string seeds;
    for (const auto& s : r.seeds) seeds += (seeds.empty() ? "" : " ") + s;
    const Stat& d = r.result.diff;
    const bool spread = d.n > 1;
    text += util::csv_line({r.test.text(), r.test.axis, r.test.a, r.test.b, r.test.metric,
                            r.test.predicted < 0 ? "< 0" : "> 0", r.where(), std::to_string(d.n),
                            seeds, number(d.mean, d.n > 0), number(d.std, spread),
                            number(d.se(), spread), number(d.lo, spread), number(d.hi, spread),
                            number(r.result.se_units(), spread), number(r.p, spread), r.verdict(),
                            number(r.p_holm, true), r.verdict_holm()}) + "\n";
  }
  return text;
}

std::string comparison_verdict(const Comparison& c) {
  const bool error = c.measure == Measure::FinalTestError;
  return verdict(c.result, c.pair.a, c.pair.b, error, error);
}

std::string paired_csv(const std::vector<Comparison>& comparisons) {
  std::vector<std::string> rest_axes;
  for (const auto& c : comparisons) {
    for (const auto& a : c.rest_axes) {
      if (std::find(rest_axes.begin(), rest_axes.end(), a) == rest_axes.end()) rest_axes.push_back(a);
    }
  }
  // Settings that are the compared axis of a row have no value there: left empty.
  std::vector<std::string> header = {"axis", "a", "b"};
  for (const auto& a : rest_axes) header.push_back(a);
  for (const char* h : {"measure", "n", "seeds", "diff_mean", "diff_std", "diff_ci95_lo",
                        "diff_ci95_hi", "diff_in_se", "verdict"}) {
    header.push_back(h);
  }
  std::string text = util::csv_line(header) + "\n";
  auto number = [](double v, bool defined) { return defined ? util::shortest_number(v) : ""; };
  for (const auto& c : comparisons) {
    std::vector<std::string> row = {c.pair.axis, c.pair.a, c.pair.b};
    for (const auto& a : rest_axes) {
      const auto it = std::find(c.rest_axes.begin(), c.rest_axes.end(), a);
      row.push_back(it == c.rest_axes.end() ? "" : c.rest[it - c.rest_axes.begin()]);
    }
    std::string seeds;
    for (const auto& s : c.seeds) seeds += (seeds.empty() ? "" : " ") + s;
    const Stat& d = c.result.diff;
    const bool spread = d.n > 1;
    row.insert(row.end(), {measure_info(c.measure).name, std::to_string(d.n), seeds,
                           number(d.mean, d.n > 0), number(d.std, spread), number(d.lo, spread),
                           number(d.hi, spread), number(c.result.se_units(), spread),
                           comparison_verdict(c)});
    text += util::csv_line(row) + "\n";
  }
  return text;
}

}  // namespace report
}  // namespace swd
