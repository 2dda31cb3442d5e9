"""A temp 'checkout' in which the real supervisord runs the repo's own supervisord.conf (tests and bench/).

supervisord takes %(here)s from the -c path as given, so a temp directory holding a symlink to the checkout's
supervisord.conf (and to its .venv) gets its own run/ (socket, pid file, logs) and its own configs/, while the
file itself is the repo's, unedited. Its run/ holds only what git tracks there, as in a fresh clone, so
supervisord meets the directories a fresh checkout has, no more. Loopback only.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import paramiko

from tests.support import ROOT, free_port, fresh_ip_base, pid_alive

VENV = ROOT / ".venv"


def write_tunnel_config(path: Path, ssh_port: int, daemon_port: int) -> None:
    """A well-formed tunnel config whose SSH server does not exist (nothing listens on ssh_port)."""
    key = path.parent / "tunnel_key"
    if not key.exists():
        paramiko.RSAKey.generate(2048).write_private_key_file(str(key))
    (path.parent / "known_hosts").touch()
    path.write_text(json.dumps({
        "ssh": {"host": "127.0.0.1", "port": ssh_port, "user": "nobody", "key_file": str(key),
                "known_hosts": str(path.parent / "known_hosts")},
        "forward": {"remote_host": "127.0.0.1", "remote_port": 15001, "local_host": "127.0.0.1",
                    "local_port": daemon_port},
    }))


def tracked_files(folder: str) -> list[str]:
    """The files git tracks under folder of the checkout: what a fresh clone holds there."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True,
                            check=True, timeout=30).stdout.decode()
    return [name for name in listed.split("\0") if name]


def copy_tracked(here: Path, folder: str) -> None:
    for name in tracked_files(folder):
        (here / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, here / name)


def make_here(root: Path, port: int) -> Path:
    """A temp 'checkout' for supervisord: the repo's supervisord.conf and .venv (symlinks),
    own configs and run/."""
    here = root / "here"
    (here / "configs").mkdir(parents=True)
    copy_tracked(here, "run")
    (here / "supervisord.conf").symlink_to(ROOT / "supervisord.conf")
    (here / ".venv").symlink_to(VENV)
    sim = {"simulator": {"home": "../run/sim", "count": 4, "preset": "fast", "ip_base": fresh_ip_base()},
           "server": {"port": port, "drain_seconds": 20}, "episode": {"settle_seconds": 0.0}}
    (here / "configs" / "sim.yaml").write_text(json.dumps(sim))
    write_tunnel_config(here / "configs" / "tunnel.yaml", free_port(), port)
    return here


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll until predicate() is truthy; bounded by timeout; the failure names what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _written_pid(pid_file: Path) -> str | None:
    """The pid in the file once it is whole (supervisord writes it after forking, not atomically)."""
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return text if text.isdigit() else None


def get_json(url: str, timeout: float = 5.0, headers: dict | None = None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                timeout=timeout) as answer:
        return json.load(answer)


def post_json(url: str, body: dict, timeout: float = 60.0, headers: dict | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, json.load(answer)


def auth_headers(run_dir: Path) -> dict:
    """`Authorization: Bearer <token>` when the daemon keeps a token in run_dir/auth-token
    (server.auth_token_file's default), else nothing."""
    try:
        return {"Authorization": f"Bearer {(run_dir / 'auth-token').read_text().strip()}"}
    except FileNotFoundError:
        return {}


class Supervised:
    """supervisord with the repo's supervisord.conf in `here`; programs,
    states and /health through its eyes."""

    def __init__(self, here: Path, port: int, env: dict):
        self.here, self.port, self.env = here, port, env
        self.conf = here / "supervisord.conf"
        self.url = f"http://127.0.0.1:{port}"
        self.supervisord_pid: int | None = None

    def ctl(self, *args: str, check: bool = False) -> str:
        done = subprocess.run([str(VENV / "bin" / "supervisorctl"), "-c", str(self.conf), *args],
                              env=self.env, capture_output=True, text=True, timeout=120, check=check)
        return done.stdout

    def start(self) -> None:
        subprocess.run([str(VENV / "bin" / "supervisord"), "-c", str(self.conf)], env=self.env, check=True,
                       timeout=30)
        # supervisord's first process exits as soon as it has forked; the daemonized one writes the pid file
        pid_file = self.here / "run" / "supervisord.pid"
        self.supervisord_pid = int(wait_for(lambda: _written_pid(pid_file), 30, "supervisord's pid file"))

    def states(self) -> dict[str, str]:
        """{'osworld:daemon': 'RUNNING', ...} from `supervisorctl status`."""
        lines = [line.split() for line in self.ctl("status").splitlines() if line.strip()]
        return {parts[0]: parts[1] for parts in lines if len(parts) >= 2}

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip() or 0)

    def health(self) -> dict | None:
        try:
            return get_json(self.url + "/health", timeout=2.0, headers=auth_headers(self.here / "run"))
        except OSError:
            return None

    def post(self, path: str, body: dict, timeout: float = 60.0) -> tuple[int, object]:
        return post_json(self.url + path, body, timeout, auth_headers(self.here / "run"))

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
