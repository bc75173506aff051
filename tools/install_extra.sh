#!/usr/bin/env bash
# Install an extra's requirements (pyproject.toml's optional-dependencies) into VENV without
# forgegrad itself: `pip install ".[EXTRA]"` would rebuild forgegrad.
#   usage: tools/install_extra.sh VENV EXTRA
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:?usage: tools/install_extra.sh VENV EXTRA}"
extra="${2:?usage: tools/install_extra.sh VENV EXTRA}"
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
"$venv/bin/python" -c 'import sys, tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"][sys.argv[1]]))' \
  "$extra" > "$requirements"
"$venv/bin/pip" install -q -r "$requirements"
