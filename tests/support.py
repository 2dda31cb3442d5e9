"""A real daemon subprocess on a private simulated VMware, for tests and benchmarks (loopback only)."""
from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from daemon.simulator.machine import process_alive as pid_alive  # noqa: F401  (re-exported for tests)
from daemon.worker.states import ILLEGAL

ROOT = Path(__file__).resolve().parent.parent
# A random start over the whole 127.100-254.x range:
# concurrent test runs on one machine rarely share a subnet.
_subnets = itertools.count(random.randrange(0, 150 * 250))
# A step of the simulated type_and_save episode each (daemon/simulator/tasks): after all three it scores 1.0.
TYPE = "Thought: type it.\nAction: type(content='hello world')"
SAVE = "Thought: save.\nAction: hotkey(key='ctrl s')"
FINISH = "Thought: done.\nAction: finished(content='saved')"
OWN_TOKEN = object()                     # DaemonProcess.request's default: send the daemon's own token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_ip_base() -> str:
    """Each daemon gets its own 127.x.y.0/24 so simulated guests of different tests never collide."""
    n = next(_subnets) % (150 * 250)
    return f"127.{100 + n // 250}.{n % 250}.2"


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


class DaemonProcess:
    def __init__(self, workdir: Path, envs: int = 4, preset: str = "fast", **overrides):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home = self.workdir / "sim"
        self.port = free_port()
        self.ip_base = fresh_ip_base()
        config = {
            "server": {"port": self.port, "drain_seconds": 20},
            "simulator": {"home": str(self.home), "count": envs, "preset": preset, "ip_base": self.ip_base},
            "episode": {"settle_seconds": 0.0},
            "run_dir": str(self.workdir / "run"),
            "evaluation": {"cache_dir": str(self.workdir / "cache")},
            "tunnel_status_file": str(self.workdir / "run" / "tunnel-status.json"),
            "supervisor_socket": str(self.workdir / "run" / "supervisor.sock"),
        }
        self.config_path = self.workdir / "daemon.yaml"
        merged = deep_merge(config, overrides)
        self.config_path.write_text(json.dumps(merged))
        self.token_path = Path(merged["server"].get("auth_token_file") or self.workdir / "run" / "auth-token")
        self.log_path = self.workdir / "daemon.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "DaemonProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(self.config_path)],
                                     cwd=ROOT, stdout=log, stderr=log,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: "
                                   f"{self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError, KeyError):     # KeyError: answered before the token
                if all(env["pid"] for env in self.health()["envs"]):
                    return self
            time.sleep(0.1)
        raise TimeoutError(f"daemon not up within {timeout} s: {self.log_path.read_text()[-2000:]}")

    # --- HTTP -----------------------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The daemon's auth token (it creates the file at its first start)."""
        return self.token_path.read_text().strip()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 120.0, token=OWN_TOKEN) -> tuple[int, dict, bytes]:
        """One request on a new connection; sends `Authorization: Bearer` with the daemon's token, or with
        `token` (None: no Authorization header at all)."""
        headers = dict(headers or {})
        token = self.token if token is OWN_TOKEN and self.token_path.exists() else token
        if isinstance(token, str):
            headers.setdefault("Authorization", f"Bearer {token}")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def post(self, path: str, payload: dict, timeout: float = 120.0, token=OWN_TOKEN) -> tuple[int, object]:
        status, _, body = self.request("POST", path, json.dumps(payload).encode(),
                                       {"Content-Type": "application/json"}, timeout, token)
        return status, json.loads(body)

    def health(self, token=OWN_TOKEN) -> dict:
        status, _, body = self.request("GET", "/health", timeout=10, token=token)
        return json.loads(body)

    def env_health(self, env_idx: int) -> dict:
        return self.health()["envs"][env_idx]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{what} not reached within {timeout} s; log: {self.log_path.read_text()[-1500:]}")

    def worker_pids(self) -> list[int]:
        return [env["pid"] for env in self.health()["envs"]]

    # --- lifecycle ------------------------------------------------------------------------------------------
    def stop(self, timeout: float = 60.0) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        from daemon.simulator import stop_all
        stop_all(self.home)
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        illegal = [line for line in log.splitlines() if ILLEGAL in line]
        assert not illegal, f"the daemon logged: {illegal}"
        return self.proc.returncode if self.proc else None



def wait_for_guest(ip: str, port: int = 5000, timeout: float = 15.0):
    """A GuestClient once the guest at ip:port answers /platform (a fresh guest needs about a second)."""
    from daemon.guest.client import GuestClient, GuestError
    guest = GuestClient(ip, port, request_timeout=10, retries=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            guest.platform(timeout=1)
            return guest
        except GuestError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "google-chrome", "chromium-browser")


@contextlib.contextmanager
def running_chromium(port: int, profile: Path):
    """A real headless Chromium with DevTools on 127.0.0.1:port (newer builds ignore
    --remote-debugging-address); skips the test where none is installed (scripts/test.sh installs Debian's
    chromium-headless-shell)."""
    import shutil

    import pytest
    binary = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if binary is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium-headless-shell)")
    command = [binary, "--no-sandbox", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
               "--no-first-run", "about:blank"]
    if not binary.endswith("headless-shell"):
        command.insert(1, "--headless=new")
    # Its own process group: Debian's launcher is a shell script that does not exec,
    # and Chromium forks helpers.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        yield process
    finally:
        end_group(process)


def end_group(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM to the process group this test started, SIGKILL to what is left of it after timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)              # reaps the leader, so only live members answer below
        deadline = time.monotonic() + timeout
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _group_alive(process.pid):
            return


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False
