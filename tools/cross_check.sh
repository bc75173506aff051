#!/usr/bin/env bash
# Builds forgegrad's C++ for processors and systems other than this x86-64 Linux machine, so
# that a change breaking the portable build (an x86-only intrinsic outside the *_avx2.cpp /
# *_avx512.cpp micro-kernels, an OpenMP call outside csrc/cpu/parallel.h) fails here:
#
#   aarch64 Linux (GCC's cross compiler), with OpenMP and without (the std::thread pool):
#     every C++ source of the module as CMakeLists.txt takes it (csrc/core, autograd, ops,
#     cpu, python; not the x86-64 micro-kernels) compiled to objects and linked into the
#     extension module _C.so (only Python's own symbols left to the interpreter); the pool's
#     and the double GEMM's checks (tests/cpu_threads, tests/cpu_gemm) linked and, where
#     qemu-user is installed, run.
#   aarch64 macOS (zig's clang, as Apple clang: no OpenMP): every source but the bindings
#     compiled, and the two checks linked (nothing here runs a Mach-O program).
#
# The bindings are compiled against this machine's Python headers (an x86-64 Linux
# pyconfig.h, whose type sizes are aarch64 Linux's too). Tools: g++-aarch64-linux-gnu and
# qemu-user (Debian packages; --install fetches them with apt-get), ziglang and pybind11
# (PyPI; installed into build/cross/venv). A target whose compiler is missing is skipped and
# said so; the script fails if any step fails or nothing was checked.
#
#   tools/cross_check.sh [--install]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=build/cross
jobs=$(nproc)
mkdir -p "$out"

if [[ "${1:-}" == "--install" ]]; then
  apt-get update -qq
  apt-get install -y -qq g++-aarch64-linux-gnu qemu-user
fi
if [[ ! -x $out/venv/bin/python ]]; then
  python3 -m venv "$out/venv"
fi
"$out/venv/bin/python" -c "import pybind11, ziglang" 2>/dev/null ||
  "$out/venv/bin/pip" install -q pybind11 ziglang
pybind11_include=$("$out/venv/bin/python" -c "import pybind11; print(pybind11.get_include())")
python_include=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['include'])")

