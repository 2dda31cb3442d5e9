#!/usr/bin/env bash
# Quick-start command one: create .venv (if missing), install this checkout into it, start supervisord with the
# daemon and the tunnel (or report that it already runs), wait until /health answers, print the status.
# Idempotent. Environment (optional): OSWORLD_PORT (daemon port), OSWORLD_DAEMON_CONFIG, OSWORLD_TUNNEL_CONFIG
# (see daemon/ops/launch.py for the default choice), OSWORLD_START_TIMEOUT (seconds to wait for /health, 180),
# PYTHON (the interpreter that creates .venv, python3), OSWORLD_EXTRAS (the optional evaluators to install,
# docs,chrome; add pdf for compare_pdfs, which brings AGPL-licensed PyMuPDF).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CTL=(.venv/bin/supervisorctl -c supervisord.conf)
TIMEOUT="${OSWORLD_START_TIMEOUT:-180}"

if [ ! -x "$PY" ]; then
  "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "error: ${PYTHON:-python3} is older than Python 3.10; install a newer Python (e.g. brew install python@3.12)" \
         "and run: PYTHON=python3.12 bash scripts/start.sh" >&2; exit 1; }
  echo "creating .venv"
  "${PYTHON:-python3}" -m venv .venv
fi
EXTRAS="${OSWORLD_EXTRAS-docs,chrome}"
echo "installing this checkout into .venv (pip install -e '.[$EXTRAS]')"
"$PY" -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
mkdir -p run/logs              # in git; recreated in case run/ was deleted

"$PY" -m daemon.ops.launch daemon --checkout . --show
"$PY" -m daemon.ops.launch tunnel --checkout . --show
PORT="$("$PY" -m daemon.ops.launch daemon --checkout . --port)"

if "${CTL[@]}" pid >/dev/null 2>&1; then
  echo "supervisord is already running (pid $("${CTL[@]}" pid)); not starting another"
else
  .venv/bin/supervisord -c supervisord.conf
  echo "supervisord started"
fi

URL="http://127.0.0.1:$PORT/health"
echo "waiting up to ${TIMEOUT}s for $URL"
if ! "$PY" - "$URL" "$TIMEOUT" <<'PYEOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            sys.exit(0 if answer.status == 200 else 1)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
PYEOF
then
  "${CTL[@]}" status || true
  echo "error: $URL did not answer within ${TIMEOUT}s; the daemon's log says why:" >&2
  tail -n 20 run/logs/daemon.log >&2 || true
  echo "fix the cause, then run: bash scripts/start.sh (or: ${CTL[*]} restart osworld:daemon)" >&2
  exit 1
fi

"${CTL[@]}" status || true     # non-zero when a program is not RUNNING (e.g. the tunnel with an invalid config)
cat <<MSG
/health answers: curl $URL
status:          ${CTL[*]} status
logs:            run/logs/ (daemon.log, tunnel.log, supervisord.log)
stop:            bash scripts/stop.sh
MSG
