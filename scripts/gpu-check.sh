#!/usr/bin/env bash
# The one command to run the first time a GPU is there: builds swd against the LibTorch of the
# machine's PyTorch (as bench/gpu.sh does), runs the CUDA tests, the optimizer benchmark on
# CUDA, and two short ResNet-18 trainings on synthetic 3x32x32 data (fp32 and bf16), then
# prints one summary. Needs nothing from the network (no dataset, no package); needs python3
# with a CUDA build of torch, cmake and a C++17 compiler with OpenMP, and the headers and
# libraries of nlohmann_json, toml++, CLI11, GoogleTest and zlib: where they are not installed,
# carry the folder scripts/gpu-deps.sh packs (build-gpu-deps, or $SWD_GPU_DEPS).
#
#   scripts/gpu-check.sh [build-dir]          (default build-gpu; logs in <build-dir>/gpu-check)
#
# Each part has its own time limit (seconds, below); the whole stays under 8 minutes on one
# modern GPU. Exit status: 0 when every part passed, 1 when one failed or timed out, 2 when
# there is no GPU (nothing is built then).
#
# What is checked:
#   build      swd, its tests and optim_bench against the wheel's LibTorch (CUDA)
#   tests      the CUDA tests (DevicePath.*, Device*.*, Precision.*, ForeachPath.*): optimizer
#              steps on CUDA against the CPU's, checkpoints moved GPU <-> CPU, bf16 on CUDA
#   bench      optim_bench --device cuda on the ResNet-18 parameter set: every swd optimizer
#              against torch::optim's on the same device, bandwidth against a device copy
#   train-*    resnet18, synthetic 3x32x32, batch 128: images/s over the second epoch of a
#              GPU run (8192 images), and the first 3 steps' mean training loss of the GPU run
#              against a CPU fp32 run of the same steps: within 1% for fp32 (cuDNN may use
#              TF32 for convolutions: 10-bit mantissa), 3% for bf16 (8-bit mantissa)
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-gpu}
logs="$build_dir/gpu-check"
LIMIT_BUILD=${LIMIT_BUILD:-240}
LIMIT_TESTS=${LIMIT_TESTS:-60}
LIMIT_BENCH=${LIMIT_BENCH:-60}
LIMIT_TRAIN=${LIMIT_TRAIN:-45}
LIMIT_CPU=${LIMIT_CPU:-40}

say() { echo "gpu-check: $*"; }

# ---- Is there a GPU? (before anything is built) ----------------------------------------------
if ! command -v python3 >/dev/null; then say "no GPU check possible: python3 is missing"; exit 2; fi
why=$(python3 - <<'EOF' 2>&1
import sys
try:
    import torch
except Exception as e:
    sys.exit(f"python3 cannot import torch ({e})")
if not torch.cuda.is_available():
    sys.exit(f"there is no GPU: torch {torch.__version__} sees no CUDA device"
             f" (CUDA build: {torch.version.cuda or 'no'})")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s):",
      torch.cuda.get_device_name(0))
EOF
)
status=$?
if [ $status -ne 0 ]; then say "$why"; say "nothing was built or run"; exit 2; fi
say "$why"
for tool in cmake c++; do
  command -v $tool >/dev/null || { say "$tool is missing (no package is installed here)"; exit 1; }
done
mkdir -p "$logs"
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
# nccl.h of the wheel's NCCL package, for the configure-time NCCL check (src/CMakeLists.txt)
nccl_include=$(python3 -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "include"))' 2>/dev/null || true)
# Headers and libraries a machine with only PyTorch lacks, packed by scripts/gpu-deps.sh
deps=${SWD_GPU_DEPS:-build-gpu-deps}
if [ -d "$deps" ]; then
  deps=$(cd "$deps" && pwd)
  prefix="$prefix;$deps"
  export CXXFLAGS="${CXXFLAGS:-} -isystem $deps/include"
  say "using the dependencies in $deps"
fi
started=$(date +%s)

# ---- Parts ------------------------------------------------------------------------------------
declare -a summary
failed=0
# part NAME LIMIT COMMAND...: runs COMMAND with a time limit, its output in $logs/NAME.log.
part() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" >"$logs/$name.log" 2>&1
  local rc=$? took=$(( $(date +%s) - t0 ))
  local verdict=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then verdict="TIMEOUT (limit ${limit}s)"; failed=1
  elif [ $rc -ne 0 ]; then verdict="FAILED (status $rc; see $logs/$name.log)"; failed=1; fi
  say "$name: $verdict, ${took}s"
  summary+=("$(printf '%-10s %-40s %4ss' "$name" "$verdict" "$took")")
  return $rc
}
note() { summary+=("           $*"); }

