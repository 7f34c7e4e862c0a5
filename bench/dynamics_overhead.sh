#!/usr/bin/env bash
# What measuring the learning dynamics (docs/DYNAMICS.md) costs a training step, in one run.
#
#   bench/dynamics_overhead.sh [ROUNDS]     (default 5; prints medians)
#   SPECS="mlp-bn:20:400" OPTIMIZERS="adams sgd" bench/dynamics_overhead.sh 3
#
# For mlp-bn and cnn-bn on Fashion-MNIST (batch 128, THREADS threads, default 1), each optimizer
# (default: sgd and adams, the cheapest and the costliest measurement: Adam's reads vhat) trains
# BATCHES steps after WARMUP with --dynamics-every 1 (every step measured), 25 (the default)
# and 1000000 (only the decay budget, which is added up at every step whatever the cadence:
# the baseline). The time of BATCHES steps is the difference of the epoch times of two runs
# (--limit-batches WARMUP and WARMUP + BATCHES; start-up and the test pass cancel out). The
# cases are interleaved round by round, so that load from other processes hits them alike.
# Prints ms per step and the overhead of each cadence against the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${THREADS:-1}
swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

epoch_seconds() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next } { print $c }' "$1/metrics.csv"
}
ms_per_step() {  # model optimizer every warmup batches
  local args="--model $1 --optimizer $2 --dynamics-every $3 --batch-size 128 --epochs 1 --threads $threads"
  args+=" --workers 1 --progress none --limit-test-batches 1"
  "$swd" train $args --limit-batches "$4" --out "$tmp/short" >/dev/null
  "$swd" train $args --limit-batches $(($4 + $5)) --out "$tmp/long" >/dev/null
  awk -v a="$(epoch_seconds "$tmp/short")" -v b="$(epoch_seconds "$tmp/long")" -v n="$5" \
    'BEGIN { printf "%.4f", 1000 * (b - a) / n }'
  rm -rf "$tmp/short" "$tmp/long"
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); threads $threads, rounds $rounds"
printf "%-7s %-9s %8s %12s %12s %12s %10s %10s\n" model optimizer batches "budget ms" \
  "every-25 ms" "every-1 ms" "every 25" "every 1"
for spec in ${SPECS:-mlp-bn:20:400 cnn-bn:5:60}; do
  IFS=: read -r model warmup batches <<<"$spec"
  for optimizer in ${OPTIMIZERS:-sgd adams}; do
    base=() cadence=() one=()
    for ((r = 0; r < rounds; r++)); do
      base+=("$(ms_per_step "$model" "$optimizer" 1000000 "$warmup" "$batches")")
      cadence+=("$(ms_per_step "$model" "$optimizer" 25 "$warmup" "$batches")")
      one+=("$(ms_per_step "$model" "$optimizer" 1 "$warmup" "$batches")")
    done
    b=$(echo "${base[*]}" | median)
    t=$(echo "${cadence[*]}" | median)
    o=$(echo "${one[*]}" | median)
    printf "%-7s %-9s %8s %12s %12s %12s %+9.1f%% %+9.1f%%\n" "$model" "$optimizer" "$batches" "$b" "$t" "$o" \
      "$(awk -v a="$t" -v b="$b" 'BEGIN { print 100 * (a / b - 1) }')" \
      "$(awk -v a="$o" -v b="$b" 'BEGIN { print 100 * (a / b - 1) }')"
  done
done
