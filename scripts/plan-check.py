#!/usr/bin/python3
"""swd plan against the decay budget measured in a run (docs/DYNAMICS.md, "swd plan against
measured budgets"): retrains seed 0 of committed claim runs from their config.json, reads the
decay budget of the tracked weights after the last step (metrics.csv, column decay_budget),
and compares it with what `swd plan` says for the same config.json before any training.

    /usr/bin/python3 scripts/plan-check.py [--out runs/plan-check] [--swd build/swd]

A run whose folder under --out already holds model.pt is not retrained. Writes the table to
stdout and to docs/reproduction/results/plan-check/plan-check.md, and copies each rerun's
config.json, metrics.csv and dynamics.csv next to it (no checkpoints). On the 2,000-image
subset (fewer than 100 steps an epoch) it also plans with a probe of two whole epochs, because
the default probe divides by 100 steps an epoch (results/<sweep>/plan.txt says more).
"""
import argparse
import csv
import glob
import os
import re
import shutil
import subprocess

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RESULTS = os.path.join("docs", "reproduction", "results")
# (name of the rerun, committed run folder under RESULTS)
RUNS = [(f"claim1-{o}", f"claim1-swd-vs-l2-vs-decoupled/runs/optimizer={o}_seed=0-*")
        for o in ("sgd", "sgds", "adam", "adamw", "adams", "adai", "adais")]
RUNS += [(f"claim4-{o}", f"claim4-gradient-norms/runs/optimizer={o}_seed=0-*") for o in ("adamw", "adams")]
RUNS += [(f"claim2-4096-{r}", f"claim2-batch-scaling/runs/batch-size=4096_scale-rule={r}_seed=0-*")
         for r in ("none", "lr", "wd")]
RUNS += [(f"claim1-cnn-bn-{o}", f"claim1-cnn-bn/runs/optimizer={o}_seed=0-*") for o in ("sgd", "adamw", "adams")]
DECAY = {"sgd": "L2", "adam": "L2", "adai": "L2", "amsgrad": "L2", "adamw": "decoupled", "sgdw": "decoupled"}


def plan(swd, config, probe_steps=None):
    """(steps per epoch, the tracked weights' budget, exact?) from `swd plan --config`."""
    command = [swd, "plan", "--config", config]
    if probe_steps is not None:
        command += ["--probe-steps", str(probe_steps)]
    text = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    steps = int(re.search(r"steps: (\d+) per epoch", text).group(1))
    budget = float(re.search(r"verdict: \w+ \(budget ([0-9.e+-]+)", text).group(1))
    return steps, budget, "(exact" in text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/plan-check")
    parser.add_argument("--swd", default="build/swd")
    args = parser.parse_args()
    dest = os.path.join(ROOT, RESULTS, "plan-check")
    os.makedirs(dest, exist_ok=True)
    lines = ["| rerun (seed 0 of) | optimizer | decay | steps | plan | plan, probe of 2 epochs | measured | plan / measured - 1 |",
             "|---|---|---|---|---|---|---|---|"]
    for name, pattern in RUNS:
        committed = glob.glob(os.path.join(ROOT, RESULTS, pattern))[0]
        config = os.path.relpath(os.path.join(committed, "config.json"), ROOT)
        run = os.path.join(args.out, name)
        if not os.path.exists(os.path.join(ROOT, run, "model.pt")):
            subprocess.run([args.swd, "train", "--config", config, "--out", run, "--progress", "none"],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(ROOT, run, "metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        measured = float(rows[-1]["decay_budget"])
        steps, planned, exact = plan(args.swd, config)
        second = ""
        best = planned
        if not exact and steps < 100:
            best = plan(args.swd, config, 2 * steps)[1]
            second = f"{best:.3g}~"
        with open(os.path.join(ROOT, config)) as f:
            optimizer = re.search(r'"optimizer": "(\w+)"', f.read()).group(1)
        decay = DECAY.get(optimizer, "stable")
        lines.append(f"| {os.path.relpath(committed, os.path.join(ROOT, RESULTS))} | {optimizer} | {decay} | "
                     f"{steps * len(rows)} | {planned:.3g}{'' if exact else '~'} | {second} | {measured:.4g} | "
                     f"{100 * (best / measured - 1):+.1f}% |")
        os.makedirs(os.path.join(dest, name), exist_ok=True)
        for file in ("config.json", "metrics.csv", "dynamics.csv"):
            shutil.copy(os.path.join(ROOT, run, file), os.path.join(dest, name, file))
    table = "\n".join(lines)
    with open(os.path.join(dest, "plan-check.md"), "w") as f:
        f.write("# swd plan against the measured decay budget\n\nWritten by scripts/plan-check.py "
                f"(--swd {args.swd}). plan: `swd plan --config <run>/config.json`, the tracked "
                "weights' budget in e-folds (~: estimated by a probe run); measured: the rerun's "
                "decay_budget after its last step (metrics.csv); the last column compares the "
                "plan of the probe of 2 epochs where there is one.\n\n" + table + "\n")
    print(table)


if __name__ == "__main__":
    main()
