#!/usr/bin/env bash
# Build the documentation site as CI would: the docs extra's packages installed into VENV,
# where forgegrad is already installed (the API reference imports it), then
# `mkdocs build --strict`: any warning, a broken link or anchor included, fails the build.
# The site goes to SITE_DIR, or to a temporary folder that is removed afterwards.
#   usage: tools/build_docs.sh VENV [SITE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:?usage: tools/build_docs.sh VENV [SITE_DIR]}"
if ! "$venv/bin/python" -c "import forgegrad" 2>/dev/null; then
  echo "tools/build_docs.sh: forgegrad is not installed in $venv; pip install . there first" >&2
  exit 1
fi
tools/install_extra.sh "$venv" docs
if [[ $# -ge 2 ]]; then
  site="$2"
else
  site="$(mktemp -d)"
  trap 'rm -rf "$site"' EXIT
fi
NO_MKDOCS_2_WARNING=1 "$venv/bin/python" -m mkdocs build --strict --site-dir "$site"
