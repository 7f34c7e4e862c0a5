#!/usr/bin/python3
"""Writes the findings of docs/REPRODUCTION.md from the committed results, so that no number
in them is typed by hand:

    /usr/bin/python3 scripts/findings.py > docs/reproduction/results/findings.md

Reads, per claim that has been run, docs/reproduction/results/<name>/ as `swd report` wrote
it: summary.csv (one row per group of seeds: mean, sample std and the 95% confidence interval
of the mean, Student t), paired.csv (A - B over the seeds both ran, its 95% CI, the mean in
standard errors and the verdict) and, for the best weight decay, report.md's table. Verdicts
are paired.csv's: "A better" / "B better" when the paired CI excludes 0, else "no difference
detected" at that number of seeds; nothing here decides by a rule of its own.
"""
import csv
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "reproduction", "results")
CLAIMS = {
    "pilot-regime": "Pilot: where weight decay matters (mlp-bn)",
    "pilot-regime-cnn": "Pilot, CNN arm: where weight decay matters (cnn-bn, SGD)",
    "pilot-regime-cnn-adam": "Pilot, CNN arm: where weight decay matters (cnn-bn, Adam)",
    "pilot-regime-cnn-adam-decay": "Pilot, CNN arm: stable weight decay for Adam (cnn-bn, AdamS)",
    "claim1-swd-vs-l2-vs-decoupled": "Claim 1: stable vs L2 vs decoupled weight decay",
    "claim1-cnn-bn": "Claim 1 on cnn-bn: stable vs L2 vs decoupled weight decay",
    "claim2-batch-scaling": "Claim 2: the weight-decay linear scaling rule",
    "claim2-warmup": "Claim 2: learning-rate scaling with warm-up",
    "claim2-cnn-bn": "Claim 2 on cnn-bn: weight-decay scaling vs no scaling",
    "claim3-wd-vs-length": "Claim 3: best weight decay against training length",
    "claim3-cnn-bn": "Claim 3 on cnn-bn: best weight decay against training length",
    "claim4-gradient-norms": "Claim 4: gradient norms at the end of training",
}


def read_csv(name, file):
    path = os.path.join(ROOT, name, file)
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    value = row.get(key, "")
    return float(value) if value not in ("", None) else float("nan")


def pct(x):
    return f"{100 * x:.2f}%"


def err(row, measure="final_test_error"):
    """'12.34% (std 0.56%, 95% CI [11.65, 13.03])', or without CI for one seed."""
    text = f"{pct(num(row, measure + '_mean'))}"
    if row.get(measure + "_ci95_lo", "") != "":
        text += (f" (std {pct(num(row, measure + '_std'))}, 95% CI "
                 f"[{100 * num(row, measure + '_ci95_lo'):.2f}, {100 * num(row, measure + '_ci95_hi'):.2f}])")
    return text


def paired(rows, a, b, measure="final_test_error", **rest):
    """The paired.csv row of a - b for `measure` whose other settings are `rest`, as text."""
    for r in rows or []:
        if r["a"] == a and r["b"] == b and r["measure"] == measure and \
                all(r.get(k, "") == v for k, v in rest.items()):
            if r["n"] in ("0", "1"):
                return f"{r['n']} pair(s) only, no CI"
            scale, unit = (100, " pp") if measure == "final_test_error" else (1, "")
            return (f"{r['verdict']} (A - B = {scale * num(r, 'diff_mean'):+.3g}{unit}, 95% CI "
                    f"[{scale * num(r, 'diff_ci95_lo'):+.3g}, {scale * num(r, 'diff_ci95_hi'):+.3g}], "
                    f"{num(r, 'diff_in_se'):+.1f} SE, {r['n']} seeds)")
    return None


def split(rows, axis):
    """Rows by their value of `axis` (one group "" when the axis does not vary)."""
    out = {}
    for r in rows:
        out.setdefault(r.get(axis, ""), []).append(r)
    return out


