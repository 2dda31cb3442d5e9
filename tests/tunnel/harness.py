"""Tunnel test harness: a private OpenSSH server on a free loopback port (own host key, config, authorized
key), the tunnel as a real subprocess, and small HTTP helpers. Used by tests/tunnel and
bench/tunnel_bench.py."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT, free_port

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)


class SshServer:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.host_key = self.dir / "host_ed25519"
        self.client_key = self.dir / "client_ed25519"
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                           timeout=30)
        (self.dir / "authorized_keys").write_text((self.dir / "client_ed25519.pub").read_text())
        os.chmod(self.dir / "authorized_keys", 0o600)
        self.known_hosts = self.dir / "known_hosts"
        public = (self.dir / "host_ed25519.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        self.config = self.dir / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}", f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no", "AllowTcpForwarding yes", "GatewayPorts no", "StrictModes no", "LogLevel VERBOSE",
            "PrintMotd no", "ClientAliveInterval 0", ""]))

    def start(self) -> "SshServer":
        os.makedirs("/run/sshd", exist_ok=True)
        log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {(self.dir / 'sshd.log').read_text()[-1000:]}")

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes under this server (all generations)."""
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True,
                             timeout=10).stdout
        children: dict[int, list[int]] = {}
        for line in out.splitlines():
            pid, ppid = map(int, line.split())
            children.setdefault(ppid, []).append(pid)
        found, todo = [], list(children.get(self.proc.pid, []))
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def signal_sessions(self, signum: int) -> list[int]:
        pids = self.session_pids()
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        """End the server and every session process it started."""
        sessions = self.session_pids() if self.proc else []
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Tunnel:
    def __init__(self, workdir: Path, sshd: SshServer, local_port: int, remote_port: int | None = None,
                 **extra):
        self.remote_port = remote_port or free_port()
        config = {
            "ssh": {"host": "127.0.0.1", "port": sshd.port, "user": "root", "key_file": str(sshd.client_key),
                    "known_hosts": str(sshd.known_hosts), "connect_timeout": 5},
            "forward": {"remote_port": self.remote_port, "local_port": local_port},
            "liveness": {"interval": 1.0, "misses": 3, "health_interval": 2.0},
            "backoff": {"initial": 0.3, "max": 2.0},
            "status_file": str(workdir / "tunnel-status.json"),
        }
        for key, value in extra.items():
            config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
        self.status_path = workdir / "tunnel-status.json"
        self.config = workdir / f"tunnel-{self.remote_port}.yaml"
        self.config.write_text(json.dumps(config))
        self.log = workdir / f"tunnel-{self.remote_port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Tunnel":
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "tunnel", "--config", str(self.config)], cwd=ROOT,
                                     stdout=log, stderr=log)
        log.close()
        return self

    def status(self) -> dict:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {}

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_http(port: int, timeout: float, path: str = "/health") -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if get(port, path, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"127.0.0.1:{port}{path} did not answer within {timeout} s")


def get(port: int, path: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST" if body is not None else "GET", path, body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
