#!/usr/bin/env bash
# Training throughput, swd train against a plain PyTorch script, side by side in one run.
#
#   bench/train_throughput.sh [ROUNDS]        (default 3; prints medians)
#   SPECS="resnet20:2:8 resnet20-cl:2:8" bench/train_throughput.sh 1   (some rows: MODEL:WARMUP:BATCHES)
#
# For the MLP and the small CNN on Fashion-MNIST and He et al.'s ResNet20 on random 3x32x32 images
# (default layout, and channels-last as resnet20-cl), with AdamS (lr 1e-3, lambda 5e-4), batch
# 128, the same threads (THREADS, default: every core) and data workers (WORKERS, default 2):
#  - swd: `swd train` with --limit-batches WARMUP and WARMUP + BATCHES; the difference of the
#    epoch times in metrics.csv is the time of BATCHES training batches (start-up, warm-up and
#    the test-set evaluation cancel out);
#  - python: bench/train_throughput.py (torch.utils.data.DataLoader, the reference-style
#    AdamS), timing the same BATCHES after the same WARMUP;
#  - lean python: the same script with --loader tensors (the data held in memory as one
#    normalised tensor, batches by index_select: the strongest plain-PyTorch baseline).
# Prints images/s of each and the ratio swd / python; and, as what stable decay costs in
# training, the images/s of `swd train` with AdamW (same lr, lambda 5e-4 / lr as the paper's
# lr-scaled decoupled decay) and the ratio AdamS / AdamW.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${THREADS:-$(nproc)}
workers=${WORKERS:-2}
swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh
python=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Seconds of the (only) epoch of a swd train run, from its metrics.csv.
epoch_seconds() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next } { print $c }' "$1/metrics.csv"
}
# A model name with the suffix -cl runs in channels-last layout (swd --channels-last, PyTorch
# .to(memory_format=torch.channels_last)); resnet20 trains on random 3x32x32 images in both.
swd_images_per_second() {  # model warmup batches [optimizer]
  local model=${1%-cl}
  local args="--model $model --optimizer ${4:-adams} --batch-size 128 --epochs 1 --threads $threads"
  args+=" --workers $workers --progress none --lr-schedule constant"
  [ "$model" = "$1" ] || args+=" --channels-last"
  if [ "$model" = resnet20 ]; then
    args+=" --dataset synthetic --synthetic-channels 3 --synthetic-size 32 --synthetic-test 128"
    args+=" --synthetic-train $(( ($2 + $3 + 1) * 128 ))"
  fi
  "$swd" train $args --limit-batches "$2" --out "$tmp/short" >/dev/null
  "$swd" train $args --limit-batches $(($2 + $3)) --out "$tmp/long" >/dev/null
  awk -v a="$(epoch_seconds "$tmp/short")" -v b="$(epoch_seconds "$tmp/long")" -v n="$3" \
    'BEGIN { printf "%.1f", n * 128 / (b - a) }'
  rm -rf "$tmp/short" "$tmp/long"
}
python_images_per_second() {  # model warmup batches [loader]
  local flags=(--loader "${4:-dataloader}")
  [ "${1%-cl}" = "$1" ] || flags+=(--channels-last)
  "$python" bench/train_throughput.py --model "${1%-cl}" ${flags[@]+"${flags[@]}"} --warmup "$2" --batches "$3" \
    --threads "$threads" --workers "$workers" | awk '{ print $2 }'
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); threads $threads, data workers $workers, rounds $rounds"
echo "torch (python): $("$python" -c 'import torch; print(torch.__version__)')"
printf "%-11s %7s %12s %12s %7s %13s %7s %15s %12s\n" model batches "swd images/s" \
  "py images/s" ratio "lean py img/s" ratio "swd AdamW img/s" "time AdamS/W"
for spec in ${SPECS:-mlp:50:300 cnn:10:60 resnet20:2:8 resnet20-cl:2:8}; do
  IFS=: read -r model warmup batches <<<"$spec"
  s=() p=() l=() w=()
  for ((r = 0; r < rounds; r++)); do
    s+=("$(swd_images_per_second "$model" "$warmup" "$batches")")
    p+=("$(python_images_per_second "$model" "$warmup" "$batches")")
    l+=("$(python_images_per_second "$model" "$warmup" "$batches" tensors)")
    w+=("$(swd_images_per_second "$model" "$warmup" "$batches" adamw)")
  done
  sm=$(echo "${s[*]}" | median)
  pm=$(echo "${p[*]}" | median)
  lm=$(echo "${l[*]}" | median)
  wm=$(echo "${w[*]}" | median)
  printf "%-11s %7s %12s %12s %6.2fx %13s %6.2fx %15s %11.3fx\n" "$model" "$batches" "$sm" "$pm" \
    "$(awk -v a="$sm" -v b="$pm" 'BEGIN { print a / b }')" "$lm" \
    "$(awk -v a="$sm" -v b="$lm" 'BEGIN { print a / b }')" "$wm" \
    "$(awk -v a="$wm" -v b="$sm" 'BEGIN { print a / b }')"
done
