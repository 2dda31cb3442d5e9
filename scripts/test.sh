#!/usr/bin/env bash
# Quick-start command two: install what the tests need (venv; the test, docs, chrome, pdf and cluster extras; an
# OpenSSH server and a headless Chromium where apt-get can install them), lint (`ruff check .`, ruff.toml: a
# finding fails the command) and run the whole suite. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh tests/actions -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,docs,chrome,pdf,cluster]'

# The tunnel tests run a private sshd on loopback (macOS ships /usr/sbin/sshd; Debian needs openssh-server); the
# Chrome tests hold the DevTools client and the simulated Chrome to a real headless Chromium.
MISSING=()
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null 2>&1 || MISSING+=(openssh-server)
command -v chromium-headless-shell chromium google-chrome >/dev/null 2>&1 || MISSING+=(chromium-headless-shell)
if [ "${#MISSING[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
  else
    echo "note: no apt-get to install ${MISSING[*]}; the tests that need them will be skipped" >&2
  fi
fi

# OSWorld's own evaluators, for the differential tests (tests/differential); without a registry they skip.
bash scripts/reference_venv.sh || echo "note: could not build .venv-osworld; the differential tests will be skipped" >&2

.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
