#!/usr/bin/env bash
# Times training epochs on Fashion-MNIST the way `swd sweep` runs them (one LibTorch thread,
# one loader thread, the same glibc malloc tunables), to size sweeps on this machine.
# Prints, per model and batch size, the wall seconds per epoch (metrics.csv) and the CPU
# seconds per epoch (user + system, start-up included, so a little high). On a shared machine
# the CPU time is the steadier of the two: it is what one core of an idle machine would take.
#
#   scripts/epoch-times.sh [EPOCHS]     (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-2}
swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-33554432}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-1073741824}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)   epochs per run: $epochs"
printf "%-6s %6s %16s %16s\n" model batch "wall s/epoch" "CPU s/epoch"
for spec in mlp:128 mlp:2048 cnn:128; do  # the settings of the reproduction configs
  model=${spec%%:*}
  batch=${spec##*:}
  out=$tmp/$model-$batch
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$swd" train --model "$model" --batch-size "$batch" \
    --epochs "$epochs" --threads 1 --workers 1 --progress none --out "$out" >/dev/null
  wall=$(awk -F, 'NR > 1 { s += $13; n++ } END { printf "%.1f", s / n }' "$out/metrics.csv")
  cpu=$(awk -v e="$epochs" '{ printf "%.1f", ($1 + $2) / e }' "$tmp/time")
  printf "%-6s %6s %16s %16s\n" "$model" "$batch" "$wall" "$cpu"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
