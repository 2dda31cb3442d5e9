"""EnvFleet: the env slots of several daemons (one per Mac), leased to episodes one at a time.

Each daemon's authenticated /health lists its envs. A slot is free when its daemon answered the last probe,
the env is not busy, not starting, resetting, recovering or broken, and no episode of this fleet holds it. A
daemon that stops answering (or an episode that lost it) is skipped until a later probe finds it healthy
again; probes run at most every `recheck_seconds` per daemon and never under the fleet's lock. One fleet per
set of daemons: it assumes no other trainer uses their envs at the same time.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from .address import DaemonAddress
from .remote_env import EnvFault, RemoteEnv, Timeouts, get_health

log = logging.getLogger("cluster.fleet")

# "running"/"done": a finished lease of ours, reset replaces it
USABLE_PHASES = {"idle", "running", "done"}
DAEMON_LOST_CODES = {"daemon_unreachable", "untrusted_daemon", "unauthorized", "shutting_down"}


@dataclass(frozen=True)
class Slot:
    address: DaemonAddress
    env_idx: int

    def __str__(self) -> str:
        return f"{self.address.display} env {self.env_idx}"


@dataclass
class DaemonState:
    address: DaemonAddress
    up: bool = False
    envs: list = field(default_factory=list)           # /health "envs"
    tunnel: dict | None = None
    error: str | None = None
    checked: float = float("-inf")                      # monotonic time of the last probe

    def usable_envs(self) -> list[int]:
        if not self.up:
            return []
        return [env["env_idx"] for env in self.envs
                if env.get("phase") in USABLE_PHASES and not env.get("busy") and env.get("pid", 1)]


class EnvFleet:
    def __init__(self, daemons: list[DaemonAddress], timeouts: Timeouts = Timeouts(connect=5.0, health=5.0),
                 recheck_seconds: float = 5.0):
        if not daemons:
            raise ValueError("an EnvFleet needs at least one daemon address")
        self.daemons = [DaemonState(address) for address in daemons]
        self.probes = {address: RemoteEnv(address, timeouts=timeouts) for address in daemons}
        self.recheck_seconds = recheck_seconds
        self.leased: set[Slot] = set()
        self.lock = threading.Lock()

    # --- health ---------------------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Probe every daemon whose last probe is older than recheck_seconds (all of them with force)."""
        now = time.monotonic()
        with self.lock:
            due = [d for d in self.daemons if force or now - d.checked >= self.recheck_seconds]
            for daemon in due:
                daemon.checked = now                     # one prober per daemon at a time
        for daemon in due:
            self._probe(daemon)

    def _probe(self, daemon: DaemonState) -> None:
        try:
            health = get_health(self.probes[daemon.address])
        except EnvFault as fault:
            with self.lock:
                if daemon.up:
                    log.warning("daemon %s is down: %s", daemon.address.display, fault.message)
                daemon.up, daemon.error, daemon.envs = False, fault.message, []
            return
        with self.lock:
            if not daemon.up:
                log.info("daemon %s is up with %d env(s)", daemon.address.display,
                         len(health.get("envs", [])))
            daemon.up, daemon.error = True, None
            daemon.envs, daemon.tunnel = list(health.get("envs") or []), health.get("tunnel")
            daemon.checked = time.monotonic()

    def status(self, refresh: bool = True) -> list[DaemonState]:
        if refresh:
            self.refresh(force=True)
        with self.lock:
            return [DaemonState(d.address, d.up, list(d.envs), d.tunnel, d.error, d.checked)
                    for d in self.daemons]

    # --- slots ----------------------------------------------------------------------------------------------
    def slots(self) -> list[Slot]:
        """Every env of every daemon that answered its last probe (leased or not)."""
        with self.lock:
            return [Slot(d.address, env["env_idx"]) for d in self.daemons if d.up for env in d.envs]

    def free_slots(self) -> list[Slot]:
        with self.lock:
            return self._free_locked()

    def _free_locked(self) -> list[Slot]:
        """Free slots, spread over daemons (the least-leased daemon's envs first), warm envs first within a
        daemon (reset-ahead has reverted their VM: a reset there does not wait for the revert)."""
        load = {d.address: sum(1 for s in self.leased if s.address == d.address) for d in self.daemons}
        warm = {Slot(d.address, env["env_idx"]) for d in self.daemons for env in d.envs if env.get("warm")}
        free = [Slot(d.address, i) for d in self.daemons for i in d.usable_envs()
                if Slot(d.address, i) not in self.leased]
        return sorted(free, key=lambda slot: (load[slot.address], slot not in warm, slot.env_idx))

    def lease(self, wait_seconds: float = 0.0, poll_seconds: float = 0.5) -> Slot | None:
        """A free slot, now or within wait_seconds (None then); the caller must release() it."""
        deadline = time.monotonic() + wait_seconds
        while True:
            self.refresh()
            with self.lock:
                free = self._free_locked()
                if free:
                    self.leased.add(free[0])
                    return free[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.0)))

    def release(self, slot: Slot, env_error: dict | None = None) -> None:
        """Give the slot back. After an env error the slot (and, when the daemon itself was lost, every slot
        of that daemon) is skipped until the next probe says it is healthy."""
        with self.lock:
            self.leased.discard(slot)
            if env_error is None:
                return
            daemon = next(d for d in self.daemons if d.address == slot.address)
            if env_error.get("code") in DAEMON_LOST_CODES:
                daemon.up, daemon.error, daemon.envs = False, env_error.get("message"), []
            else:
                daemon.envs = [env for env in daemon.envs if env.get("env_idx") != slot.env_idx]
            daemon.checked = time.monotonic()           # probe again after recheck_seconds, not at once

    def close(self) -> None:
        for probe in self.probes.values():
            probe.close()
