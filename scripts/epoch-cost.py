#!/usr/bin/python3
"""The cost of an epoch in the committed sweeps, from the `seconds` column of every committed
run's metrics.csv (the epoch's wall time: training and its test pass), so that the cost ratios
quoted in docs/REPRODUCTION.md come from the files, not from memory:

    /usr/bin/python3 scripts/epoch-cost.py > docs/reproduction/results/epoch-cost.txt

Per sweep: runs, epochs, summed seconds and mean and median seconds per epoch. Then the
cnn-bn / mlp-bn ratio of the mean seconds per epoch, pooled over the sweeps on the same
2,000-image training subset at batch 128 (every epoch also evaluates the 10,000 test images),
and for the one like-for-like pair on the full training set (claim 2 at batch 4096, no scaling
and wd x k). The sweeps ran two at a time on a 2-core machine shared with builds, so a single
pair of sweeps can give a ratio far from the pooled one; the per-pair range is printed too.
"""
import csv
import glob
import json
import os
import statistics

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "reproduction", "results")
MLP_SUBSET = ["pilot-regime", "claim1-swd-vs-l2-vs-decoupled", "claim3-wd-vs-length", "claim4-gradient-norms"]
CNN_SUBSET = ["pilot-regime-cnn", "pilot-regime-cnn-adam", "pilot-regime-cnn-adam-decay", "claim1-cnn-bn",
              "claim3-cnn-bn"]


def epoch_seconds(name, keep=lambda config: True):
    """(runs, the seconds of every epoch) of a committed sweep's runs that `keep` accepts."""
    runs, seconds = 0, []
    for metrics in sorted(glob.glob(os.path.join(ROOT, name, "runs", "*", "metrics.csv"))):
        with open(os.path.join(os.path.dirname(metrics), "config.json")) as f:
            if not keep(json.load(f)):
                continue
        runs += 1
        with open(metrics, newline="") as f:
            seconds += [float(row["seconds"]) for row in csv.DictReader(f)]
    return runs, seconds


def line(label, runs, seconds):
    print(f"| {label} | {runs} | {len(seconds)} | {sum(seconds):.0f} | {statistics.mean(seconds):.3f} | "
          f"{statistics.median(seconds):.3f} |")


def main():
    print("# Seconds per epoch in the committed sweeps (metrics.csv, column `seconds`)\n")
    print("Written by scripts/epoch-cost.py.\n")
    print("| sweep | runs | epochs | seconds | mean s/epoch | median s/epoch |")
    print("|---|---|---|---|---|---|")
    means = {}
    pooled = {}
    for model, names in (("mlp-bn", MLP_SUBSET), ("cnn-bn", CNN_SUBSET)):
        all_seconds = []
        for name in names:
            runs, seconds = epoch_seconds(name)
            line(name, runs, seconds)
            means[name] = statistics.mean(seconds)
            all_seconds += seconds
        pooled[model] = all_seconds
        line(f"all {model} sweeps on the 2,000-image subset", "", all_seconds)
    big = lambda config: config["batch-size"] == 4096 and config["scale-rule"] in ("none", "wd")
    mlp_full = epoch_seconds("claim2-batch-scaling", big)
    cnn_full = epoch_seconds("claim2-cnn-bn", big)
    line("claim2-batch-scaling, batch 4096, none and wd x k (mlp-bn, full data)", *mlp_full)
    line("claim2-cnn-bn, batch 4096, none and wd x k (cnn-bn, full data)", *cnn_full)

    ratio = statistics.mean(pooled["cnn-bn"]) / statistics.mean(pooled["mlp-bn"])
    pairs = [means[c] / means[m] for c in CNN_SUBSET for m in MLP_SUBSET]
    print("\n## cnn-bn / mlp-bn, mean seconds per epoch\n")
    print(f"- 2,000-image subset, batch 128, pooled over the sweeps above: {ratio:.1f}x "
          f"(per pair of sweeps: {min(pairs):.1f}x to {max(pairs):.1f}x)")
    print(f"- full training set, batch 4096 (claim 2, none and wd x k): "
          f"{statistics.mean(cnn_full[1]) / statistics.mean(mlp_full[1]):.1f}x")


if __name__ == "__main__":
    main()
