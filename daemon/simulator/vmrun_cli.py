"""vmrun-sim: a vmrun-compatible executable for simulated VMs (named so it can never shadow the real vmrun).

    vmrun-sim -T fusion|ws list | start <vmx> [nogui|gui] | stop <vmx> [hard|soft]
              | revertToSnapshot <vmx> <name> | snapshot <vmx> <name> | listSnapshots <vmx>
              | getGuestIPAddress <vmx> [-wait] | pause <vmx> | unpause <vmx> | checkToolsState <vmx>

Like vmrun, errors are printed on stdout as lines starting with "Error:", usually with exit status 255.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from . import scenario
from .machine import Machine

IP_HANG_SECONDS = 3600          # a hung getGuestIPAddress -wait; bounded so a forgotten one ends by itself


class VmrunError(Exception):
    def __init__(self, message: str, status: int = 255):
        super().__init__(message)
        self.status = status


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        output = run(args)
    except VmrunError as exc:
        print(f"Error: {exc}", flush=True)
        sys.exit(exc.status)
    if output:
        print(output, flush=True)


def run(args: list[str]) -> str:
    if len(args) >= 2 and args[0] == "-T":
        if args[1] not in ("fusion", "ws", "player", "server", "esx"):
            raise VmrunError(f"Unrecognized host type: {args[1]}")
        args = args[2:]
    if not args:
        raise VmrunError("No command given. Usage: vmrun-sim -T fusion <command> [<vmx> ...]")
    command, rest = args[0], args[1:]
    if command == "list":
        return list_running()
    if command not in COMMANDS:
        raise VmrunError(f"Unrecognized command: {command}")
    if not rest:
        raise VmrunError(f"{command} needs the path of a .vmx file")
    machine = Machine(Path(rest[0]))
    if not machine.exists():
        raise VmrunError(f"Cannot open VM: {rest[0]}, The virtual machine cannot be found")
    if command == "getGuestIPAddress":
        # the one call that may wait long: it must not hold the VM's lock
        return guest_ip(machine, "-wait" in rest[1:])
    with machine.locked():
        return COMMANDS[command](machine, rest[1:])


def _sleep(machine: Machine, what: str) -> None:
    time.sleep(scenario.latency(machine.home, machine.index, what))


def list_running() -> str:
    home = scenario.home_from_env()
    vmxs = sorted(home.glob("*/*.vmx")) if home and home.is_dir() else []
    if vmxs:
        _sleep(Machine(vmxs[0]), "list")
    running = [str(vmx.resolve()) for vmx in vmxs if Machine(vmx).state().get("power") in ("on", "paused")]
    return "\n".join([f"Total running VMs: {len(running)}", *running])


def start(machine: Machine, rest: list[str]) -> str:
    _sleep(machine, "start")
    if machine.take_fault("start_canceled"):
        raise VmrunError("The operation was canceled")
    state = machine.state()
    if state.get("power") == "paused":
        raise VmrunError("The virtual machine is paused. Unpause it first")
    if state.get("power") == "on" and (machine.guest_alive() or state.get("zombie")):
        return ""                              # already running: vmrun start is a no-op
    machine.start_guest()
    return ""


def stop(machine: Machine, rest: list[str]) -> str:
    state = machine.state()
    if state.get("power") not in ("on", "paused"):
        raise VmrunError(f"The virtual machine is not powered on: {machine.vmx}")
    if state.get("zombie") and (rest[:1] or ["soft"])[0] != "hard":
        raise VmrunError("The operation was canceled")      # a dead guest cannot shut down softly
    _sleep(machine, "stop")
    machine.power_off()
    return ""


def revert(machine: Machine, rest: list[str]) -> str:
    name = rest[0] if rest else ""
    matches = machine.snapshots().count(name)
    if matches == 0:
        raise VmrunError("A snapshot with the given name does not exist")
    if matches > 1:
        raise VmrunError("The name does not uniquely identify one snapshot")
    _sleep(machine, "revert")
    machine.power_off()                       # after a revert the VM is powered off and must be started again
    machine.restore_snapshot(name)
    if machine.take_fault("error_exit_zero"):
        raise VmrunError("Insufficient permissions in host operating system", status=0)
    return ""


def snapshot(machine: Machine, rest: list[str]) -> str:
    if not rest:
        raise VmrunError("snapshot needs a snapshot name")
    _sleep(machine, "snapshot")
    machine.take_snapshot(rest[0])
    return ""


def list_snapshots(machine: Machine, rest: list[str]) -> str:
    names = machine.snapshots()
    return "\n".join([f"Total snapshots: {len(names)}", *names])


def guest_ip(machine: Machine, wait: bool) -> str:
    state = machine.state()
    if state.get("power") not in ("on", "paused"):
        raise VmrunError(f"The virtual machine is not powered on: {machine.vmx}")
    if not wait and not machine.guest_alive():
        raise VmrunError(f"The VMware Tools are not running in the virtual machine: {machine.vmx}")
    if wait and scenario.fault(machine.home, machine.index, "ip_hang"):
        time.sleep(IP_HANG_SECONDS)
    _sleep(machine, "ip")
    if state.get("zombie") or not machine.guest_alive():
        raise VmrunError("Unable to get the IP address")
    return machine.ip


def pause(machine: Machine, rest: list[str]) -> str:
    return _set_paused(machine, True)


def unpause(machine: Machine, rest: list[str]) -> str:
    return _set_paused(machine, False)


def _set_paused(machine: Machine, paused: bool) -> str:
    state = machine.state()
    if state.get("power") not in ("on", "paused"):
        raise VmrunError(f"The virtual machine is not powered on: {machine.vmx}")
    _sleep(machine, "pause")
    if state.get("pid") and machine.guest_alive():
        os.kill(state["pid"], signal.SIGSTOP if paused else signal.SIGCONT)   # a paused VM answers nothing
    state["power"] = "paused" if paused else "on"
    machine.save_state(state)
    return ""


def tools_state(machine: Machine, rest: list[str]) -> str:
    return "running" if machine.guest_alive() else "installed"


COMMANDS = {
    "start": start, "stop": stop, "revertToSnapshot": revert, "snapshot": snapshot,
    "listSnapshots": list_snapshots, "getGuestIPAddress": None, "pause": pause, "unpause": unpause,
    "checkToolsState": tools_state,
}

if __name__ == "__main__":
    main()