def comparisons(name, rows, pairs, keys):
    """Lines for the paired comparisons `pairs` in every combination of `keys` values."""
    out = []
    pairs_rows = read_csv(name, "paired.csv")
    if pairs_rows is None:
        return ["- no paired.csv: rerun `swd report` on this folder for the paired comparisons."]
    combos = sorted({tuple(r.get(k, "") for k in keys) for r in rows})
    for combo in combos:
        where = ", ".join(f"{k} {v}" for k, v in zip(keys, combo) if v)
        rest = {k: v for k, v in zip(keys, combo) if v}
        for a, b in pairs:
            text = paired(pairs_rows, a, b, **rest)
            if text:
                out.append(f"- {where + ': ' if where else ''}{a} - {b}: {text}.")
    return out


PAPER_PAIRS = [("sgds", "sgd"), ("adams", "adam"), ("adams", "adamw"), ("amsgrads", "amsgrad"),
               ("adais", "adai")]


def optimizers(name, rows, extra_keys=()):
    out = []
    keys = [k for k in ("model", "weight-decay") + tuple(extra_keys) if any(r.get(k) for r in rows)]
    for combo, group in sorted(split(rows, keys[0]).items()) if keys else [("", rows)]:
        ranked = sorted(group, key=lambda r: num(r, "final_test_error_mean"))
        label = f"**{keys[0]} {combo}**, final" if combo else "Final"
        out.append(f"{label} test error over {ranked[0]['n']} seeds, best first: " +
                   "; ".join(f"{r.get('optimizer', '')} {err(r)}" for r in ranked) + ".")
    out.append("")
    out += comparisons(name, rows, PAPER_PAIRS, keys)
    return out


def failures(name):
    """Runs that did not finish, from runs.csv, with the last line of their log (failed.txt)."""
    base = os.path.join(ROOT, name)
    with open(os.path.join(base, "runs.csv"), newline="") as f:
        failed = [r for r in csv.DictReader(f) if r["status"] != "done"]
    reasons = {}
    if os.path.exists(os.path.join(base, "failed.txt")):
        with open(os.path.join(base, "failed.txt")) as f:
            for line in f:
                run, _, message = line.partition(": ")
                reasons[run] = message.strip()
    return failed, reasons


def claim2(name, rows):
    out = []
    failed, reasons = failures(name)
    batches = sorted({int(r["batch-size"]) for r in rows if r.get("batch-size")} |
                     {int(r["batch-size"]) for r in failed if r.get("batch-size")})
    for batch in batches or [None]:
        by = {r.get("scale-rule", ""): r for r in rows if batch is None or int(r["batch-size"]) == batch}
        cells = "; ".join(f"{rule or 'all'} {err(r)} over {r['n']} seeds" for rule, r in by.items())
        for rule in ("none", "lr", "wd"):
            lost = [r for r in failed if (batch is None or int(r["batch-size"]) == batch) and
                    r.get("scale-rule", rule) == rule]
            if lost:
                why = sorted({"non-finite loss" if "non-finite" in reasons.get(r["run"], "") else
                              (reasons.get(r["run"]) or r["status"]) for r in lost})
                cells += f"; {rule}: {len(lost)} run(s) failed ({', '.join(why)})"
        out.append(f"- {'batch ' + str(batch) if batch else 'all runs'}: {cells}.")
    out += comparisons(name, rows, [("wd", "lr"), ("wd", "none")], ["batch-size"])
    return out


def best_weight_decay(name):
    """report.md's best-weight-decay table, as swd report wrote it."""
    path = os.path.join(ROOT, name, "report.md")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().split("\n")
    try:
        start = lines.index("### Best weight decay per training length")
    except ValueError:
        return []
    table = []
    for line in lines[start + 1:]:
        if line.startswith("#"):  # the next section: its tables are not this one's
            break
        if line.startswith("|"):
            table.append(line)
    header = [c.strip() for c in table[0].strip("|").split("|")]
    if "not detectably worse (paired)" not in header:
        return ["- report.md's table is from an older `swd report` (no paired criterion): "
                "rerun `swd report` on this folder."]
    out = []
    for line in table[2:]:
        cells = dict(zip(header, [c.strip() for c in line.strip("|").split("|")]))
        small = [h for h in header if h.startswith("wd ")][0]
        length = f"{cells['epochs']} epochs" if cells["epochs"] else "one length"
        out.append(f"- {cells['line']}, {length}: best weight decay {cells['best weight decay']} "
                   f"at {cells['its final test error (%)']}%; weight decays not detectably worse "
                   f"(paired): {cells['not detectably worse (paired)']}; {small.replace(' (pp)', '')}: "
                   f"{cells[small]} pp ({cells['in SE']} SE).")
    return out


