#!/usr/bin/env bash
# Packs the build dependencies that a GPU machine with only PyTorch lacks (nlohmann_json,
# toml++, CLI11, GoogleTest, zlib: headers, static libraries and CMake package files) from this
# Debian machine into one folder, so that scripts/gpu-check.sh can build there without
# installing anything:
#
#   scripts/gpu-deps.sh [folder]     (default build-gpu-deps; carry it to the GPU machine)
#
# gpu-check.sh adds the folder to CMAKE_PREFIX_PATH when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-gpu-deps}
arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
rm -rf "$out"
mkdir -p "$out/include" "$out/lib/$arch/cmake" "$out/share/cmake"
for dir in nlohmann toml++ CLI gtest gmock; do cp -r "/usr/include/$dir" "$out/include/"; done
cp /usr/include/zlib.h /usr/include/zconf.h "$out/include/"
cp /usr/lib/$arch/libgtest.a /usr/lib/$arch/libgtest_main.a /usr/lib/$arch/libgmock.a \
   /usr/lib/$arch/libgmock_main.a "$out/lib/$arch/"
cp /usr/lib/$arch/libz.a "$out/lib/"
cp -r /usr/lib/$arch/cmake/GTest "$out/lib/$arch/cmake/"
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$out/share/cmake/"
du -sh "$out"
