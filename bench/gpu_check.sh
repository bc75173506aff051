#!/usr/bin/env bash
# The GPU check, run from the repository root on a machine with an NVIDIA GPU and no network
# (its Python has nvcc, CMake, ninja, pybind11, scikit-build-core, numpy, pytest, CuPy and
# PyTorch; nothing is installed from a registry):
#   1. build forgegrad for the GPU present,
#   2. run the whole test suite, the cuda cases enabled,
#   3. run the GPU benchmarks (GEMM against cuBLAS, the SGEMM tile variants, the MLP step
#      against PyTorch, the CNN rows of bench/conv.py (LeNet-5 step, ResNet block, conv2d
#      and depthwise conv) against PyTorch's cuDNN, the optimizer step against PyTorch's
#      fused Adam, elementwise GB/s against a copy, the fused attention kernel of
#      bench/attention.py against PyTorch's scaled_dot_product_attention),
#   4. run the GPU tests under compute-sanitizer memcheck with the caching allocator off.
# A lent GPU comes for minutes, so the whole check keeps within GPU_CHECK_SECONDS (default
# 540) and every step within its own limit, the most telling steps first; a step the time
# does not reach is reported as skipped. Every step runs even when one before it failed; the
# exit status is that of the first failure (124: a step ran out of time).
# Logs and JSON go to bench/gpu_check_out, or, when $OUT is set, into two files there (a
# device machine returns only a few): gpu_check_logs.tar.gz and summary.txt. The summary
# and the benchmark tables are printed last.
#   bash bench/gpu_check.sh            # everything
#   QUICK=1 bash bench/gpu_check.sh    # no sanitizer, fewer benchmark rounds
set -u
cd "$(dirname "$0")/.."
deadline=$((SECONDS + ${GPU_CHECK_SECONDS:-540}))
if [ -n "${OUT:-}" ]; then
  logs=$(mktemp -d)
  trap 'rm -rf "$logs"' EXIT
else
  logs=bench/gpu_check_out
fi
mkdir -p "$logs"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
status=0

publish() {  # copies the logs and the summary to $OUT, so that a killed run still returns them
  [ -n "${OUT:-}" ] || return 0
  tar -czf "$OUT/gpu_check_logs.tar.gz" -C "$logs" . && cp "$logs/summary.txt" "$OUT/summary.txt"
}
note() { echo "$*" | tee -a "$logs/summary.txt"; }

step() {  # step NAME LIMIT_SECONDS COMMAND...: runs it, logs to NAME.log, remembers a failure
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS - 5))
  if [ "$left" -lt 15 ]; then
    note "$name: skipped, the check's time is spent"
    [ "$status" -eq 0 ] && status=124
    publish
    return 124
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (at most $limit s): $*"
  local start=$SECONDS
  timeout -k 10 "$limit" "$@" > "$logs/$name.log" 2>&1
  local code=$?
  tail -n 15 "$logs/$name.log" | sed 's/^/   | /'
  local verdict="exit $code"
  [ "$code" -eq 124 ] && verdict="out of time (exit 124)"
  note "$name: $verdict after $((SECONDS - start)) s"
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
  publish
  return "$code"
}

nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.sm,clocks.max.sm \
  --format=csv > "$logs/gpu.txt" 2>&1
note "$(date -u '+%Y-%m-%d %H:%M UTC'), $(tail -n +2 "$logs/gpu.txt" | head -n 1)"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -n 1)
arch=$(echo "$arch" | tr -d '. ')
arch=${arch:-90}

step build 300 "$python" -m pip install --no-build-isolation --no-deps -v \
  -Ccmake.define.FORGEGRAD_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="$arch" \
  -Cbuild-dir=build/gpu . || { note "build failed: nothing else can run"; publish; exit "$status"; }
step info 60 "$python" -c "import forgegrad as fg, json; print(json.dumps(fg.info(), indent=1))"

# The whole suite; -rs lists every skip with its reason (none of the cuda cases should skip).
# Where pytest-timeout is installed, a test that hangs (a kernel that never ends) is named.
hang_guard=()
if "$python" -c "import pytest_timeout" 2> /dev/null; then
  hang_guard=(--timeout 120 --timeout-method thread)
fi
step tests 200 "$python" -m pytest -q -rs -p no:cacheprovider "${hang_guard[@]}"

rounds=${QUICK:+2}
rounds=${rounds:-5}
step bench_gemm 90 "$python" bench/gemm.py --device cuda --repeat "$rounds" \
  --json "$logs/gemm.json"
step gemm_tiles 90 "$python" bench/gemm_tiles.py --arch "$arch" --repeat "$rounds" \
  --json "$logs/gemm_tiles.json"
for bench in train_mlp conv optim elementwise; do
  step "bench_$bench" 60 "$python" "bench/$bench.py" --device cuda --repeat "$rounds" \
    --json "$logs/$bench.json"
done
step bench_attention 60 "$python" bench/attention.py --device cuda --repeat "$rounds" \
  --json "$logs/attention.json"

if [ -z "${QUICK:-}" ]; then
  if command -v compute-sanitizer > /dev/null; then
    # --report-api-errors no: the out-of-memory test's failed cudaMalloc is meant to fail.
    step memcheck 240 env FORGEGRAD_CUDA_NO_CACHE=1 compute-sanitizer --tool memcheck \
      --report-api-errors no --error-exitcode 99 --print-limit 20 \
      "$python" -m pytest -q -x -p no:cacheprovider \
      tests/test_cuda.py tests/test_devices.py tests/test_dlpack.py
  else
    note "memcheck: skipped, compute-sanitizer is not on the PATH"
  fi
fi

for name in bench_gemm gemm_tiles bench_train_mlp bench_conv bench_optim bench_elementwise \
    bench_attention; do
  [ -f "$logs/$name.log" ] && { echo "== $name"; tail -n 45 "$logs/$name.log"; }
done
echo "== summary"
cat "$logs/summary.txt"
echo "gpu_check: exit $status (logs and JSON in ${OUT:-$logs})"
publish
exit "$status"
