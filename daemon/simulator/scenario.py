"""Latencies and faults of the simulated VMware:
presets, home/scenario.yaml, VMRUN_SIM_* environment variables.

Read on every vmrun-sim call and on every guest request, so a test can switch a fault on and off at run time.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import yaml

from ..atomic import write_atomic

# Seconds. The realistic screenshot and accessibility latencies are the real server's medians
# (osworld-protocol.md §6). Besides latencies: how long an opened file's window takes to appear (window), and
# the real server's time limits: /execute's subprocess timeout (execute_limit, 120 s) and how long
# /setup/open_file waits for the window (open_file_limit, 1800 s). The fast preset shortens the limits so that
# tests reach them.
PRESETS: dict[str, dict[str, float]] = {
    "fast": {"revert": 0.01, "start": 0.02, "ip": 0.01, "stop": 0.01, "list": 0.0, "snapshot": 0.01,
             "pause": 0.0, "screenshot": 0.0, "execute": 0.0, "setup": 0.0, "window": 0.0,
             "execute_limit": 3.0, "open_file_limit": 3.0},
    "realistic": {"revert": 7.0, "start": 16.0, "ip": 3.0, "stop": 2.0, "list": 0.1, "snapshot": 2.0,
                  "pause": 0.3, "screenshot": 0.04, "accessibility": 0.3, "execute": 0.2, "setup": 0.2,
                  "window": 2.0,
                  "execute_limit": 120.0, "open_file_limit": 1800.0},
}

# Fault switches. Counted faults take an integer (how many times, from when they were set) or true (always).
FAULTS = {
    "start_canceled": "start answers 'Error: The operation was canceled' with exit status 255",
    "ip_hang": "getGuestIPAddress -wait never answers",
    "error_exit_zero": "revertToSnapshot prints an Error: line but exits 0",
    "guest_refuse_seconds": "the guest refuses connections for N seconds after start",
    "execute_500": "/execute answers 500",
    "black_frames": "/screenshot returns a black frame",
    "locked_screen": "/screenshot returns a lock screen",
}
COUNTED = {"start_canceled", "error_exit_zero", "execute_500"}


def home_from_env() -> Path | None:
    value = os.environ.get("VMRUN_SIM_HOME")
    return Path(value) if value else None


def read(home: Path) -> dict:
    try:
        data = yaml.safe_load((home / "scenario.yaml").read_text()) or {}
    except FileNotFoundError:
        data = {}
    data.setdefault("preset", "fast")
    data.setdefault("faults", {})
    data.setdefault("latency", {})
    data.setdefault("vms", {})
    return data


def write(home: Path, scenario: dict) -> None:
    write_atomic(home / "scenario.yaml", yaml.safe_dump(scenario).encode())


def latency(home: Path, vm_index: int, what: str) -> float:
    scenario = read(home)
    env = os.environ.get(f"VMRUN_SIM_LATENCY_{what.upper()}")
    if env is not None:
        return float(env)
    per_vm = scenario["vms"].get(vm_index, scenario["vms"].get(str(vm_index), {})) or {}
    for source in (per_vm.get("latency", {}), scenario["latency"]):
        if what in source:
            return float(source[what])
    return PRESETS.get(scenario["preset"], PRESETS["fast"]).get(what, 0.0)


def fault(home: Path, vm_index: int, name: str):
    """The fault's setting for this VM (per-VM entry first, then global, then VMRUN_SIM_FAULT_<NAME>)."""
    scenario = read(home)
    per_vm = scenario["vms"].get(vm_index, scenario["vms"].get(str(vm_index), {})) or {}
    for source in (per_vm.get("faults", {}), scenario["faults"]):
        if name in source:
            return source[name]
    env = os.environ.get(f"VMRUN_SIM_FAULT_{name.upper()}")
    return json.loads(env) if env else None


def arm(scenario: dict, vm_index: int | None, names) -> None:
    """Stamp counted faults as set now: their count starts again from zero (others keep theirs)."""
    for name in names:
        scenario.setdefault("armed", {})[f"{'*' if vm_index is None else vm_index}:{name}"] = time.time_ns()


def armed_at(home: Path, vm_index: int, name: str) -> int:
    armed = read(home).get("armed", {})
    return int(armed.get(f"{vm_index}:{name}", armed.get(f"*:{name}", 0)))
