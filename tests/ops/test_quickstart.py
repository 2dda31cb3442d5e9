"""The README's command one on a fresh copy of the checkout: bash scripts/start.sh, /health,
bash scripts/stop.sh.

Selected with `-m quickstart` or run with the rest; it creates a venv and pip installs (a minute or two).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops.sandbox import clean_env, get_json
from tests.support import ROOT, free_port, pid_alive

pytestmark = pytest.mark.quickstart


def fresh_copy(destination: Path) -> Path:
    """The working tree as a clone would hold it (tracked and new files; nothing ignored: no .venv, no
    run/)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True, timeout=30).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def run(script: str, checkout: Path, env: dict) -> str:
    done = subprocess.run(["bash", script], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=540)
    assert done.returncode == 0, f"{script} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_start_sh_on_a_fresh_checkout_serves_health_and_stop_sh_stops_it(tmp_path):
    checkout = fresh_copy(tmp_path / "checkout")
    port = free_port()
    env = {**clean_env(), "OSWORLD_PORT": str(port)}
    env.pop("VIRTUAL_ENV", None)
    supervisord_pid = None
    try:
        out = run("scripts/start.sh", checkout, env)
        supervisord_pid = int((checkout / "run" / "supervisord.pid").read_text())
        assert "supervisord started" in out and "osworld:daemon" in out and "bash scripts/stop.sh" in out
        assert get_json(f"http://127.0.0.1:{port}/health")["status"] == "ok"
        assert "already running" in run("scripts/start.sh", checkout, env)          # idempotent
        assert "stopped" in run("scripts/stop.sh", checkout, env)
        assert not pid_alive(supervisord_pid)
        assert "not running" in run("scripts/stop.sh", checkout, env)
    finally:
        if supervisord_pid and pid_alive(supervisord_pid):
            subprocess.run([str(checkout / ".venv" / "bin" / "supervisorctl"),
                            "-c", str(checkout / "supervisord.conf"), "shutdown"], timeout=120)
