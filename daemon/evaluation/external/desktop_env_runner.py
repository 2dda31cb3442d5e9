"""Runs OSWorld's own metrics by name, inside the user's desktop-env virtual environment.

Started by daemon/evaluation/external/adapter.py as `<that venv's python> desktop_env_runner.py`; it never
imports the daemon, and the daemon never imports desktop-env. JSON lines: {"metric", "args", "options"} on
stdin → {"score": float} or {"error": str} on stdout; {"metric": null} answers {"ready": true} (a start-up
probe).
"""
import importlib
import json
import sys
import traceback


def main() -> None:
    metrics = importlib.import_module("desktop_env.evaluators.metrics")
    out = sys.stdout
    sys.stdout = sys.stderr                    # metrics that print must not corrupt the answers
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request.get("metric") is None:
                answer = {"ready": True}
            else:
                metric = getattr(metrics, request["metric"])
                answer = {"score": float(metric(*request.get("args", []), **(request.get("options") or {})))}
        except Exception as exc:               # noqa: BLE001  (reported to the daemon, which answers clearly)
            answer = {"error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__,
                      "trace": traceback.format_exc()[-2000:]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