def claim3(name, rows):
    return best_weight_decay(name) or ["- no best-weight-decay table in report.md."]


def pilot(name, rows):
    return best_weight_decay(name) or ["- no best-weight-decay table in report.md."]


def pilot_pairs(name, rows):
    """The best-weight-decay table and each optimizer's weight decays paired with lambda 0."""
    out = best_weight_decay(name) or ["- no best-weight-decay table in report.md."]
    pairs_rows = read_csv(name, "paired.csv") or []
    wds = sorted({r["a"] for r in pairs_rows if r["axis"] == "weight-decay"}, key=float)
    return out + [""] + comparisons(name, rows, [(wd, "0") for wd in wds], ["optimizer"])


def claim4(name, rows):
    out = []
    for wd, group in sorted(split(rows, "weight-decay").items()):
        def norm(r):
            text = f"{r['optimizer']} {num(r, 'final_grad_norm_mean'):.3g}"
            if r.get("final_grad_norm_ci95_lo", "") != "":
                text += (f" (95% CI [{num(r, 'final_grad_norm_ci95_lo'):.3g}, "
                         f"{num(r, 'final_grad_norm_ci95_hi'):.3g}])")
            return text
        cells = "; ".join(norm(r) for r in sorted(group, key=lambda r: num(r, "final_grad_norm_mean")))
        out.append(f"- {'lambda ' + wd if wd else 'all runs'}, final gradient norm, smallest first: {cells}.")
    pairs_rows = read_csv(name, "paired.csv")
    for wd in sorted(split(rows, "weight-decay")):
        rest = {"weight-decay": wd} if wd else {}
        for a, b in (("sgds", "sgd"), ("adams", "adam"), ("adams", "adamw")):
            norm = paired(pairs_rows, a, b, "final_grad_norm", **rest)
            error = paired(pairs_rows, a, b, **rest)
            if norm:
                out.append(f"  - {a} - {b}: gradient norm {norm}; test error {error}.")
    return out


def main():
    print("<!-- Written by scripts/findings.py from the summary.csv, paired.csv and report.md "
          "files next to this file. -->")
    print("# Findings, from the committed results\n")
    print("Errors: mean over seeds (sample std, 95% confidence interval of the mean, Student t). "
          "Comparisons: A - B paired over seeds (same seed: same initialisation, data order and "
          "subset), its 95% CI and the mean in standard errors (SE); \"A better\" only when the "
          "whole interval is below 0.\n")
    writers = {"pilot-regime": pilot, "pilot-regime-cnn": pilot, "pilot-regime-cnn-adam": pilot,
               "pilot-regime-cnn-adam-decay": pilot_pairs, "claim1-swd-vs-l2-vs-decoupled": optimizers, "claim1-cnn-bn": optimizers,
               "claim2-batch-scaling": claim2, "claim2-warmup": claim2, "claim2-cnn-bn": claim2,
               "claim3-wd-vs-length": claim3, "claim3-cnn-bn": claim3, "claim4-gradient-norms": claim4}
    for name, title in CLAIMS.items():
        rows = read_csv(name, "summary.csv")
        print(f"## {title}\n")
        if rows is None:
            print(f"Not run yet: no {name}/summary.csv.\n")
            continue
        print("\n".join(writers[name](name, rows)).rstrip() + "\n")
    print("## Time each command took\n")
    for name in CLAIMS:
        path = os.path.join(ROOT, name, "time.txt")
        if os.path.exists(path):
            with open(path) as f:
                print(f"- {f.readline().strip()}")


if __name__ == "__main__":
    sys.exit(main())
