#!/usr/bin/env bash
# Reproduces one claim of docs/REPRODUCTION.md: runs its sweep, writes its report, and copies
# the results (runs.csv, summary.csv, report.md, figures/, time.txt) into
# docs/reproduction/results/<name>/, where the document links them.
#
#   scripts/reproduce.sh CLAIM [--quick] [--cifar] [more swd sweep options]
#
#   CLAIM     1, 2, 3 or 4: the configs docs/reproduction/configs/claimCLAIM-*.toml;
#             pilot: docs/reproduction/configs/pilot-*.toml (the search for the regime)
#   --quick   2 batches an epoch and 2 epochs a run (claim 3 keeps its lengths): checks the
#             whole pipeline in minutes; results go to runs/reproduction-quick/ only, the
#             committed results are left alone
#   --cifar   the CIFAR counterpart (docs/reproduction/configs/cifar/); give the data with
#             --set data-dir=/path/to/cifar-10-batches-bin (or cifar-100-binary)
#   JOBS=N    runs at a time (default 2); SWD_BUILD_DIR: the build folder (default build)
#
# Rerunning a claim skips its finished runs and resumes unfinished ones (swd sweep).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/reproduce.sh 1|2|3|4|pilot [--quick] [--cifar] [swd sweep options]" >&2; exit 2; }
[ $# -ge 1 ] || usage
claim=$1
shift
case "$claim" in 1|2|3|4) prefix=claim$claim ;; pilot) prefix=pilot ;; *) usage ;; esac

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
configs_found=("$configs"/"$prefix"-*.toml)
[ ${#configs_found[@]} -ge 1 ] || { echo "reproduce: no $configs/$prefix-*.toml" >&2; exit 2; }
swd=${SWD_BUILD_DIR:-build}/swd
[ -x "$swd" ] || scripts/build.sh
if [ $quick -eq 1 ]; then
  # Two batches an epoch; two epochs a run, except where the training length is the point.
  extra+=(--set limit-batches=2)
  [ "$claim" = 3 ] || extra+=(--set epochs=2)
fi

# One sweep per config file of the claim (the CIFAR claim 1 has one per dataset).
for config in "${configs_found[@]}"; do
  name=$(basename "$config" .toml)
  [ "$configs" = docs/reproduction/configs ] || name=cifar/$name
  if [ $quick -eq 1 ]; then out=runs/reproduction-quick/$name; else out=runs/reproduction/$name; fi

  # Committed runs count as finished: seed the sweep folder with them, so that on a new
  # machine a rerun only trains what is not committed yet.
  committed=docs/reproduction/results/$name
  if [ $quick -eq 0 ] && [ -d "$committed/runs" ] && [ ! -e "$out/runs.csv" ]; then
    mkdir -p "$out"
    cp -r "$committed/runs" "$out/"
  fi

  # Nothing left to train: the committed results (and their time.txt and provenance) stay.
  if [ $quick -eq 0 ] && [ -d "$committed/runs" ] &&
     "$swd" sweep "$config" --dry-run --out "$out" ${extra[@]+"${extra[@]}"} |
       grep -Eq '^sweep: ([0-9]+) runs: \1 done, 0 to resume, 0 to start, 0 blocked;'; then
    echo "reproduce: $name: every run is committed already; $committed left as it is"
    continue
  fi

  start=$(date +%s)
  # A run that fails (a diverged learning rate, say) is a result too: report what finished and
  # list the failures, with the last line of each one's log, in failed.txt.
  sweep_status=0
  "$swd" sweep "$config" --jobs "${JOBS:-2}" --out "$out" ${extra[@]+"${extra[@]}"} || sweep_status=$?
  [ $sweep_status -eq 0 ] || [ $sweep_status -eq 2 ] || exit $sweep_status
  awk -F, 'NR > 1 && $2 != "done" { print $1 }' "$out/runs.csv" | while read -r run; do
    echo "$run: $(tail -n 1 "$out/$run/train.log" 2>/dev/null)"
  done > "$out/failed.txt"
  "$swd" report "$out"
  seconds=$(( $(date +%s) - start ))

  # The runs' own training time as runs.csv records it (the sum over epochs, however many
  # sittings it took), next to this invocation's wall time.
  run_seconds=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next }
                         c && $c != "" { s += $c } END { printf "%d", s }' "$out/runs.csv")
  # Each run's wall time as its exit.json records it (the last sitting's), summed: with
  # --jobs N the sweep took about this sum / N, whichever invocation trained the runs.
  run_wall=$(cat "$out"/runs/*/exit.json 2>/dev/null |
             awk -F'[:,]' '/"wall_seconds"/ { s += $2 } END { printf "%d", s }')
  time_text="$name: this invocation took $((seconds / 3600))h$(( (seconds % 3600) / 60 ))m$((seconds % 60))s wall time (${seconds} s) with --jobs ${JOBS:-2} on $(nproc) cores, finished $(date -u +%Y-%m-%dT%H:%MZ); the runs' training time adds up to ${run_seconds} s, their wall time (exit.json) to ${run_wall} s.
command: scripts/reproduce.sh $claim $*"
  echo "$time_text" > "$out/time.txt"
  echo "$time_text"

  if [ $quick -eq 0 ]; then
    dest=docs/reproduction/results/$name
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$out/runs.csv" "$out/summary.csv" "$out/report.md" "$out/time.txt" "$out/sweep.json" "$dest/"
    if [ -f "$out/paired.csv" ]; then cp "$out/paired.csv" "$dest/"; fi
    if [ -f "$out/primary.csv" ]; then cp "$out/primary.csv" "$dest/"; fi
    if [ -s "$out/failed.txt" ]; then cp "$out/failed.txt" "$dest/"; fi
    if [ -d "$out/figures" ]; then cp -r "$out/figures" "$dest/"; fi
    # Every run's own record, without checkpoints: enough for `swd report $dest` to rewrite
    # report.md and summary.csv, and for anyone to retrain a run from its config.json.
    for run_dir in "$out"/runs/*/; do
      run=$(basename "$run_dir")
      mkdir -p "$dest/runs/$run"
      for f in config.json metrics.csv dynamics.csv run.json exit.json; do
        if [ -f "$run_dir/$f" ]; then cp "$run_dir/$f" "$dest/runs/$run/"; fi
      done
    done
    # Each cell's decay budget before it ran (docs/DYNAMICS.md), beside its results.
    "$swd" plan --sweep "$config" --set seed=0 > "$dest/plan.txt"
    echo "reproduce: results in $dest"
  fi
done
if [ $quick -eq 0 ] && [ "$configs" = docs/reproduction/configs ]; then
  # The findings of docs/REPRODUCTION.md, recomputed from every claim's summary.csv.
  /usr/bin/python3 scripts/findings.py > docs/reproduction/results/findings.md
  echo "reproduce: findings in docs/reproduction/results/findings.md"
fi
