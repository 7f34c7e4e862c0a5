#!/usr/bin/env bash
# Builds swd and optim_bench against the LibTorch of an installed PyTorch wheel (with CUDA)
# and runs the benchmark on the GPU.
#
#   bench/gpu.sh [build-dir] [-- extra optim_bench arguments]
#
# Needs: python3 with a CUDA build of torch, cmake, a C++17 compiler with OpenMP. Extra CMake
# arguments go in SWD_CMAKE_ARGS. The CUDA tests (DevicePath.*: CUDA steps against the CPU's)
# are built and run too when the wheel's LibTorch uses the C++11 string ABI, as the system's
# GoogleTest does (torch 2.7 and later wheels); with an older wheel they are skipped, with a
# line that says so. On CUDA every swd
# optimizer takes the device path (tensor operations, vbar kept as a device scalar, no host
# synchronisation inside step()); the fused CPU kernels do not apply there.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-gpu}
shift || true
[[ "${1:-}" == "--" ]] && shift

prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "torch sees no CUDA device")'

abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
tests=OFF
[ "$abi" = 1 ] && tests=ON
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DSWD_BUILD_TESTS=$tests \
      -DSWD_BUILD_EXAMPLES=OFF -DSWD_BUILD_APPS=$tests ${SWD_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)" --target optim_bench

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if [ "$tests" = ON ]; then
  cmake --build "$build_dir" -j "$(nproc)" --target swd_tests
  "$build_dir/tests/swd_tests" --gtest_filter='DevicePath.*'
else
  echo "gpu.sh: the CUDA tests are skipped: this wheel's LibTorch uses the old string ABI"
fi
"$build_dir/bench/optim_bench" --device cuda "$@"
