#!/usr/bin/env bash
# Rewrites every committed report under docs/reproduction/results/ (report.md, summary.csv,
# paired.csv, primary.csv, figures/) from the runs it keeps, with the swd built in ./build (or
# $SWD). Run after a change to `swd report`'s output: the regeneration test
# (ReportRegenerable in tests/report_stats_test.cpp) requires the committed reports to be
# what `swd report` writes, byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
SWD=${SWD:-build/swd}
find docs/reproduction/results -name runs.csv | sort | while read -r index; do
  dir=$(dirname "$index")
  [ -d "$dir/runs" ] || continue
  "$SWD" report "$dir" > /dev/null
  echo "regenerated $dir"
done
