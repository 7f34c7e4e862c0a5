#!/usr/bin/env bash
# What --eval-every saves a run (docs/PERFORMANCE.md, "Evaluating less often"), in one run of
# this script: the same run with a test pass after every epoch (--eval-every 1) and with the
# interval the committed budget sweeps use, interleaved round by round so that load from other
# processes hits both alike. Two cases, as the sweeps run them (1 thread, 1 worker):
#   mlp-bn on the full 60,000-image training set, 4 epochs, --eval-every 4 (claim 1's budget map);
#   cnn-bn on the 2,000-image subset, 15 epochs, --eval-every 5 (claim 1 on cnn-bn).
# Prints the median wall time of each run (the whole swd train command), and the time saved.
#
#   bench/eval_every.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wall() {  # ARGS...: the run's wall seconds, start-up and the last test pass included
  local start end
  start=$(date +%s.%N)
  "$swd" train "$@" --threads 1 --workers 1 --progress none --out "$tmp/run" > /dev/null
  end=$(date +%s.%N)
  rm -rf "$tmp/run"
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); rounds $rounds"
printf "%-40s %14s %14s %8s\n" case "every epoch s" "interval s" saved
for spec in "mlp-bn full data, 4 epochs|--model mlp-bn --epochs 4 --lr-schedule step|4" \
            "cnn-bn 2,000 images, 15 epochs|--model cnn-bn --epochs 15 --train-subset 2000 --lr-schedule step|5"; do
  IFS='|' read -r name args interval <<<"$spec"
  every=() sparse=()
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086  # args is a list of flags
    every+=("$(wall $args --eval-every 1)")
    # shellcheck disable=SC2086
    sparse+=("$(wall $args --eval-every "$interval")")
  done
  e=$(echo "${every[*]}" | median)
  s=$(echo "${sparse[*]}" | median)
  printf "%-40s %14.2f %14.2f %7.1f%%\n" "$name (--eval-every $interval)" "$e" "$s" \
    "$(awk -v a="$e" -v b="$s" 'BEGIN { print 100 * (1 - b / a) }')"
done
