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

const char* measure_name(Measure m) {
  return m == Measure::FinalTestError ? "final_test_error" : "final_grad_norm";
}

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
    for (const auto& ga : results.groups) {
      if (ga.key[axis] != pair.a) continue;
      const auto gb = std::find_if(results.groups.begin(), results.groups.end(), [&](const Group& g) {
        return g.key[axis] == pair.b && rest_of(g) == rest_of(ga);
      });
      if (gb == results.groups.end()) continue;
      for (Measure m : kPairedMeasures) {
        Comparison c{pair, rest_axes, rest_of(ga), m, {}, {}};
        c.result = paired_groups(results, ga, *gb, m, &c.seeds);
        out.push_back(c);
      }
    }
  }
  return out;
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
    row.insert(row.end(), {measure_name(c.measure), std::to_string(d.n), seeds,
                           number(d.mean, d.n > 0), number(d.std, spread), number(d.lo, spread),
                           number(d.hi, spread), number(c.result.se_units(), spread),
                           comparison_verdict(c)});
    text += util::csv_line(row) + "\n";
  }
  return text;
}

}  // namespace report
}  // namespace swd
