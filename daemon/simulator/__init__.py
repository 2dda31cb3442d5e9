"""The simulated VMware: `vmrun-sim`, simulated guests on loopback addresses, scenarios and faults.

The daemon talks to it through its production path (vmrun subprocesses, guest HTTP); only the executable and
the guest differ. See README.md in this folder.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
from pathlib import Path

from ..atomic import write_atomic
from ..config import DEFAULTS, SIMULATOR_DEFAULTS
from . import scenario
from .machine import Machine

SNAPSHOT = DEFAULTS["vmware"]["snapshot"]     # what the daemon reverts to, unless configured otherwise


def provision(home: Path, count: int, preset: str = SIMULATOR_DEFAULTS["preset"],
              ip_base: str = SIMULATOR_DEFAULTS["ip_base"], guest_port: int = DEFAULTS["vmware"]["guest_port"]
              ) -> list[Path]:
    """Create (idempotently) `count` simulated VMs with an init_state snapshot;
    set the preset. Returns vmx paths."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    current = scenario.read(home)
    current["preset"] = preset
    scenario.write(home, current)
    first = ipaddress.ip_address(ip_base)
    vmxs = []
    for index in range(count):
        machine = Machine(home / f"vm{index}" / f"vm{index}.vmx")
        machine.dir.mkdir(parents=True, exist_ok=True)
        with machine.locked():
            vmx_text = (f'.encoding = "UTF-8"\ndisplayName = "Simulated OSWorld VM {index}"\n'
                        f'guestOS = "ubuntu-64"\n'
                        f'sim.index = "{index}"\nguest.ip = "{first + index}"\nguest.port = "{guest_port}"\n')
            if not machine.exists() or machine.vmx.read_text() != vmx_text:
                write_atomic(machine.vmx, vmx_text.encode())
            if SNAPSHOT not in machine.snapshots():
                machine.take_snapshot(SNAPSHOT)
        vmxs.append(machine.vmx)
    return vmxs


def machines(home: Path) -> list[Machine]:
    return [Machine(vmx) for vmx in sorted(Path(home).glob("vm*/vm*.vmx"))]


def stop_all(home: Path) -> None:
    """Power off every simulated VM of this home (their guest processes end)."""
    for machine in machines(home):
        with machine.locked():
            machine.power_off()


def set_faults(home: Path, vm: int | None = None, **faults) -> None:
    """Switch faults on (see scenario.FAULTS), for one VM or all; counted faults restart from zero."""
    unknown = set(faults) - set(scenario.FAULTS)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(scenario.FAULTS)}")
    current = scenario.read(Path(home))
    target = current["faults"] if vm is None else current["vms"].setdefault(vm, {}).setdefault("faults", {})
    target.update(faults)
    scenario.arm(current, vm, [name for name in faults if name in scenario.COUNTED])
    scenario.write(Path(home), current)


def set_latency(home: Path, vm: int | None = None, **latencies: float) -> None:
    current = scenario.read(Path(home))
    target = current["latency"] if vm is None else current["vms"].setdefault(vm, {}).setdefault("latency", {})
    target.update(latencies)
    scenario.write(Path(home), current)


def clear_faults(home: Path) -> None:
    current = scenario.read(Path(home))
    current["faults"], current["vms"], current["latency"], current["armed"] = {}, {}, {}, {}
    scenario.write(Path(home), current)


def crash_vm(home: Path, vm: int) -> None:
    """The VM dies mid-episode; VMware still lists it as running (zombie) until a hard stop."""
    machine = machines(home)[vm]
    with machine.locked():
        machine.crash()


def freeze_vm(home: Path, vm: int) -> None:
    """The VM freezes: its guest process is stopped (SIGSTOP). Connections are accepted, nothing answers."""
    pid = machines(home)[vm].state().get("pid")
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
