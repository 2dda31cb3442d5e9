"""VM driver: one VM through `vmrun`. Every call has a timeout; a call failed when its exit status is not 0 or
any line of its output starts with "Error:" (vmrun prints errors on stdout, sometimes with status 0).
"""
from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import threading

from ..budget import Budget, BudgetSpent


class VmrunError(Exception):
    """A vmrun call failed; the message quotes the command and vmrun's own words."""


class VmDriver:
    def __init__(self, vmrun: str, vmx: str, host_type: str, command_timeout: float, env: dict | None = None,
                 budget: Budget | None = None):
        self.vmrun, self.vmx, self.host_type = vmrun, vmx, host_type
        self.command_timeout = command_timeout
        self.env = env
        self.budget = budget or Budget()        # the operation's, shared with its guest calls
        self._running: subprocess.Popen | None = None
        self._lock = threading.Lock()          # calls to one VM are serialized (vmrun misbehaves otherwise)

    def call(self, *args: str, timeout: float | None = None) -> str:
        argv = [self.vmrun, "-T", self.host_type, *args]
        with self._lock:
            try:
                timeout = self.budget.clip(timeout or self.command_timeout)
            except BudgetSpent as exc:
                raise VmrunError(f"`vmrun {' '.join(args)}` not run: {exc}") from None
            try:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, text=True, env=self.env,
                                           start_new_session=True)
            except OSError as exc:
                raise VmrunError(f"cannot run {self.vmrun}: {exc.strerror}; "
                                 "set vmware.vmrun in the config") from exc
            self._running = process
            try:
                output, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                raise VmrunError(f"`vmrun {' '.join(args)}` did not finish within {timeout:.0f} s and was "
                                 "killed") from None
            finally:
                self._running = None
        errors = [line for line in output.splitlines() if line.startswith("Error:")]
        if process.returncode != 0 or errors:
            detail = "; ".join(errors) or output.strip() or f"exit status {process.returncode}"
            raise VmrunError(f"`vmrun {' '.join(args)}` failed: {detail}")
        return output

    def kill_running(self) -> None:
        """End the vmrun call in flight (shutdown, or the daemon went away)."""
        process = self._running
        if process is not None:
            _kill_group(process)

    # --- commands -------------------------------------------------------------------------------------------
    def revert(self, snapshot: str) -> None:
        self.call("revertToSnapshot", self.vmx, snapshot)

    def start(self) -> None:
        self.call("start", self.vmx, "nogui")

    def stop(self, hard: bool = False) -> None:
        self.call("stop", self.vmx, "hard" if hard else "soft")

    def pause(self) -> None:
        self.call("pause", self.vmx)

    def unpause(self) -> None:
        self.call("unpause", self.vmx)

    def running_vms(self) -> set[str]:
        """The running VMs `vmrun list` names, as canonical vmx paths."""
        return {canonical(line.strip()) for line in self.call("list").splitlines()[1:]}

    def is_running(self) -> bool:
        return canonical(self.vmx) in self.running_vms()

    def guest_ip(self, timeout: float) -> str:
        output = self.call("getGuestIPAddress", self.vmx, "-wait", timeout=timeout).strip()
        try:
            return str(ipaddress.ip_address(output.splitlines()[-1].strip()))
        except (ValueError, IndexError):
            raise VmrunError(f"getGuestIPAddress answered {output!r}, which is not an IP address") from None


def canonical(vmx: str) -> str:
    return os.path.realpath(vmx).lower()              # APFS: compare resolved, case-insensitively


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
