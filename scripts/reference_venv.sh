#!/usr/bin/env bash
# Builds .venv-osworld: OSWorld's own evaluator code (PyPI's desktop-env, --no-deps) plus only the libraries its
# cross-checked metric modules import (tests/differential/reference-requirements.txt). Only the differential tests
# use it, in a subprocess; it is never our .venv and the daemon never imports it. Idempotent: a stamp of the
# inputs makes a second run return at once. Exit status non-zero when it cannot be built (e.g. no registry).
set -euo pipefail
cd "$(dirname "$0")/.."

DESKTOP_ENV="desktop-env==1.0.2"
VENV=.venv-osworld
REQUIREMENTS=tests/differential/reference-requirements.txt
STAMP="$VENV/.built"
WANT="$(cat "$0" "$REQUIREMENTS" | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
"$VENV/bin/python" -m pip install -q --no-deps "$DESKTOP_ENV"
echo "$WANT" > "$STAMP"