tests=OFF
[ "$abi" = 1 ] && tests=ON
build() {
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DSWD_BUILD_TESTS=$tests -DSWD_BUILD_EXAMPLES=OFF -DSWD_BUILD_APPS=ON \
        -DSWD_NCCL_INCLUDE_DIR="$nccl_include" ${SWD_CMAKE_ARGS:-} &&
  targets="swd_cli optim_bench" && { [ $tests = OFF ] || targets="$targets swd_tests"; } &&
  cmake --build "$build_dir" -j "$(nproc)" --target $targets
}
if ! part build "$LIMIT_BUILD" bash -c "$(declare -f build); build_dir='$build_dir' prefix='$prefix' tests=$tests nccl_include='$nccl_include' build"; then
  tail -20 "$logs/build.log"
  say "the build failed: nothing else runs"; exit 1
fi
grep -E "NCCL|Gloo" "$logs/build.log" | head -2 | while read -r line; do note "$line"; done

if [ $tests = ON ]; then
  part tests "$LIMIT_TESTS" "$build_dir/tests/swd_tests" \
       --gtest_filter='DevicePath.*:Device.*:DeviceCheckpoint.*:Precision.*:ForeachPath.*'
  note "$(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$logs/tests.log" | tr '\n' ' ')"
else
  note "tests    skipped: this wheel's LibTorch uses the old string ABI, unlike the system's GoogleTest"
fi

part bench "$LIMIT_BENCH" "$build_dir/bench/optim_bench" --device cuda --models resnet18 --rounds 3 --samples 2
note "$(grep -E 'copy a = b|adams fused / torch AdamW|sgds fused / torch SGD' "$logs/bench.log" | sed 's/^ *//' | tr '\n' ';')"

data="--dataset synthetic --synthetic-channels 3 --synthetic-size 32 --synthetic-classes 10 \
      --synthetic-test 1024 --model resnet18 --optimizer sgds --batch-size 128 --seed 1 --progress none"
runs="$build_dir/gpu-check/runs"
rm -rf "$runs"
# The first 3 steps on the CPU, fp32: the reference for both precisions.
part train-cpu "$LIMIT_CPU" "$build_dir/swd" train $data --synthetic-train 8192 --epochs 1 \
     --limit-batches 3 --device cpu --out "$runs/cpu"
for precision in fp32 bf16; do
  tolerance=0.01
  [ $precision = bf16 ] && tolerance=0.03
  part "train-$precision" "$LIMIT_TRAIN" bash -c "
    '$build_dir/swd' train $data --synthetic-train 8192 --epochs 1 --limit-batches 3 \
        --device cuda --precision $precision --out '$runs/steps-$precision' &&
    '$build_dir/swd' train $data --synthetic-train 8192 --epochs 2 \
        --device cuda --precision $precision --out '$runs/speed-$precision' &&
    python3 - '$runs' $precision $tolerance <<'EOF'
import csv, sys
runs, precision, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = lambda run: list(csv.DictReader(open(f'{runs}/{run}/metrics.csv')))
speed = rows(f'speed-{precision}')[-1]
gpu = float(rows(f'steps-{precision}')[0]['train_loss'])
try:
    cpu = float(rows('cpu')[0]['train_loss'])
except Exception:
    cpu = float('nan')
rel = abs(gpu - cpu) / cpu
print(f'{precision}: {8192 / float(speed[\"seconds\"]):.0f} images/s (epoch 2, evaluation included); '
      f'loss of the first 3 steps {gpu:.6f} vs CPU fp32 {cpu:.6f}: relative difference {rel:.2e} '
      f'(tolerance {tolerance})')
sys.exit(0 if rel <= tolerance else 1)
EOF"
  note "$(tail -1 "$logs/train-$precision.log")"
done

# ---- Summary ----------------------------------------------------------------------------------
echo
echo "== gpu-check summary ($(( $(date +%s) - started ))s; logs in $logs)"
printf '%s\n' "${summary[@]}"
[ $failed = 0 ] && echo "== all parts passed" || echo "== some part FAILED"
exit $failed