# The module's sources, as CMakeLists.txt globs them, less the x86-64 micro-kernels.
mapfile -t core < <(ls csrc/core/*.cpp csrc/autograd/*.cpp csrc/ops/*.cpp csrc/cpu/*.cpp |
                      grep -Ev '_avx(2|512)\.cpp$')
mapfile -t bindings < <(ls csrc/python/*.cpp)
# -O0: this checks that the code compiles and links; code generation is the slow part.
common=(-std=c++17 -O0 -fPIC -Wall -Wextra -Wno-unused-parameter -Icsrc -I.
        -DFORGEGRAD_VERSION=\"cross\")
checked=0 skipped=()

# compile OBJDIR COMPILER FLAGS... -- SOURCES...: each source to OBJDIR/<dir>_<name>.o, in
# parallel; prints the compiler's errors and fails on any.
compile() {
  local dir=$1 cxx=$2; shift 2
  local flags=()
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  mkdir -p "$dir"
  printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh -c '
    src=$1; shift; obj=$(echo "$src" | tr / _); obj=${obj%.cpp}.o
    "$@" -c "$src" -o "'"$dir"'/$obj"' _ {} $cxx "${flags[@]}"
}

check_aarch64_linux() {
  local cxx=aarch64-linux-gnu-g++
  if ! command -v $cxx >/dev/null; then
    skipped+=("aarch64 Linux: no $cxx (apt-get install g++-aarch64-linux-gnu)"); return
  fi
  local pybind=(-isystem "$pybind11_include" -isystem "$python_include")
  # OpenMP changes only the sources that include cpu/parallel.h: the OpenMP build compiles
  # those again and takes the others' objects from the std::thread build.
  local -a threaded=()
  for src in "${core[@]}" "${bindings[@]}"; do
    $cxx -std=c++17 -Icsrc -I. "${pybind[@]}" -MM "$src" | grep -q 'cpu/parallel\.h' &&
      threaded+=("$src")
  done
  for threads in std-thread openmp; do
    local thread_flags=(-pthread) dir=$out/aarch64-linux-$threads
    [[ $threads == openmp ]] && thread_flags=(-fopenmp -pthread)
    local flags=("${common[@]}" "${thread_flags[@]}")
    rm -rf "$dir"
    if [[ $threads == std-thread ]]; then
      echo "== aarch64 Linux, $threads: ${#core[@]} core sources, ${#bindings[@]} bindings"
      compile "$dir" $cxx "${flags[@]}" -- "${core[@]}"
      compile "$dir" $cxx "${flags[@]}" "${pybind[@]}" -- "${bindings[@]}"
    else
      echo "== aarch64 Linux, $threads: the ${#threaded[@]} sources that include cpu/parallel.h"
      mkdir -p "$dir" && cp "$out"/aarch64-linux-std-thread/*.o "$dir"/
      compile "$dir" $cxx "${flags[@]}" "${pybind[@]}" -- "${threaded[@]}"
    fi
    $cxx -shared "${flags[@]}" "$dir"/*.o -o "$dir/_C.so"
    # Left undefined: Python's C API, for the interpreter to resolve, and the C, C++ and
    # OpenMP runtimes' versioned symbols.
    local unresolved
    unresolved=$(aarch64-linux-gnu-nm -uD "$dir/_C.so" | awk '{print $2}' |
                   grep -Ev '^_?Py|@|^__gmon_start__$|^_ITM_|^__cxa_finalize$' || true)
    if [[ -n $unresolved ]]; then
      echo "_C.so for aarch64 needs symbols nothing defines:"; echo "$unresolved"; return 1
    fi
    file "$dir/_C.so" | grep -q "ARM aarch64" || { file "$dir/_C.so"; return 1; }
    $cxx -std=c++17 -O1 "${thread_flags[@]}" -Icsrc tests/cpu_threads/parallel_check.cpp \
      -o "$dir/parallel_check"
    $cxx -std=c++20 -O2 "${thread_flags[@]}" -Icsrc -I. csrc/cpu/gemm.cpp csrc/core/cpu_features.cpp \
      tests/cpu_gemm/gemm_double_check.cpp -o "$dir/gemm_double_check"
    if command -v qemu-aarch64 >/dev/null; then
      local sysroot=/usr/aarch64-linux-gnu
      qemu-aarch64 -L $sysroot "$dir/parallel_check" --no-fork | tail -2
      OMP_NUM_THREADS=2 qemu-aarch64 -L $sysroot "$dir/gemm_double_check" | sed -n '1p;$p'
    else
      skipped+=("aarch64 Linux, $threads: the checks were linked, not run (no qemu-aarch64)")
    fi
    checked=$((checked + 1))
  done
}

check_aarch64_macos() {
  local zig=("$out/venv/bin/python" -m ziglang)
  local cxx="$out/venv/bin/python -m ziglang c++ -target aarch64-macos"
  local dir=$out/aarch64-macos flags=("${common[@]}")
  if ! "${zig[@]}" version >/dev/null 2>&1; then
    skipped+=("aarch64 macOS: no zig (pip install ziglang)"); return
  fi
  rm -rf "$dir"
  echo "== aarch64 macOS, std::thread (zig's clang, no OpenMP): ${#core[@]} core sources"
  compile "$dir" "$cxx" "${flags[@]}" -- "${core[@]}"
  "${zig[@]}" c++ -target aarch64-macos -std=c++17 -O1 -Icsrc \
    tests/cpu_threads/parallel_check.cpp -o "$dir/parallel_check"
  "${zig[@]}" c++ -target aarch64-macos -std=c++20 -O2 -Icsrc -I. csrc/cpu/gemm.cpp \
    csrc/core/cpu_features.cpp tests/cpu_gemm/gemm_double_check.cpp -o "$dir/gemm_double_check"
  file "$dir/parallel_check" "$dir/gemm_double_check" | grep -c "Mach-O 64-bit arm64 executable" |
    grep -qx 2 || { file "$dir"/*_check; return 1; }
  skipped+=("aarch64 macOS: compiled and linked, not run (no macOS here)")
  checked=$((checked + 1))
}

start=$SECONDS
check_aarch64_linux
check_aarch64_macos
echo "== cross check: $checked target builds passed in $((SECONDS - start)) s"
for reason in "${skipped[@]}"; do echo "   not done: $reason"; done
[[ $checked -gt 0 ]]
