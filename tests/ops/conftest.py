"""A real supervisord running the repo's own supervisord.conf in a temp directory (see sandbox.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ops.sandbox import VENV, make_here
from tests.support import free_port, pid_alive


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll until predicate() is truthy; bounded by timeout; the failure names what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer)


def post_json(url: str, body: dict, timeout: float = 60.0) -> tuple[int, object]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, json.load(answer)


class Supervised:
    """supervisord with the repo's supervisord.conf in `here`; programs, states and /health through its eyes."""

    def __init__(self, here: Path, port: int, env: dict):
        self.here, self.port, self.env = here, port, env
        self.conf = here / "supervisord.conf"
        self.supervisord_pid: int | None = None

    @property
    def url(self) -> str:
        """The daemon's base URL as the cluster config holds it: with the token prefix once the daemon made one."""
        token = self.here / "run" / "auth-token"
        plain = f"http://127.0.0.1:{self.port}"
        return f"{plain}/t/{token.read_text().strip()}" if token.exists() else plain

    def ctl(self, *args: str, check: bool = False) -> str:
        done = subprocess.run([str(VENV / "bin" / "supervisorctl"), "-c", str(self.conf), *args], env=self.env,
                              capture_output=True, text=True, timeout=120, check=check)
        return done.stdout

    def start(self) -> None:
        subprocess.run([str(VENV / "bin" / "supervisord"), "-c", str(self.conf)], env=self.env, check=True, timeout=30)
        pid_file = self.here / "run" / "supervisord.pid"
        # supervisord's daemonized child writes the file after its parent has exited
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 30, "supervisord.pid", 0.05)
        self.supervisord_pid = int(pid_file.read_text())

    def states(self) -> dict[str, str]:
        """{'osworld:daemon': 'RUNNING', ...} from `supervisorctl status`."""
        lines = [line.split() for line in self.ctl("status").splitlines() if line.strip()]
        return {parts[0]: parts[1] for parts in lines if len(parts) >= 2}

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip() or 0)

    def health(self) -> dict | None:
        try:
            return get_json(self.url + "/health", timeout=2.0)
        except OSError:
            return None

    def log(self, name: str) -> str:
        return (self.here / "run" / "logs" / f"{name}.log").read_text(errors="replace")

    def shutdown(self) -> None:
        if self.supervisord_pid is None or not pid_alive(self.supervisord_pid):
            return
        self.ctl("shutdown")
        try:
            wait_for(lambda: not pid_alive(self.supervisord_pid), 120, "supervisord to exit after shutdown")
        except AssertionError:
            os.kill(self.supervisord_pid, signal.SIGKILL)        # only the supervisord this fixture started
            raise


def clean_env() -> dict:
    """This process's environment without the OSWORLD_* choices, so the checkout's defaults apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OSWORLD_", "VMRUN_SIM"))}


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    port = free_port()
    here = make_here(tmp_path_factory.mktemp("supervised"), port)
    instance = Supervised(here, port, clean_env())
    instance.start()
    try:
        wait_for(instance.health, 60, "/health of the supervised daemon")
        yield instance
    finally:
        instance.shutdown()
        from daemon.simulator import stop_all
        stop_all(here / "run" / "sim")
