"""Opt-in: score a metric with OSWorld's own implementation, in a separate long-lived process.

The user points evaluation.desktop_env_python at the python of a virtual environment where OSWorld's
desktop-env is installed. Getters still run here (they talk to the guest); only the metric call crosses over,
with the getter results (file paths in the shared task cache, strings, rules) as JSON. desktop-env pins torch
and ~60 packages: it is never imported into the daemon or a worker.
"""
from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
from pathlib import Path

from ..admission import DESKTOP_ENV_METRICS

RUNNER = Path(__file__).resolve().parent / "desktop_env_runner.py"
START_TIMEOUT = 300.0                  # importing desktop-env's metrics loads torch and friends
CALL_TIMEOUT = 600.0
log = logging.getLogger(__name__)


class ExternalMetricError(Exception):
    """The desktop-env evaluator could not score; the message says why and what to check."""


class DesktopEnvMetrics:
    def __init__(self, python: str, env: dict | None = None, allowed: frozenset[str] | None = None,
                 runner: Path = RUNNER):
        self.python, self.env, self.runner = python, env, runner   # the tests' reference runner wraps RUNNER
        self.allowed = DESKTOP_ENV_METRICS if allowed is None else allowed
        self.process: subprocess.Popen | None = None

    def score(self, metric: str, args: list, options: dict) -> float:
        if metric not in self.allowed:
            raise ExternalMetricError(f"refused by policy: metric {metric!r} is not one desktop-env is "
                                      "asked for (admission.DESKTOP_ENV_METRICS)")
        answer = self._ask({"metric": metric, "args": args, "options": options}, CALL_TIMEOUT)
        if "error" in answer:  # its text may quote files: the worker log has it, the answer not
            log.warning("desktop-env's %s failed: %s", metric, answer["error"][:1000])
            raise ExternalMetricError(f"desktop-env's {metric} raised {answer.get('error_type', 'an error')}")
        return float(answer["score"])

    def _ask(self, request: dict, timeout: float) -> dict:
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return json.loads(self._read_line(timeout))
        except (OSError, ValueError) as exc:
            self.close()
            raise ExternalMetricError(f"the desktop-env evaluator ({self.python}) failed: {exc}") from exc

    def _start(self) -> None:
        try:
            self.process = subprocess.Popen([self.python, str(self.runner)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=None, text=True,
                                            env=self.env or dict(os.environ))
        except OSError as exc:
            raise ExternalMetricError(
                f"cannot start {self.python} (evaluation.desktop_env_python): {exc}") from exc
        self.process.stdin.write(json.dumps({"metric": None}) + "\n")
        self.process.stdin.flush()
        ready = json.loads(self._read_line(START_TIMEOUT))
        if not ready.get("ready"):
            raise ExternalMetricError(f"the desktop-env evaluator did not start: {ready.get('error')}; "
                                      f"is desktop-env installed for {self.python}?")

    def _read_line(self, timeout: float) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.close()
                raise ExternalMetricError(f"the desktop-env evaluator gave no answer within {timeout:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise ExternalMetricError("the desktop-env evaluator exited; "
                                      "see the worker log for its error output")
        return line

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
