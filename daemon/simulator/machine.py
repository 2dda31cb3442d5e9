"""A simulated VM on disk: its .vmx, power state, guest process, snapshots and disk image; a lock per VM.

Layout: <home>/vm<i>/vm<i>.vmx, state.json, disk.json (the guest's files and desktop),
snapshots/<n>-<name>.json.
Each vmrun-sim call is a separate process, as with the real vmrun, so all state lives in these files.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..atomic import write_atomic
from . import scenario

GUEST_MODULE = "daemon.simulator.guest"


class Machine:
    def __init__(self, vmx: Path):
        self.vmx = Path(vmx)
        self.dir = self.vmx.parent
        self.home = self.dir.parent

    # --- identity -------------------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.vmx.is_file()

    @property
    def index(self) -> int:
        return int(self.settings.get("sim.index", 0))

    @functools.cached_property
    def settings(self) -> dict:
        """The .vmx keys, read once per Machine (a guest asks for its index on every request)."""
        values = {}
        for line in self.vmx.read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip().strip('"')
        return values

    @property
    def ip(self) -> str:
        return self.settings["guest.ip"]

    @property
    def port(self) -> int:
        return int(self.settings.get("guest.port", 5000))

    # --- state ----------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        """Serialize vmrun calls on this VM (different VMs never wait for each other)."""
        with open(self.dir / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def state(self) -> dict:
        try:
            return json.loads((self.dir / "state.json").read_text())
        except FileNotFoundError:
            return {"power": "off", "pid": None}

    def save_state(self, state: dict) -> None:
        write_atomic(self.dir / "state.json", json.dumps(state).encode())

    def guest_alive(self) -> bool:
        pid = self.state().get("pid")
        return bool(pid) and process_alive(pid)

    def take_fault(self, name: str) -> bool:
        """Whether a (possibly counted) fault fires now; counted faults use one occurrence each time."""
        setting = scenario.fault(self.home, self.index, name)
        if not setting:
            return False
        if setting is True or name not in scenario.COUNTED:
            return True
        stamp = scenario.armed_at(self.home, self.index, name)
        path = self.dir / "fault-counters.json"      # not state.json: the guest process writes this one too
        counters = json.loads(path.read_text()) if path.exists() else {}
        counter = counters.get(name, {})
        used = counter.get("used", 0) if counter.get("stamp") == stamp else 0
        if used >= int(setting):
            return False
        counters[name] = {"stamp": stamp, "used": used + 1}
        write_atomic(path, json.dumps(counters).encode())
        return True

    # --- power ----------------------------------------------------------------------------------------------
    def start_guest(self) -> None:
        log = open(self.dir / "guest.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", GUEST_MODULE, str(self.vmx)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                   close_fds=True)
        log.close()
        state = self.state()
        state.update(power="on", pid=process.pid, zombie=False, started=time.time())
        self.save_state(state)

    def kill_guest(self) -> None:
        pid = self.state().get("pid")
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)          # a paused guest must be able to die
                os.kill(pid, signal.SIGKILL)
            _reap(pid)

    def power_off(self) -> None:
        self.kill_guest()
        state = self.state()
        state.update(power="off", pid=None, zombie=False)
        self.save_state(state)

    def crash(self) -> None:
        """The VM dies but VMware still lists it as running: the zombie case."""
        self.kill_guest()
        state = self.state()
        state.update(zombie=True)
        self.save_state(state)

    # --- snapshots ------------------------------------------------------------------------------------------
    def snapshots(self) -> list[str]:
        folder = self.dir / "snapshots"
        files = sorted(folder.glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0])) \
            if folder.is_dir() else []
        return [p.name.split("-", 1)[1][:-5] for p in files]

    def take_snapshot(self, name: str) -> None:
        folder = self.dir / "snapshots"
        folder.mkdir(exist_ok=True)
        disk = self.dir / "disk.json"
        data = disk.read_bytes() if disk.exists() else b"{}"
        write_atomic(folder / f"{len(self.snapshots())}-{name}.json", data)

    def restore_snapshot(self, name: str) -> None:
        (match,) = [p for p in (self.dir / "snapshots").glob(f"*-{name}.json")]
        write_atomic(self.dir / "disk.json", match.read_bytes())


def process_alive(pid: int) -> bool:
    """Running and not a zombie (a killed child not yet reaped still answers kill(pid, 0); /proc tells on
    Linux)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _reap(pid: int) -> None:
    """Wait (bounded) until a killed guest is gone, reaping it if it is our child."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not process_alive(pid):
            return
        time.sleep(0.01)
