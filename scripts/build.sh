#!/usr/bin/env bash
# Configures and builds swd in ./build (Release). Extra arguments go to cmake. SWD_TARGETS
# (e.g. "swd_cli") builds only those targets; by default everything, the tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SWD_BUILD_DIR:-build}
# ccache hits across clones of the repository: hash paths relative to the source folder.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# shellcheck disable=SC2086  # SWD_TARGETS is a list of target names
cmake --build "$BUILD_DIR" -j "$(nproc)" ${SWD_TARGETS:+--target $SWD_TARGETS}
