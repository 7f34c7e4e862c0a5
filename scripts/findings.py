#!/usr/bin/python3
"""Writes the findings of docs/REPRODUCTION.md from the committed summaries, so that no number
in them is typed by hand:

    /usr/bin/python3 scripts/findings.py > docs/reproduction/results/findings.md

Reads docs/reproduction/results/<claim>/summary.csv (written by `swd report`: one row per
group of seeds, with the mean and sample std of each measure) and prints, per claim that has
been run, the comparisons its section of REPRODUCTION.md discusses. A difference is called
clear when it is larger than the two standard deviations added.
"""
import csv
import math
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "reproduction", "results")
CLAIMS = {
    "claim1-swd-vs-l2-vs-decoupled": "Claim 1: stable vs L2 vs decoupled weight decay",
    "claim2-batch-scaling": "Claim 2: the weight-decay linear scaling rule",
    "claim3-wd-vs-length": "Claim 3: best weight decay against training length",
    "claim4-gradient-norms": "Claim 4: gradient norms at the end of training",
}


def read(name):
    path = os.path.join(ROOT, name, "summary.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    value = row.get(key, "")
    return float(value) if value not in ("", None) else 0.0


def pct(x):
    return f"{100 * x:.2f}%"


def err(row, measure="final_test_error"):
    return f"{pct(num(row, measure + '_mean'))} ({pct(num(row, measure + '_std'))})"


def verdict(a, b, measure="final_test_error"):
    """'a lower than b' / 'higher' / 'within noise', by mean difference against std a + std b."""
    d = num(a, measure + "_mean") - num(b, measure + "_mean")
    noise = num(a, measure + "_std") + num(b, measure + "_std")
    if abs(d) <= noise:
        return f"within noise ({'+' if d >= 0 else '-'}{pct(abs(d))}, std sum {pct(noise)})"
    return f"{'lower' if d < 0 else 'higher'} by {pct(abs(d))} (clear: std sum {pct(noise)})"


def claim1(rows):
    out = []
    pairs = [("sgds", "sgd"), ("adams", "adam"), ("adams", "adamw"), ("amsgrads", "amsgrad"),
             ("adais", "adai"), ("adams", "sgd")]
    for model in sorted({r["model"] for r in rows}):
        by = {r["optimizer"]: r for r in rows if r["model"] == model}
        ranked = sorted(by.values(), key=lambda r: num(r, "final_test_error_mean"))
        out.append(f"**{model}**, final test error, mean (std) over {ranked[0]['n']} seeds, best first: " +
                   ", ".join(f"{r['optimizer']} {err(r)}" for r in ranked) + ".")
        for a, b in pairs:
            if a in by and b in by:
                out.append(f"- {model}: {a} against {b}: {verdict(by[a], by[b])}.")
        out.append("")
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


def claim2(rows):
    out = []
    failed, reasons = failures("claim2-batch-scaling")
    for batch in sorted({int(r["batch-size"]) for r in rows} | {int(r["batch-size"]) for r in failed}):
        by = {r["scale-rule"]: r for r in rows if int(r["batch-size"]) == batch}
        cells = ", ".join(f"{rule} {err(by[rule])} over {by[rule]['n']} seeds"
                          for rule in ("none", "lr", "wd") if rule in by)
        for rule in ("none", "lr", "wd"):
            lost = [r for r in failed if int(r["batch-size"]) == batch and r["scale-rule"] == rule]
            if lost:
                why = sorted({"non-finite loss" if "non-finite" in reasons.get(r["run"], "") else
                              (reasons.get(r["run"]) or r["status"]) for r in lost})
                cells += f"; {rule}: {len(lost)} run(s) failed ({', '.join(why)})"
        line = f"- batch {batch} (k = {batch // 128}): {cells}"
        if batch > 128 and all(rule in by for rule in ("none", "lr", "wd")):
            best = min(("none", "lr", "wd"), key=lambda rule: num(by[rule], "final_test_error_mean"))
            line += f"; best: {best}; wd x k against lr x k: {verdict(by['wd'], by['lr'])}"
        out.append(line + ".")
    return out


def claim3(rows):
    out = []
    for epochs in sorted({int(r["epochs"]) for r in rows}):
        group = [r for r in rows if int(r["epochs"]) == epochs]
        best = min(group, key=lambda r: num(r, "final_test_error_mean"))
        worst_small = min(group, key=lambda r: float(r["weight-decay"]))
        out.append(f"- {epochs} epochs: best weight decay {best['weight-decay']} at {err(best)}; "
                   f"smallest weight decay ({worst_small['weight-decay']}): {err(worst_small)}.")
    return out


def claim4(rows):
    out = []
    for wd in sorted({r["weight-decay"] for r in rows}, key=float):
        by = {r["optimizer"]: r for r in rows if r["weight-decay"] == wd}
        cells = ", ".join(f"{o} {num(by[o], 'final_grad_norm_mean'):.3g} "
                          f"(std {num(by[o], 'final_grad_norm_std'):.2g}; test error {err(by[o])})"
                          for o in sorted(by, key=lambda o: num(by[o], "final_grad_norm_mean")))
        out.append(f"- lambda {wd}, final gradient norm, smallest first: {cells}.")
        for a, b in (("sgds", "sgd"), ("adams", "adam"), ("adams", "adamw")):
            if a in by and b in by:
                ratio = num(by[b], "final_grad_norm_mean") / max(num(by[a], "final_grad_norm_mean"), 1e-300)
                out.append(f"  - {b} / {a} gradient norm: {ratio:.2f}x; "
                           f"test error of {a} against {b}: {verdict(by[a], by[b])}.")
    return out


def main():
    print("<!-- Written by scripts/findings.py from the summary.csv files next to this file. -->")
    print("# Findings, from the committed summaries\n")
    writers = {"claim1-swd-vs-l2-vs-decoupled": claim1, "claim2-batch-scaling": claim2,
               "claim3-wd-vs-length": claim3, "claim4-gradient-norms": claim4}
    for name, title in CLAIMS.items():
        rows = read(name)
        print(f"## {title}\n")
        if rows is None:
            print(f"Not run yet: no {name}/summary.csv.\n")
            continue
        print("\n".join(writers[name](rows)).rstrip() + "\n")
    print("## Time each command took\n")
    for name in CLAIMS:
        path = os.path.join(ROOT, name, "time.txt")
        if os.path.exists(path):
            with open(path) as f:
                print(f"- {f.readline().strip()}")


if __name__ == "__main__":
    sys.exit(main())
