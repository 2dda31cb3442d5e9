"""VmLifecycle: one VM's life between episodes, driven by vmrun and checked through its guest.

bring-up: (hard stop) → revert to the snapshot → start → guest IP → guest answers → screen lock off,
clipboard tool found; up to vmware.reset_attempts times. Adoption (once, when the daemon starts): a VM already
running is used warm when its record says clean and its guest answers, else reverted. Pause/unpause between
steps (opt-in), and reset-ahead: after an evaluate, the VM is reverted and started in the background so the
next reset finds it warm. Every vmrun and guest call shares the operation's budget.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from ..budget import Budget
from ..config import Settings, find_vmrun
from ..guest.client import GuestClient, GuestError
from ..logs import env_logger
from ..vm.records import VmRecords
from ..vm.vmrun import VmDriver, VmrunError

LOCK_DISABLE = ("gsettings set org.gnome.desktop.screensaver lock-enabled false; "
                "gsettings set org.gnome.desktop.session idle-delay 0")
READY_POLL = 0.5
BUDGET_SHARE = 0.95             # of the pool's deadline: the rest is time to answer before it kills us


class VmLifecycle:
    def __init__(self, env_idx: int, settings: Settings, budget: Budget,
                 reset_ahead_done: Callable[[], None]):
        self.env_idx = env_idx
        self.settings = settings
        self.budget = budget
        self.reset_ahead_done = reset_ahead_done
        self.vmx = settings.envs[env_idx]["vmx"]
        # The daemon does not start without a vmrun; one removed since makes each call a VmrunError.
        vmrun = find_vmrun(settings.vmware["vmrun"]) or "vmrun"
        vmware = settings.vmware
        self.vm = VmDriver(vmrun, self.vmx, vmware["host_type"], vmware["command_timeout"],
                           env=dict(os.environ), budget=budget)
        self.records = VmRecords(settings.raw["run_dir"])
        self.guest: GuestClient | None = None
        self.warm = False
        self.paused = False
        self.clipboard_tool: str | None = "xclip"
        self._ahead: threading.Thread | None = None
        self.closing = threading.Event()
        self.log = env_logger("daemon.worker", env_idx)     # the environment sets it per episode

    # --- adoption ------------------------------------------------------------------------------------------
    def running(self) -> bool:
        """Whether the VM runs (one vmrun cannot tell about is taken as off: the first reset brings it up)."""
        try:
            return self.vm.is_running()
        except VmrunError as exc:
            self.log.warning("could not tell whether VM %s runs (%s); the first reset brings it up",
                             self.vmx, exc)
            return False

    def take_over(self) -> None:
        """A running VM is used warm when clean and its guest answers, else reverted (VmrunError: failed)."""
        clean = self.records.is_clean(self.vmx)
        if clean and self._guest_of_running_vm_answers():
            self.warm = True
            self.log.info("adopted running VM %s: clean and its guest answers, used warm", self.vmx)
            return
        self.log.warning("adopted running VM %s: %s, reverting it", self.vmx,
                         "its guest does not answer" if clean else "it may hold a previous episode")
        self.bring_up(hard_stop_first=True)
        self.warm = True

    def _guest_of_running_vm_answers(self) -> bool:
        try:
            self._connect_guest(self.vm.guest_ip(timeout=self.settings.vmware["ip_timeout"]))
        except VmrunError as exc:
            self.log.warning("running VM %s has no guest IP: %s", self.vmx, exc)
            return False
        return self.guest_answers()

    # --- liveness ------------------------------------------------------------------------------------------
    def guest_answers(self) -> bool:
        return self.guest is not None and self.guest.answers(self.settings.pool["warm_probe_timeout"])

    def warm_guest_answers(self) -> bool:
        """A warm VM is probed before a reset hands it out: its guest may have died since reset-ahead."""
        if self.guest_answers():
            return True
        self.log.warning("the warm VM's guest did not answer /platform within %.0f s: bringing the VM up "
                         "again", self.settings.pool["warm_probe_timeout"])
        self.warm = False
        return False

    def hand_out(self) -> None:
        """The VM goes to an episode: no longer warm; its record says it may hold one (adoption reverts)."""
        self.warm = False
        self.records.mark(self.vmx, clean=False)

    # --- bring-up ------------------------------------------------------------------------------------------
    def bring_up(self, hard_stop_first: bool = False) -> None:
        """VmrunError when every attempt failed: its message names the VM, the attempts and the last error."""
        vmware = self.settings.vmware
        last: Exception | None = None
        for attempt in range(vmware["reset_attempts"]):
            if self.closing.is_set():
                break
            try:
                if attempt > 0 or hard_stop_first:
                    self._hard_stop()
                self.vm.revert(vmware["snapshot"])
                self.vm.start()
                self.paused = False
                self._connect_guest(self.vm.guest_ip(timeout=vmware["ip_timeout"]))
                self._wait_guest_ready()
                self._prepare_guest()
                self.records.mark(self.vmx, clean=True)
                return
            except (VmrunError, GuestError) as exc:
                last = exc
                self.log.warning("bring-up attempt %d/%d failed: %s", attempt + 1, vmware["reset_attempts"],
                                 exc)
        hint = " (on macOS, vmrun start must run inside the user's GUI login session)" if \
            "canceled" in str(last) else ""
        raise VmrunError(f"VM {self.vmx} could not be brought up after {vmware['reset_attempts']} attempts: "
                            f"{last}{hint}")

    def _connect_guest(self, ip: str) -> None:
        vmware = self.settings.vmware
        self.guest = GuestClient(ip, vmware["guest_port"], vmware["guest_request_timeout"],
                                 vmware["guest_retries"], vmware["devtools_port"], vmware["vlc_port"],
                                 screenshot_timeout=vmware["screenshot_timeout"],
                                 liveness_timeout=vmware["liveness_timeout"], budget=self.budget)

    def _hard_stop(self) -> None:
        try:
            if self.vm.is_running():
                self.vm.stop(hard=True)
        except VmrunError as exc:
            self.log.warning("hard stop failed (continuing with revert): %s", exc)

    def _wait_guest_ready(self) -> None:
        deadline = time.monotonic() + self.settings.vmware["guest_ready_timeout"]
        while True:
            try:
                self.guest.platform(timeout=5)
                return
            except GuestError as exc:
                if time.monotonic() > deadline or self.closing.is_set() or self.budget.spent():
                    raise GuestError(f"guest did not answer within "
                                     f"{self.settings.vmware['guest_ready_timeout']:.0f} s: {exc}") from exc
                time.sleep(READY_POLL)

    def _prepare_guest(self) -> None:
        timeout = self.settings.vmware["prepare_timeout"]
        if self.settings.episode["disable_screen_lock"]:
            self.guest.execute(LOCK_DISABLE, shell=True, timeout=timeout)
        found = self.guest.execute("which xclip xsel", shell=True, timeout=timeout).get("output") or ""
        self.clipboard_tool = "xclip" if "xclip" in found else "xsel" if "xsel" in found else None

    # --- pause between steps -------------------------------------------------------------------------------
    def pause(self) -> None:
        if self.settings.vmware["pause_between_steps"] and not self.paused:
            try:
                self.vm.pause()
                self.paused = True
            except VmrunError as exc:
                self.log.warning("pause failed: %s", exc)

    def resume(self) -> None:
        if self.paused:
            try:
                self.vm.unpause()
            except VmrunError as exc:
                self.log.warning("unpause failed: %s", exc)
            self.paused = False

    # --- reset-ahead ---------------------------------------------------------------------------------------
    def start_reset_ahead(self) -> None:
        if not self.settings.episode["reset_ahead"]:
            return
        self._ahead = threading.Thread(target=self._reset_ahead, name=f"reset-ahead-{self.env_idx}",
                                       daemon=True)
        self._ahead.start()

    def _reset_ahead(self) -> None:
        self.budget.start(BUDGET_SHARE * self.settings.deadlines["recover"])
        try:
            self.bring_up()
            self.warm = True
            self.log.info("reset-ahead done: VM warm")
        except VmrunError as exc:
            self.log.warning("reset-ahead failed, the next reset starts cold: %s", exc)
        self.reset_ahead_done()

    def wait_for_reset_ahead(self) -> None:
        """A reset never hands out a VM mid-revert: it waits for reset-ahead to finish."""
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None

    def close(self) -> None:
        self.closing.set()
        self.vm.kill_running()
