#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (clang) in
# build-asan/ and runs it. Any sanitizer report fails the run.
#   scripts/sanitize.sh            # everything
#   scripts/sanitize.sh -R Data    # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SWD_ASAN_BUILD_DIR:-build-asan}
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh sanitizers
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# No Python package: an instrumented extension cannot load into the uninstrumented python3.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DSWD_BUILD_BENCH=OFF -DSWD_BUILD_EXAMPLES=OFF -DSWD_BUILD_PYTHON=OFF \
      -DCMAKE_CXX_FLAGS="$sanitizers" -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" >/dev/null
cmake --build "$build" -j "$(nproc)"
# LibTorch keeps some allocations until exit on purpose: leak checking is off. Everything else
# (out-of-bounds, use-after-free, undefined behaviour) aborts the test that triggers it.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j "$(nproc)" -E install_package "$@"
