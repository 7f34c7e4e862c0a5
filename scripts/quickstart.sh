#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the embedded default data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/swd train "$@"
