#!/usr/bin/env bash
# Reproduces one claim of docs/REPRODUCTION.md: runs its sweep, writes its report, and copies
# the results (runs.csv, summary.csv, report.md, figures/, time.txt) into
# docs/reproduction/results/<name>/, where the document links them.
#
#   scripts/reproduce.sh CLAIM [--quick] [--cifar] [more swd sweep options]
#
#   CLAIM     1, 2, 3 or 4 (the config docs/reproduction/configs/claimCLAIM-*.toml)
#   --quick   every epoch cut to 2 batches: checks the whole pipeline in minutes; results go
#             to runs/reproduction-quick/ only, the committed results are left alone
#   --cifar   the CIFAR counterpart (docs/reproduction/configs/cifar/); give the data with
#             --set data-dir=/path/to/cifar-10-batches-bin (or cifar-100-binary)
#   JOBS=N    runs at a time (default 2); SWD_BUILD_DIR: the build folder (default build)
#
# Rerunning a claim skips its finished runs and resumes unfinished ones (swd sweep).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/reproduce.sh 1|2|3|4 [--quick] [--cifar] [swd sweep options]" >&2; exit 2; }
[ $# -ge 1 ] || usage
claim=$1
shift
case "$claim" in 1|2|3|4) ;; *) usage ;; esac

quick=0
configs=docs/reproduction/configs
extra=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --cifar) configs=docs/reproduction/configs/cifar ;;
    *) extra+=("$arg") ;;
  esac
done

shopt -s nullglob
matches=("$configs"/claim"$claim"-*.toml)
[ ${#matches[@]} -eq 1 ] || { echo "reproduce: expected one $configs/claim$claim-*.toml" >&2; exit 2; }
config=${matches[0]}
name=$(basename "$config" .toml)
[ "$configs" = docs/reproduction/configs ] || name=cifar/$name

swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh

if [ $quick -eq 1 ]; then
  out=runs/reproduction-quick/$name
  extra+=(--set limit-batches=2)
else
  out=runs/reproduction/$name
fi

start=$(date +%s)
"$swd" sweep "$config" --jobs "${JOBS:-2}" --out "$out" ${extra[@]+"${extra[@]}"}
"$swd" report "$out"
seconds=$(( $(date +%s) - start ))

# The training time of every run as recorded in runs.csv (the sum over epochs, whatever the
# number of sittings it took), next to this invocation's wall time.
run_seconds=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next }
                       c && $c != "" { s += $c } END { printf "%d", s }' "$out/runs.csv")
time_text="claim $claim ($name): this invocation took $((seconds / 3600))h$(( (seconds % 3600) / 60 ))m$((seconds % 60))s wall time (${seconds} s) with --jobs ${JOBS:-2} on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); the runs' own training time adds up to ${run_seconds} s.
command: scripts/reproduce.sh $claim $*"
echo "$time_text" > "$out/time.txt"
echo "$time_text"

if [ $quick -eq 0 ]; then
  dest=docs/reproduction/results/$name
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$out/runs.csv" "$out/summary.csv" "$out/report.md" "$out/time.txt" "$out/sweep.json" "$dest/"
  [ -d "$out/figures" ] && cp -r "$out/figures" "$dest/"
  echo "reproduce: results in $dest"
fi
