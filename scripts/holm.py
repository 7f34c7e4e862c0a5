#!/usr/bin/env python3
"""The Holm correction across every primary test that docs/REPRODUCTION.md quotes.

Each sweep config under docs/reproduction/configs/ with an [analysis] section states its primary
tests before its runs. A sweep whose results folder holds a primary.csv (written by swd report)
contributes the p-value of each test whose two arms have every seed of the grid done (the
paired t test, two-sided, as swd report gives it; a test's n is fixed by the config, so the
runs of other cells do not change it). A planned test without results, or with fewer seeds
done than the grid has (an interim look), counts as p = 1, so that running fewer sweeps, or
fewer seeds, never makes the others look stronger. Holm's step-down over all m
tests: the i-th smallest p (i = 1..m) is multiplied by m - i + 1, and the adjusted values are
made non-decreasing; a test is supported when its adjusted p < 0.05 and its difference lies on
the predicted side.

    scripts/holm.py > docs/reproduction/results/holm.txt
"""
import csv
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CONFIGS = os.path.join(ROOT, "docs", "reproduction", "configs")
RESULTS = os.path.join(ROOT, "docs", "reproduction", "results")
ALPHA = 0.05


def planned_tests(path):
    """The primary tests a config states (the text form: one quoted string per test)."""
    text = open(path).read()
    section = re.search(r"^\[analysis\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if not section:
        return []
    primary = re.search(r"primary\s*=\s*\[(.*?)\]", section.group(1), re.S)
    return re.findall(r'"([^"]+)"', primary.group(1)) if primary else []


def main():
    rows = []  # (sweep, test, p, direction ok, mean, lo, hi)
    for name in sorted(os.listdir(CONFIGS)):
        if not name.endswith(".toml"):
            continue
        sweep = name[:-len(".toml")]
        tests = planned_tests(os.path.join(CONFIGS, name))
        if not tests:
            continue
        primary = os.path.join(RESULTS, sweep, "primary.csv")
        if not os.path.exists(primary):
            rows += [(sweep, test, 1.0, False, None, None, None) for test in tests]
            continue
        with open(os.path.join(RESULTS, sweep, "runs.csv"), newline="") as f:
            seeds = len({r["seed"] for r in csv.DictReader(f)})  # the grid's seeds
        with open(primary, newline="") as f:
            found = list(csv.DictReader(f))  # swd report writes the config's tests in order
        if len(found) != len(tests):
            sys.exit(f"{primary}: {len(found)} tests, the config states {len(tests)}: rerun swd report")
        for r in found:
            if int(r["n"] or 0) < seeds:  # an interim look: the test waits for all its seeds
                rows.append((sweep, r["test"], 1.0, False, f"interim ({r['n'] or 0} of {seeds} seeds)",
                             None, None))
                continue
            mean = float(r["diff_mean"])
            side = mean < 0 if r["predicted"].strip() == "< 0" else mean > 0
            rows.append((sweep, r["test"], float(r["p"]), side, mean, float(r["diff_ci95_lo"]),
                         float(r["diff_ci95_hi"])))
    m = len(rows)
    order = sorted(range(m), key=lambda i: rows[i][2])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * rows[i][2]))
        adjusted[i] = running
    print(f"Holm over {m} primary tests (configs with [analysis] under docs/reproduction/configs; "
          f"a test without results, or with fewer seeds done than its grid plans, counts as p = 1); "
          f"alpha {ALPHA}")
    print("sweep | test | A - B mean [95% CI] (pp) | p | Holm-adjusted p | verdict")
    for i, (sweep, test, p, side, mean, lo, hi) in enumerate(rows):
        if mean is None or isinstance(mean, str):
            print(f"{sweep} | {test} | {mean or 'not run'} | 1 | 1 | pending")
            continue
        verdict = "supported" if side and adjusted[i] < ALPHA else "not supported"
        print(f"{sweep} | {test} | {100 * mean:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | "
              f"{p:.3g} | {adjusted[i]:.3g} | {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
