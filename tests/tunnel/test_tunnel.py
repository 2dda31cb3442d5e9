"""The tunnel against a real OpenSSH server on loopback: traffic, faults, reclaim, host keys, signals."""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT, free_port

from .harness import SSHD, SshServer, Tunnel, get, wait_http

pytestmark = pytest.mark.skipif(SSHD is None, reason="no OpenSSH server (sshd) on this machine; "
                                                      "scripts/test.sh installs Debian's openssh-server")


@pytest.fixture
def target():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.tunnel.target_app", str(port)], cwd=ROOT)
    wait_http(port, timeout=20)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def sshd(tmp_path):
    server = SshServer(tmp_path).start()
    yield server
    server.stop()


def test_traffic_through_the_tunnel(tmp_path, sshd, target):
    tunnel = Tunnel(tmp_path, sshd, target).start()
    try:
        wait_http(tunnel.remote_port, 20)
        assert json.loads(get(tunnel.remote_port, "/health")[1]) == {"status": "ok"}
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: get(tunnel.remote_port, "/health", timeout=30), range(200)))
        assert all(status == 200 for status, _ in answers)
        body = os.urandom(20 * 1024 * 1024)
        assert get(tunnel.remote_port, "/echo", body, timeout=60) == (200, body)
        status = tunnel.status()
        assert status["state"] == "connected" and status["remote"] == f"127.0.0.1:{tunnel.remote_port}"
    finally:
        assert tunnel.stop() == 0


def test_sshd_restart_is_survived(tmp_path, sshd, target):
    tunnel = Tunnel(tmp_path, sshd, target).start()
    try:
        wait_http(tunnel.remote_port, 20)
        sshd.stop()
        time.sleep(1)
        sshd.start()
        wait_http(tunnel.remote_port, 10)
        assert tunnel.status()["reconnects"] >= 1
    finally:
        tunnel.stop()


def test_frozen_session_is_detected_and_its_port_reclaimed(tmp_path, sshd, target):
    tunnel = Tunnel(tmp_path, sshd, target).start()
    try:
        wait_http(tunnel.remote_port, 20)
        frozen = sshd.signal_sessions(signal.SIGSTOP)        # no FIN, no answers: a silently dead connection
        started = time.monotonic()
        deadline = started + 1.0 * 3 + 15                    # interval x misses + reconnect and reclaim
        while time.monotonic() < deadline and tunnel.status().get("reconnects", 0) < 1:
            time.sleep(0.2)
        assert tunnel.status().get("reconnects", 0) >= 1, tunnel.log.read_text()[-2000:]
        wait_http(tunnel.remote_port, 15)
        assert "ending them" in tunnel.log.read_text() \
            or all(not os.path.exists(f"/proc/{p}") for p in frozen)
    finally:
        sshd.signal_sessions(signal.SIGCONT)
        tunnel.stop()


def test_stale_port_of_a_vanished_tunnel_is_reclaimed(tmp_path, sshd, target):
    old = Tunnel(tmp_path, sshd, target).start()
    wait_http(old.remote_port, 20)
    sshd.signal_sessions(signal.SIGSTOP)                     # the old session can no longer notice anything
    old.proc.kill()                                          # the Mac vanished: no FIN reached the server
    old.proc.wait()
    (tmp_path / "new").mkdir()
    new = Tunnel(tmp_path / "new", sshd, target, remote_port=old.remote_port).start()
    try:
        started = time.monotonic()
        deadline = started + 15
        while time.monotonic() < deadline and new.status().get("state") != "connected":
            time.sleep(0.2)
        assert new.status().get("state") == "connected", new.log.read_text()[-2000:]
        assert "ending them" in new.log.read_text()
        wait_http(new.remote_port, 15 - (time.monotonic() - started))
    finally:
        sshd.signal_sessions(signal.SIGCONT)
        new.stop()


def test_unknown_host_key_is_refused_with_the_do_not_restart_code(tmp_path, sshd, target):
    sshd.known_hosts.write_text("")
    tunnel = Tunnel(tmp_path, sshd, target).start()
    assert tunnel.proc.wait(timeout=30) == 78
    log = tunnel.log.read_text()
    assert "not in" in log and "SHA256:" in log and str(sshd.known_hosts) in log
    assert tunnel.status()["state"] == "failed"


def unconfigured_tunnel(tmp_path) -> tuple[subprocess.Popen, Path, Path]:
    """python -m tunnel with no file at its --config path; (process, config path, status file)."""
    config = tmp_path / "configs" / "tunnel.yaml"
    config.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "tunnel", "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    status = tmp_path / "run" / "tunnel-status.json"
    deadline = time.monotonic() + 30
    while not status.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc, config, status


def test_missing_config_is_a_calm_waiting_state_ended_by_sigterm(tmp_path):
    proc, config, status = unconfigured_tunnel(tmp_path)
    try:
        assert proc.poll() is None, "the tunnel ended without a config instead of waiting for one"
        shown = json.loads(status.read_text())
        assert shown["state"] == "not_configured" and shown["config"] == str(config)
        assert "copy configs/tunnel.yaml.example" in shown["message"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "tunnel not configured" in proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_config_written_later_is_picked_up(tmp_path):
    proc, config, _ = unconfigured_tunnel(tmp_path)
    try:
        config.write_text("ssh: 5\n")                # malformed: once read, the config error ends it with 78
        assert proc.wait(timeout=30) == 78
        assert "tunnel config error" in proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_sigterm_ends_it_even_when_the_server_hangs(tmp_path, sshd, target):
    tunnel = Tunnel(tmp_path, sshd, target).start()
    try:
        wait_http(tunnel.remote_port, 20)
        sshd.signal_sessions(signal.SIGSTOP)
        time.sleep(0.5)
        tunnel.proc.send_signal(signal.SIGTERM)
        assert tunnel.proc.wait(timeout=5) == 0
    finally:
        sshd.signal_sessions(signal.SIGCONT)
        tunnel.stop()
