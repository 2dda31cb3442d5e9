"""supervisord's view of our programs, for /health: XML-RPC over supervisord's unix socket, off the event
loop.

A background thread asks supervisord (supervisor.getAllProcessInfo) every few seconds with a short timeout and
keeps the answer; /health reads the kept answer, so a stuck or absent supervisord never delays /health.
"""
from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import xmlrpc.client


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, with a timeout on connect and every read."""

    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__()
        self.socket_path, self.timeout = socket_path, timeout

    def make_connection(self, host):
        return _UnixConnection(self.socket_path, self.timeout)


def process_infos(socket_path: str, timeout: float) -> list[dict]:
    """supervisor.getAllProcessInfo over the unix socket; raises OSError / xmlrpc errors on failure."""
    proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=_UnixTransport(socket_path, timeout))
    return proxy.supervisor.getAllProcessInfo()


def summarize(info: dict) -> dict:
    """One program as /health shows it."""
    return {"name": f"{info['group']}:{info['name']}", "state": info["statename"], "pid": info["pid"] or None,
            "description": info["description"], "exitstatus": info["exitstatus"]}


class SupervisorView:
    """Cached supervisord program states. snapshot() never blocks; start() runs the refresh thread."""

    def __init__(self, socket_path: str, interval: float = 5.0, timeout: float = 2.0):
        self.socket_path, self.interval, self.timeout = str(socket_path), interval, timeout
        self._snapshot: dict | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict | None:
        """The last answer: None before the first refresh and when there is no supervisord socket."""
        return self._snapshot

    def refresh(self) -> None:
        """Ask supervisord once (bounded by the timeout) and keep the answer or the failure."""
        if not os.path.exists(self.socket_path):
            self._snapshot = None
            return
        try:
            programs = [summarize(info) for info in process_infos(self.socket_path, self.timeout)]
            self._snapshot = {"ok": True, "updated": time.time(), "programs": programs}
        except (OSError, xmlrpc.client.Error, http.client.HTTPException) as exc:
            self._snapshot = {"ok": False, "updated": time.time(), "programs": [],
                              "error": f"supervisord at {self.socket_path} did not answer ({exc}); "
                                       "check it with: .venv/bin/supervisorctl -c supervisord.conf status"}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor-view", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1.0)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.refresh()
            self._stopped.wait(self.interval)
