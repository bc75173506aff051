#!/usr/bin/env bash
# Formats the tree: Python with `ruff format`, C++ and CUDA with clang-format (.clang-format).
# `--check` changes nothing and fails on a file that is not formatted (.ci/run's lint stage).
# Both tools come with the lint extra: tools/install_extra.sh VENV lint.
#   usage: tools/format.sh [--check] [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
check=""
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
bin="${1:+$1/bin/}"
mapfile -t cxx < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
if [ -n "$check" ]; then
  "${bin}ruff" format --check
  "${bin}clang-format" --dry-run --Werror "${cxx[@]}"
else
  "${bin}ruff" format
  "${bin}clang-format" -i "${cxx[@]}"
fi
