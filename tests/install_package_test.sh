#!/usr/bin/env bash
# Installs swd into a temporary prefix, builds examples/consumer against it with
# find_package(swd), and runs it: the package works for a project of its own.
set -euo pipefail
build_dir=$1
source_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix/install" >/dev/null
cmake -S "$source_dir/examples/consumer" -B "$prefix/build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/build" >/dev/null
"$prefix/build/train_adams" 20 | tee "$prefix/out.txt"
grep -q "step   20" "$prefix/out.txt"
