#!/usr/bin/env bash
# The GPU check, run from the repository root on a machine with an NVIDIA GPU and no network
# (its Python has nvcc, CMake, ninja, pybind11, scikit-build-core, numpy, pytest, CuPy and
# PyTorch; nothing is installed from a registry):
#   1. build forgegrad for the GPU present,
#   2. run the whole test suite, the cuda cases enabled,
#   3. run the GPU tests under compute-sanitizer memcheck with the caching allocator off,
#   4. run the GPU benchmarks (GEMM against cuBLAS, the MLP step against PyTorch, the
#      optimizer step against PyTorch's fused Adam, elementwise GB/s against a copy).
# Logs and JSON go to $OUT when it is set (else bench/gpu_check_out). Every step runs even
# when one before it failed; the exit status is that of the first failure.
#   bash bench/gpu_check.sh            # everything
#   QUICK=1 bash bench/gpu_check.sh    # no sanitizer, fewer benchmark rounds
set -u
cd "$(dirname "$0")/.."
out="${OUT:-bench/gpu_check_out}"
mkdir -p "$out"
python="${PYTHON:-python3}"
status=0
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, remembers a failure
  local name=$1
  shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" > "$out/$name.log" 2>&1
  local code=$?
  echo "   exit $code after $((SECONDS - start)) s; last lines:"
  tail -n 15 "$out/$name.log" | sed 's/^/   | /'
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
  return "$code"
}

nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '. ')
arch=${arch:-90}

step build "$python" -m pip install --no-build-isolation --no-deps -v \
  -Ccmake.define.FORGEGRAD_CUDA=ON -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="$arch" \
  -Cbuild-dir=build/gpu . || { echo "build failed: nothing else can run"; exit "$status"; }
step info "$python" -c "import forgegrad as fg, json; print(json.dumps(fg.info(), indent=1))"

# The whole suite; -rs lists every skip with its reason (none of the cuda cases should skip).
step tests "$python" -m pytest -q -rs -p no:cacheprovider

if [ -z "${QUICK:-}" ]; then
  if command -v compute-sanitizer > /dev/null; then
    # --report-api-errors no: the out-of-memory test's failed cudaMalloc is meant to fail.
    step memcheck env FORGEGRAD_CUDA_NO_CACHE=1 compute-sanitizer --tool memcheck \
      --report-api-errors no --error-exitcode 99 --print-limit 20 \
      "$python" -m pytest -q -x -p no:cacheprovider \
      tests/test_cuda.py tests/test_devices.py tests/test_dlpack.py
  else
    echo "== memcheck: compute-sanitizer is not on the PATH; skipped"
  fi
fi

rounds=${QUICK:+2}
rounds=${rounds:-5}
for bench in gemm train_mlp optim elementwise; do
  step "bench_$bench" "$python" "bench/$bench.py" --device cuda --repeat "$rounds" \
    --json "$out/$bench.json"
done
echo "gpu_check: exit $status (logs and JSON in $out)"
exit "$status"
