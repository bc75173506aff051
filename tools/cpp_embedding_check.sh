#!/usr/bin/env bash
# The C++ embedding path, end to end (docs/cpp.md): configure, build and install forgegrad's
# core as a CMake package into a temporary prefix (no Python involved), build
# examples/cpp against it with find_package(forgegrad), write an MLP checkpoint and inputs
# with Python (fg.save), run the C++ example on them and compare its logits and classes with
# the model's output in Python.
#   tools/cpp_embedding_check.sh [PYTHON]    PYTHON: an interpreter with forgegrad installed
# FORGEGRAD_CORE_BUILD_DIR keeps the core's build folder (incremental reruns); by default it
# is temporary too. CMAKE_BUILD_PARALLEL_LEVEL sets the build's jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build="${FORGEGRAD_CORE_BUILD_DIR:-$work/core-build}"
cmake="${CMAKE:-cmake}"

echo "== libforgegrad: configure, build, install into $work/prefix"
"$cmake" -S . -B "$build" -DFORGEGRAD_CUDA=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
"$cmake" --build "$build"
"$cmake" --install "$build" >/dev/null

echo "== examples/cpp against the installed package"
"$cmake" -S examples/cpp -B "$work/example-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/example-build"
if ldd "$work/example-build/mlp_inference" | grep -i python; then
  echo "the example links Python" >&2
  exit 1
fi

echo "== a checkpoint from Python, run in C++, compared"
"$python" - "$work" <<'PY'
import subprocess
import sys

import numpy as np

import forgegrad as fg

work = sys.argv[1]
fg.manual_seed(0)
model = fg.nn.Sequential(fg.nn.Linear(64, 33), fg.nn.ReLU(), fg.nn.Linear(33, 17), fg.nn.ReLU(),
                         fg.nn.Linear(17, 10))
x = fg.randn(7, 64)
fg.save(model.state_dict(), f"{work}/mlp.safetensors")
fg.save({"x": x}, f"{work}/inputs.safetensors")
with fg.no_grad():
    expected = model(x).numpy()
out = subprocess.run([f"{work}/example-build/mlp_inference", f"{work}/mlp.safetensors",
                      f"{work}/inputs.safetensors"], check=True, capture_output=True, text=True)
rows = [line.split() for line in out.stdout.splitlines()]
classes = np.array([int(row[0]) for row in rows])
logits = np.array([[float(v) for v in row[1:]] for row in rows])
assert logits.shape == expected.shape, (logits.shape, expected.shape)
np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
assert (classes == expected.argmax(1)).all(), (classes, expected.argmax(1))
print(f"C++ and Python agree on {len(rows)} rows (classes {classes.tolist()})")
PY
