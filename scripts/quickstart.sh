#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the embedded default data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SWD_TARGETS=swd_cli scripts/build.sh   # the swd program only: scripts/test.sh builds the tests
build/swd train "$@"
