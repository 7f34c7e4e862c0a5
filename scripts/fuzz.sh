#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs each for SECONDS seconds, starting from the committed seed corpus (fuzz/corpus/).
#   scripts/fuzz.sh 60        # a minute per target
# A crash, leak or sanitizer report stops with a non-zero status and the reproducer's path.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=${SWD_FUZZ_BUILD_DIR:-build-fuzz}
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh sanitizers
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DSWD_FUZZ=ON -DSWD_BUILD_TESTS=OFF -DSWD_BUILD_BENCH=OFF -DSWD_BUILD_EXAMPLES=OFF \
      -DSWD_BUILD_APPS=OFF -DSWD_BUILD_PYTHON=OFF \
      -DCMAKE_CXX_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" \
      -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" >/dev/null
cmake --build "$build" -j "$(nproc)"
# LibTorch keeps allocations alive until exit on purpose; leaks are not what we look for.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for target in fuzz_idx fuzz_cifar fuzz_config fuzz_checkpoint fuzz_report; do
  work="$build/corpus/$target"
  mkdir -p "$work" "$build/crashes"
  cp -n fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  echo "== $target ($seconds s)"
  if ! "$build/fuzz/$target" "$work" -max_total_time="$seconds" -max_len=20000 \
        -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 2>"$build/$target.log"; then
    echo "fuzz.sh: $target FAILED; see $build/$target.log and $build/crashes/"
    tail -30 "$build/$target.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/$target.log" | tail -2
  fi
done
exit $status
