"""Which VMs this daemon has started, and whether each is clean: one small file per VM in the run dir.

A worker marks its VM clean once it has been brought up from the snapshot (reset-ahead, recovery) and used
once a reset hands it to a task. After a restart (supervisord, a crash), the new daemon adopts a running VM
that is marked clean as warm, reverts any other running VM it is configured for, and stops a running VM it
started but is no longer configured for (these records are how it knows that VM is its own and not someone
else's).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from ..atomic import write_atomic
from .vmrun import VmDriver, VmrunError, canonical


class VmRecords:
    def __init__(self, run_dir: str | os.PathLike):
        self.folder = Path(run_dir) / "vms"

    def _file(self, vmx: str) -> Path:
        return self.folder / (hashlib.sha256(canonical(vmx).encode()).hexdigest()[:16] + ".json")

    def mark(self, vmx: str, clean: bool) -> None:
        record = {"vmx": vmx, "clean": clean, "updated": time.time()}
        write_atomic(self._file(vmx), json.dumps(record).encode())

    def is_clean(self, vmx: str) -> bool:
        record = _read(self._file(vmx))
        return bool(record and record.get("clean"))

    def all(self) -> list[dict]:
        return [record for path in sorted(self.folder.glob("*.json")) if (record := _read(path))]

    def forget(self, vmx: str) -> None:
        self._file(vmx).unlink(missing_ok=True)


def stop_unconfigured(records: VmRecords, configured: list[str], vmrun: str, host_type: str, timeout: float,
                      log: logging.Logger) -> list[str]:
    """Hard-stop every running VM this daemon started that is no longer in its config; returns their vmx
    paths. Blocking (vmrun calls): run it off the event loop."""
    wanted = {canonical(vmx) for vmx in configured}
    stale = [record["vmx"] for record in records.all() if canonical(record["vmx"]) not in wanted]
    if not stale:
        return []
    stopped = []
    try:
        running = VmDriver(vmrun, stale[0], host_type, timeout).running_vms()
    except VmrunError as exc:
        log.warning("could not list running VMs to stop unconfigured ones: %s", exc)
        return []
    for vmx in stale:
        if canonical(vmx) in running:
            try:
                VmDriver(vmrun, vmx, host_type, timeout).stop(hard=True)
            except VmrunError as exc:
                log.warning("VM %s is no longer configured but could not be stopped: %s", vmx, exc)
                continue
            log.warning("stopped VM %s: this daemon started it but it is no longer configured", vmx)
            stopped.append(vmx)
        records.forget(vmx)
    return stopped


def _read(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("vmx"), str) else None
