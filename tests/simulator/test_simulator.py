"""vmrun-sim and the simulated guest, driven as separate processes, the way the daemon drives them."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from daemon.actions import GUEST_CODE_PREFIX, compile_prediction
from daemon.guest.client import GuestClient, GuestError
from daemon.simulator import crash_vm, provision, set_faults, stop_all
from tests.support import fresh_ip_base, pid_alive, wait_for_guest

VMRUN = [sys.executable, "-m", "daemon.simulator.vmrun_cli", "-T", "fusion"]


@pytest.fixture
def sim(tmp_path):
    home = tmp_path / "sim"
    ip_base = fresh_ip_base()
    vmxs = provision(home, 4, "fast", ip_base)
    yield home, [str(v) for v in vmxs], ip_base
    stop_all(home)


def vmrun(home: Path, *args: str, timeout: float = 30) -> tuple[int, str]:
    result = subprocess.run([*VMRUN, *args], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "VMRUN_SIM_HOME": str(home)})
    assert result.stderr == ""
    return result.returncode, result.stdout


def ip_of(ip_base: str, index: int) -> str:
    head, last = ip_base.rsplit(".", 1)
    return f"{head}.{int(last) + index}"


def running_guest(home, vmx, ip, port=5000) -> GuestClient:
    assert vmrun(home, "start", vmx, "nogui") == (0, "")
    return wait_for_guest(ip, port)


def test_every_command_with_vmruns_output_formats(sim):
    home, (vmx, other, *_), ip_base = sim
    assert vmrun(home, "list") == (0, "Total running VMs: 0\n")
    assert vmrun(home, "listSnapshots", vmx) == (0, "Total snapshots: 1\ninit_state\n")
    assert vmrun(home, "getGuestIPAddress", vmx, "-wait") == \
        (255, f"Error: The virtual machine is not powered on: {vmx}\n")
    assert vmrun(home, "stop", vmx) == (255, f"Error: The virtual machine is not powered on: {vmx}\n")
    assert vmrun(home, "checkToolsState", vmx) == (0, "installed\n")
    running_guest(home, vmx, ip_of(ip_base, 0))
    assert vmrun(home, "start", vmx, "nogui") == (0, "")                       # already running: no-op
    assert vmrun(home, "list") == (0, f"Total running VMs: 1\n{vmx}\n")
    assert vmrun(home, "getGuestIPAddress", vmx, "-wait") == (0, ip_of(ip_base, 0) + "\n")
    assert vmrun(home, "getGuestIPAddress", vmx) == (0, ip_of(ip_base, 0) + "\n")
    assert vmrun(home, "checkToolsState", vmx) == (0, "running\n")
    assert vmrun(home, "pause", vmx) == (0, "")
    with pytest.raises(GuestError):
        # a paused VM is silent
        GuestClient(ip_of(ip_base, 0), request_timeout=1, retries=1).platform(timeout=1)
    assert vmrun(home, "unpause", vmx) == (0, "")
    assert GuestClient(ip_of(ip_base, 0)).platform(timeout=5) == "Linux"
    assert vmrun(home, "snapshot", vmx, "second") == (0, "")
    assert vmrun(home, "listSnapshots", vmx) == (0, "Total snapshots: 2\ninit_state\nsecond\n")
    assert vmrun(home, "revertToSnapshot", vmx, "init_state") == (0, "")
    assert vmrun(home, "list") == (0, "Total running VMs: 0\n")               # a revert powers the VM off
    assert vmrun(home, "snapshot", other, "init_state") == (0, "")
    assert vmrun(home, "revertToSnapshot", other, "init_state") == \
        (255, "Error: The name does not uniquely identify one snapshot\n")
    assert vmrun(home, "revertToSnapshot", vmx, "nope") == \
        (255, "Error: A snapshot with the given name does not exist\n")
    assert vmrun(home, "start", str(home / "missing.vmx"))[1].startswith("Error: Cannot open VM: ")
    assert vmrun(home, "frobnicate", vmx) == (255, "Error: Unrecognized command: frobnicate\n")


def test_stop_ends_the_guest_process_and_start_gives_a_fresh_one(sim):
    home, (vmx, *_), ip_base = sim
    running_guest(home, vmx, ip_of(ip_base, 0))
    pid = json.loads((Path(vmx).parent / "state.json").read_text())["pid"]
    assert vmrun(home, "stop", vmx, "soft") == (0, "")
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)
    running_guest(home, vmx, ip_of(ip_base, 0))
    assert json.loads((Path(vmx).parent / "state.json").read_text())["pid"] != pid


def test_faults(sim):
    home, (vmx, vmx1, vmx2, _), ip_base = sim
    set_faults(home, vm=0, start_canceled=1)
    assert vmrun(home, "start", vmx, "nogui") == (255, "Error: The operation was canceled\n")
    assert vmrun(home, "start", vmx, "nogui") == (0, "")                      # counted: only once
    set_faults(home, vm=1, error_exit_zero=True)
    assert vmrun(home, "revertToSnapshot", vmx1, "init_state") == \
        (0, "Error: Insufficient permissions in host operating system\n")
    set_faults(home, vm=2, ip_hang=True)
    vmrun(home, "start", vmx2, "nogui")
    with pytest.raises(subprocess.TimeoutExpired):
        vmrun(home, "getGuestIPAddress", vmx2, "-wait", timeout=2)
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    set_faults(home, vm=0, execute_500=True, black_frames=True)
    with pytest.raises(GuestError, match="HTTP 500"):
        guest.execute(["true"])
    assert Image.open(io.BytesIO(guest.screenshot())).getextrema() == ((0, 0), (0, 0), (0, 0))
    set_faults(home, vm=0, execute_500=False, black_frames=False, locked_screen=True)
    assert guest.execute(["true"])["returncode"] == 0
    assert Image.open(io.BytesIO(guest.screenshot())).getextrema() != ((0, 0), (0, 0), (0, 0))


def test_guest_refuses_connections_for_a_while_after_start(sim):
    home, (vmx, *_), ip_base = sim
    set_faults(home, vm=0, guest_refuse_seconds=1.5)
    assert vmrun(home, "start", vmx, "nogui") == (0, "")
    with pytest.raises(GuestError, match="refused or dropped the connection"):
        GuestClient(ip_of(ip_base, 0), retries=1).platform(timeout=1)
    wait_for_guest(ip_of(ip_base, 0))


def test_zombie_vm(sim):
    home, (vmx, *_), ip_base = sim
    running_guest(home, vmx, ip_of(ip_base, 0))
    crash_vm(home, 0)
    assert vmrun(home, "list") == (0, f"Total running VMs: 1\n{vmx}\n")          # VMware still lists it
    assert vmrun(home, "getGuestIPAddress", vmx, "-wait") == (255, "Error: Unable to get the IP address\n")
    assert vmrun(home, "stop", vmx, "soft") == (255, "Error: The operation was canceled\n")
    assert vmrun(home, "stop", vmx, "hard") == (0, "")
    running_guest(home, vmx, ip_of(ip_base, 0))


def test_four_vms_at_once_each_on_its_own_address_and_isolated(sim):
    home, vmxs, ip_base = sim
    guests = [running_guest(home, vmx, ip_of(ip_base, i)) for i, vmx in enumerate(vmxs)]
    for i, guest in enumerate(guests):
        guest.execute(f"echo vm{i} > ~/who.txt", shell=True)
    assert [guest.get_file("/home/user/who.txt") for guest in guests] == \
        [f"vm{i}\n".encode() for i in range(4)]
    assert vmrun(home, "list")[1].startswith("Total running VMs: 4\n")


def test_revert_restores_the_snapshot_files(sim):
    home, (vmx, *_), ip_base = sim
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    guest.upload("/home/user/Desktop/new.txt", b"made after the snapshot")
    assert guest.get_file("/home/user/Desktop/new.txt") == b"made after the snapshot"
    vmrun(home, "revertToSnapshot", vmx, "init_state")
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    assert guest.get_file("/home/user/Desktop/new.txt") is None


def test_actions_change_the_screen_and_typed_text_can_be_saved(sim):
    home, (vmx, *_), ip_base = sim
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    guest.upload("/home/user/notes.txt", b"")
    guest.open_file("/home/user/notes.txt", timeout=10)
    before = guest.screenshot()
    for code in ["pyautogui.click(500, 400, clicks=1, button='left')", "pyautogui.write('a', interval=0.0)",
                 "pyautogui.hotkey('shift', ','); pyautogui.write('b', interval=0.0)",
                 *compile_prediction("Action: type(content='é')").code, "pyautogui.hotkey('ctrl', 's')"]:
        assert guest.execute(["python", "-c", GUEST_CODE_PREFIX + code])["returncode"] == 0
    after = guest.screenshot()
    assert before != after and Image.open(io.BytesIO(after)).size == (1920, 1080)
    assert guest.get_file("/home/user/notes.txt") == "a<bé".encode()
    assert guest.cursor_position() == (500, 400)


@pytest.mark.parametrize("program", [
    "import os; os.system('touch {marker}')",
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w').write('x')",
    "eval(\"__import__('os').system('touch {marker}')\")",
    "import pyautogui; pyautogui.click(__import__('os').system('touch {marker}'), 1)",
    "import subprocess; subprocess.run(['touch', '{marker}'])",
])
def test_hostile_execute_bodies_do_nothing_on_the_host(sim, tmp_path, program):
    home, (vmx, *_), ip_base = sim
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    marker = tmp_path / "pwned"
    answer = guest.execute(["python", "-c", program.format(marker=marker)])
    assert answer["returncode"] != 0 and "refused" in answer["error"]
    for command, shell in ([f"touch {marker}", True], [["rm", "-rf", str(tmp_path)], False],
                           [f"echo x > {marker}", True]):
        guest.execute(command, shell=shell)
    assert not marker.exists() and tmp_path.exists()


def test_sim_stats_count_guest_time(sim):
    home, (vmx, *_), ip_base = sim
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    guest.screenshot()
    with urllib.request.urlopen(f"http://{ip_of(ip_base, 0)}:5000/sim/stats", timeout=5) as answer:
        stats = json.loads(answer.read())
    assert stats["requests"] >= 2 and stats["busy_seconds"] > 0


def test_wallpaper_is_a_default_image_until_a_task_sets_one(sim):
    home, (vmx, *_), ip_base = sim
    guest = running_guest(home, vmx, ip_of(ip_base, 0))
    assert Image.open(io.BytesIO(guest.wallpaper())).size == (1920, 1080)
    guest.upload("/home/user/Pictures/sky.png", b"\x89PNG sky")
    guest.change_wallpaper("/home/user/Pictures/sky.png")
    assert guest.wallpaper() == b"\x89PNG sky"
