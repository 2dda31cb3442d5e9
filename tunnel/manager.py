"""Keeps the tunnel up: connect, watch liveness, rebuild with capped exponential backoff and jitter; report
state.

Liveness needs answers: paramiko's keepalives never fail on a silently dropped connection, so every interval a
keepalive@openssh.com global request must be answered within the interval; `misses` unanswered in a row mean
the connection is dead. Every wait polls the stop flag, so SIGTERM ends the process within a second.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
import time

from daemon.atomic import write_atomic

from .connection import Connection, FatalTunnelError, TransientTunnelError

log = logging.getLogger("tunnel")


class Status:
    """The operator's view, written atomically to the status file the daemon's /health shows."""

    def __init__(self, path: str, forward: dict):
        self.path = path
        self.data = {"state": "connecting", "since": time.time(), "updated": time.time(), "last_error": None,
                     "reconnects": 0, "probe_latency_ms": None, "pid": os.getpid(),
                     "remote": f"{forward['remote_host']}:{forward['remote_port']}",
                     "local": f"{forward['local_host']}:{forward['local_port']}"}

    def set(self, **changes) -> None:
        if "state" in changes and changes["state"] != self.data["state"]:
            self.data["since"] = time.time()
        self.data.update(changes, updated=time.time())
        self.write()

    def write(self) -> None:
        write_atomic(self.path, json.dumps(self.data).encode())


class Probe:
    """One keepalive@openssh.com request at a time (paramiko shares its completion event between requests)."""

    def __init__(self, transport):
        self.transport = transport
        self.thread: threading.Thread | None = None
        self.answered_at: float | None = None

    def ask(self, deadline: float) -> float | None:
        """Latency in ms, or None when no answer came within the deadline."""
        if self.thread is not None and self.thread.is_alive():
            return None                              # the previous one is still unanswered: another miss
        self.answered_at = None
        started = time.monotonic()
        self.thread = threading.Thread(target=self._send, daemon=True, name="tunnel-probe")
        self.thread.start()
        self.thread.join(deadline)
        return None if self.answered_at is None else (self.answered_at - started) * 1000

    def _send(self) -> None:
        try:
            self.transport.global_request("keepalive@openssh.com", wait=True)   # a failure reply is an answer
            self.answered_at = time.monotonic()
        except Exception:                            # noqa: BLE001  (a dying transport: counted as a miss)
            pass


class TunnelManager:
    def __init__(self, settings, stop: threading.Event | None = None):
        self.settings = settings
        self.stop = stop or threading.Event()
        self.status = Status(settings["status_file"], settings["forward"])

    def run(self) -> int:
        """0 after stop(); raises FatalTunnelError for what retrying cannot fix."""
        backoff = self.settings["backoff"]["initial"]
        first = True
        while not self.stop.is_set():
            self.status.set(state="connecting")
            connection = Connection(self.settings, self.stop)
            try:
                connection.open()
                if not first:
                    self.status.data["reconnects"] += 1
                first = False
                log.info("tunnel up: %s (server) -> %s (here)", self.status.data["remote"],
                         self.status.data["local"])
                self.status.set(state="connected", last_error=None)
                backoff = self.settings["backoff"]["initial"]
                reason = self._watch(connection)
                log.warning("tunnel down: %s", reason)
                self.status.set(state="connecting", last_error=reason)
            except FatalTunnelError as exc:
                self.status.set(state="failed", last_error=str(exc))
                raise
            except TransientTunnelError as exc:
                log.warning("%s; retrying in %.1f s", exc, backoff)
                self.status.set(state="connecting", last_error=str(exc))
                self._sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self.settings["backoff"]["max"])
            finally:
                connection.close()
        self.status.set(state="stopped")
        return 0

    def _watch(self, connection: Connection) -> str:
        liveness = self.settings["liveness"]
        probe = Probe(connection.transport)
        misses = 0
        next_health = time.monotonic() + liveness["health_interval"]
        while not self.stop.is_set():
            if not connection.alive():
                return "the server closed the connection"
            latency = probe.ask(min(liveness["interval"], 5.0))
            if latency is None:
                misses += 1
                log.warning("keepalive unanswered (%d/%d)", misses, liveness["misses"])
                if misses >= liveness["misses"]:
                    return f"{misses} keepalives unanswered: the connection is silently dead"
            else:
                misses = 0
                self.status.set(probe_latency_ms=round(latency, 1))
            if time.monotonic() >= next_health:
                next_health = time.monotonic() + liveness["health_interval"]
                if not connection.health_through_forward(timeout=liveness["interval"]):
                    log.warning("GET /health through the forward failed (is the daemon up?)")
            self._sleep(max(0.0, liveness["interval"] - (latency or 0) / 1000))
        return "stopping"

    def _sleep(self, seconds: float) -> None:
        self.stop.wait(seconds)
