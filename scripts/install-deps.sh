#!/usr/bin/env bash
# Installs every Debian package swd needs to build, test and run. Idempotent: quiet and fast
# when everything is already there. Run as root (or with sudo) on Debian 12.
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache git pkg-config
  libtorch-dev libopenblas0-openmp libgloo-dev
  libgtest-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev zlib1g-dev
  dataset-fashion-mnist python3-torch gnuplot-nox
  pybind11-dev python3-dev python3-pytest
  python3-pip python3-setuptools python3-wheel python3-venv
)

# scripts/install-deps.sh sanitizers: also what scripts/sanitize.sh and scripts/fuzz.sh need.
if [ "${1:-}" = "sanitizers" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
