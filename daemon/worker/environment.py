"""Environment: one VM and its episode. The worker process calls it one operation at a time.

adopt (once, when the daemon starts): a VM already running is used warm when it is clean and answers, else
reverted.
reset: (wait for reset-ahead) → bring the VM up unless it is warm and its guest answers → task setup → first
screenshot.
step: compile the prediction → run each action in the guest → settle → screenshot; the episode changes only when
all of it worked.
evaluate: OSWorld scoring, once per episode; then reset-ahead reverts and starts the VM in the background.
Every operation runs within its budget (95 % of its pool deadline), shared by all its vmrun and guest calls. A guest
that stops answering mid-episode loses the episode: the phase becomes guest_lost and the pool recovers the VM.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..actions import GUEST_CODE_PREFIX, ActionOptions, compile_prediction
from ..budget import Budget
from ..config import Settings, find_vmrun
from ..episode import Episode, encode_image, image_message
from ..evaluation.context import SetupError, TaskContext
from ..evaluation.evaluate import EvaluatorFault, evaluate_task
from ..evaluation.external.adapter import DesktopEnvMetrics, ExternalMetricError
from ..evaluation.steps import run_setup
from ..evaluation.host_policy import HostPolicy
from ..guest.client import GuestClient, GuestError
from ..logs import env_logger
from ..vm.records import VmRecords
from ..vm.vmrun import VmDriver, VmrunError
from .report import OperationReport

LOCK_DISABLE = ("gsettings set org.gnome.desktop.screensaver lock-enabled false; "
                "gsettings set org.gnome.desktop.session idle-delay 0")
READY_POLL = 0.5
BUDGET_SHARE = 0.95             # of the pool's deadline: the rest is time to answer before the pool kills us
RECOVERY_RETRY_AFTER = 10       # seconds: a lost guest's VM is being recovered


class EnvError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass
class Answer:
    status: int
    body: bytes


class Environment:
    def __init__(self, env_idx: int, settings: Settings, publish_state: Callable[[dict], None]):
        self.env_idx = env_idx
        self.settings = settings
        self.publish_state = publish_state
        self.vmx = settings.envs[env_idx]["vmx"]
        vmrun = find_vmrun(settings.vmware["vmrun"])
        if vmrun is None:
            raise EnvError(500, "no_vmrun", "vmrun not found: install VMware Fusion or set vmware.vmrun")
        self.budget = Budget()
        self.vm = VmDriver(vmrun, self.vmx, settings.vmware["host_type"], settings.vmware["command_timeout"],
                           env=dict(os.environ), budget=self.budget)
        self.records = VmRecords(settings.raw["run_dir"])
        self.guest: GuestClient | None = None
        self.episode: Episode | None = None
        self.phase = "idle"
        self.warm = False
        self.paused = False
        self.last_error: str | None = None
        self.clipboard_tool: str | None = "xclip"
        self._ahead: threading.Thread | None = None
        python = settings.evaluation["desktop_env_python"]
        self.desktop_env = DesktopEnvMetrics(python) if python else None
        self._closing = threading.Event()
        self.report = OperationReport()          # the worker starts a new one per operation
        self.log = env_logger("daemon.worker", env_idx)

    # --- state -------------------------------------------------------------------------------------------------
    def state(self) -> dict:
        episode = self.episode
        return {"phase": self.phase, "episode_id": episode.episode_id if episode else None,
                "steps": episode.actions_taken if episode else 0, "warm": self.warm,
                "last_error": self.last_error, "vm": self.vmx}

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.publish_state(self.state())

    def start_budget(self, operation: str, since: float) -> None:
        """The operation that began at `since` (time.monotonic()) must be done within its share of the deadline."""
        self.budget.start(BUDGET_SHARE * self.settings.deadlines[operation], since)

    # --- operations --------------------------------------------------------------------------------------------
    def reset(self, args: dict) -> Answer:
        self._wait_for_reset_ahead()
        self._resume()
        task = args["task_config"]
        options = self.settings.episode
        episode = Episode(self.env_idx, task, args.get("max_steps") or options["max_steps"],
                          args.get("history") or options["history"], args.get("image_format") or options["image_format"],
                          args.get("jpeg_quality") or options["jpeg_quality"])
        self.log = env_logger("daemon.worker", self.env_idx, episode.episode_id)
        self.episode = None
        self._set_phase("resetting")
        self.report.note(episode_id=episode.episode_id, warm=self.warm, image_format=episode.image_format)
        try:
            if not (self.warm and self._warm_guest_answers()):
                self._bring_up()
            self.warm = False
            self.records.mark(self.vmx, clean=False)
            self._setup_task(task)
            first = self._screenshot_b64(episode)
        except EnvError:
            self._set_phase("idle")
            raise
        prompt = self.settings.prompt_template.replace("{instruction}", str(task.get("instruction", "")))
        episode.start(prompt, first)
        self.episode = episode
        self._set_phase("running")
        self.log.info("reset done: task %s", task.get("id", "?"))
        return self._finish(Answer(200, episode.reset_answer()))

    def step(self, args: dict) -> Answer:
        episode = self._current_episode(args)
        step_idx = args.get("step_idx")
        if step_idx is not None and step_idx < len(episode.records):
            self.log.info("step %d retried: answering the stored result, acting nothing", step_idx)
            self.report.note(retried=True)
            return Answer(200, episode.step_answer(step_idx))
        if step_idx is not None and step_idx > len(episode.records):
            raise EnvError(409, "wrong_step", f"step_idx {step_idx} is ahead of this episode "
                           f"({len(episode.records)} steps applied); send the step_idx of the last answer")
        if episode.done:
            raise EnvError(409, "episode_done", "the episode is done; reset before stepping again")
        self._resume()
        compiled = compile_prediction(args["prediction"], self._action_options())
        actions = max(1, len(compiled.actions)) if compiled.ok else 1
        done = (not compiled.ok) or compiled.terminal in ("DONE", "FAIL") or \
            episode.actions_taken + actions >= episode.max_steps
        with self._guest_loss_check(episode):
            self._act(compiled)
            screen = None if done else image_message(self._screenshot_b64(episode))
        assistant = {"role": "assistant", "content": [{"type": "text", "text": compiled.history_text}]}
        warnings = compiled.warnings + ([compiled.error] if compiled.error else [])
        episode.record_step([assistant] + ([screen] if screen else []), actions, compiled.terminal, done,
                            compiled.format_reward, warnings)
        self.report.note(**compiled.to_json(), step_idx=len(episode.records), done=episode.done)
        self._set_phase("done" if episode.done else "running")
        return self._finish(Answer(200, episode.step_answer(len(episode.records) - 1)))

    def evaluate(self, args: dict) -> Answer:
        episode = self._current_episode(args, scored_ok=True)
        if episode.score is None:
            self._resume()
            try:
                with self._guest_loss_check(episode):
                    episode.score = evaluate_task(episode.task_config, self.guest,
                                                  self._task_context(episode.task_config), episode.last_terminal)
            except EvaluatorFault as exc:
                self.log.warning("evaluation failed: %s", exc.detail)
                status, code = (422, "task_not_runnable") if exc.malformed else (502, "evaluation_failed")
                raise EnvError(status, code, f"evaluation could not run: {exc}; the worker log has the detail") \
                    from exc
            except (SetupError, GuestError, OSError, ExternalMetricError) as exc:
                raise EnvError(502, "evaluation_failed", f"evaluation could not run: {exc}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise EnvError(422, "task_not_runnable", f"the task's evaluator is malformed "
                               f"({type(exc).__name__}: {exc}); check its getters and options") from exc
            episode.done = True
            self.log.info("evaluated: score %s", episode.score)
            self._set_phase("done")
            self._start_reset_ahead()
        return self._finish(Answer(200, json.dumps(episode.score).encode()))

    def history(self, args: dict) -> Answer:
        if self.episode is None:
            return Answer(200, b'{"history_messages": []}')
        return Answer(200, self.episode.history_answer())

    def recover(self) -> Answer:
        self._lose_episode("its env was recovered")
        self._set_phase("recovering")
        try:
            self._bring_up(hard_stop_first=True)
        except EnvError as exc:
            self.last_error = exc.message
            self._set_phase("broken")
            raise
        self.warm = True
        self.last_error = None
        self._set_phase("idle")
        return Answer(200, b'{"recovered": true}')

    def adopt(self) -> None:
        """At daemon start: a VM left running (the daemon restarted) is used warm when it is clean and its guest
        answers, else reverted; a VM that is off stays cold for the first reset."""
        try:
            if not self.vm.is_running():
                return
        except VmrunError as exc:
            self.log.warning("could not tell whether VM %s runs (%s); the first reset brings it up", self.vmx, exc)
            return
        self._set_phase("adopting")
        clean = self.records.is_clean(self.vmx)
        if clean and self._guest_of_running_vm_answers():
            self.warm = True
            self.log.info("adopted running VM %s: clean and its guest answers, used warm", self.vmx)
        else:
            self.log.warning("adopted running VM %s: %s, reverting it", self.vmx,
                             "its guest does not answer" if clean else "it may hold a previous episode")
            self._bring_up(hard_stop_first=True)
            self.warm = True
        self._set_phase("idle")

    def close(self) -> None:
        self._closing.set()
        self.vm.kill_running()
        if self.desktop_env is not None:
            self.desktop_env.close()

    # --- episode helpers ---------------------------------------------------------------------------------------
    def _current_episode(self, args: dict, scored_ok: bool = False) -> Episode:
        episode = self.episode
        if episode is None:
            raise EnvError(409, "no_episode", "no episode on this env: POST /env/reset first")
        wanted = args.get("episode_id")
        if wanted is not None and wanted != episode.episode_id:
            raise EnvError(409, "wrong_episode", f"episode {wanted} is not this env's current episode "
                           f"({episode.episode_id}); reset to start a new one")
        if episode.lost and not (scored_ok and episode.score is not None):
            raise EnvError(502, "episode_lost", f"episode {episode.episode_id} was lost ({episode.lost}); reset "
                           "to start a new one")
        return episode

    def _lose_episode(self, reason: str) -> None:
        if self.episode is not None and self.episode.lost is None:
            self.episode.lost = reason

    @contextlib.contextmanager
    def _guest_loss_check(self, episode: Episode):
        """A guest call that got no answer: if the guest no longer answers at all, the episode is lost and the
        phase guest_lost tells the pool to recover the VM. Otherwise the error stands, the episode unchanged."""
        try:
            yield
        except (EnvError, SetupError, GuestError) as exc:
            if not _no_answer(exc) or self._guest_answers():
                raise
            self._lose_episode(f"its guest stopped answering: {exc}")
            self.warm = False
            self.last_error = f"guest lost: {exc}"
            self._set_phase("guest_lost")
            raise EnvError(502, "guest_lost", f"episode {episode.episode_id} is lost: the guest stopped answering "
                           f"({exc}); the env is being recovered, reset it after Retry-After seconds",
                           RECOVERY_RETRY_AFTER) from exc

    def _guest_answers(self) -> bool:
        return self.guest is not None and self.guest.answers(self.settings.pool["warm_probe_timeout"])

    def _warm_guest_answers(self) -> bool:
        """A warm VM is probed before a reset hands it out: its guest may have died since reset-ahead."""
        if self._guest_answers():
            return True
        self.log.warning("the warm VM's guest did not answer /platform within %.0f s: bringing the VM up again",
                         self.settings.pool["warm_probe_timeout"])
        self.warm = False
        return False

    def _guest_of_running_vm_answers(self) -> bool:
        try:
            self._connect_guest(self.vm.guest_ip(timeout=self.settings.vmware["ip_timeout"]))
        except VmrunError as exc:
            self.log.warning("running VM %s has no guest IP: %s", self.vmx, exc)
            return False
        return self._guest_answers()

    def _action_options(self) -> ActionOptions:
        options = self.settings.episode
        return ActionOptions(screen=(options["screen_width"], options["screen_height"]),
                             model_type=options["model_type"], typing_interval=options["typing_interval"],
                             clipboard_tool=self.clipboard_tool)

    def _act(self, compiled) -> None:
        for index, code in enumerate(compiled.code):
            try:
                with self.report.part("execute"):
                    answer = self.guest.execute(["python", "-c", GUEST_CODE_PREFIX + code],
                                                timeout=self.settings.vmware["execute_timeout"])
            except GuestError as exc:
                acted = f"after {index} of {len(compiled.code)} guest commands ran" if index else \
                    "before any action ran"
                raise EnvError(502, "guest_failed", f"the guest could not run an action ({acted}; the step is not "
                               f"applied, so a retry runs it whole): {exc}") from exc
            if answer.get("returncode") not in (0, None):
                self.log.warning("action failed in the guest: %s", (answer.get("error") or "")[:200])
        with self.report.part("settle"):
            if compiled.terminal == "WAIT":
                time.sleep(self.settings.episode["wait_seconds"])
            if compiled.code:
                time.sleep(self.settings.episode["settle_seconds"])

    def _screenshot_b64(self, episode: Episode) -> bytes:
        try:
            with self.report.part("screenshot"):
                png = self.guest.screenshot()
        except GuestError as exc:
            raise EnvError(502, "guest_failed", f"screenshot failed: {exc}") from exc
        with self.report.part("encode"):
            image = encode_image(png, episode.image_format, episode.jpeg_quality,
                                 self.settings.episode["jpeg_max_pixels"])
            self.report.keep_frame(image, episode.episode_id, episode.image_format)
            return base64.b64encode(image)

    def _task_context(self, task: dict) -> TaskContext:
        options, evaluation = self.settings.episode, self.settings.evaluation
        return TaskContext(task_id=str(task.get("id", "task")), cache_dir=Path(evaluation["cache_dir"]),
                           screen=(options["screen_width"], options["screen_height"]),
                           client_password=evaluation["client_password"],
                           download_timeout=evaluation["download_timeout"], step_timeout=evaluation["step_timeout"],
                           external_metric=self.desktop_env.score if self.desktop_env else None,
                           on_setup_failure=evaluation["on_setup_failure"], log=self.log,
                           policy=HostPolicy.from_settings(evaluation))

    def _setup_task(self, task: dict) -> None:
        try:
            run_setup(task.get("config", []), self.guest, self._task_context(task))
        except SetupError as exc:
            raise EnvError(502, "setup_failed", f"task setup failed: {exc}") from exc
        except Exception as exc:              # task input this daemon did not foresee: the task's failure, not ours
            raise EnvError(502, "setup_failed", f"task setup failed ({type(exc).__name__}: {exc}); check the "
                           "task's config steps") from exc

    # --- VM bring-up -------------------------------------------------------------------------------------------
    def _bring_up(self, hard_stop_first: bool = False) -> None:
        vmware = self.settings.vmware
        last: Exception | None = None
        for attempt in range(vmware["reset_attempts"]):
            if self._closing.is_set():
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
                self.log.warning("bring-up attempt %d/%d failed: %s", attempt + 1, vmware["reset_attempts"], exc)
        hint = " (on macOS, vmrun start must run inside the user's GUI login session)" if \
            "canceled" in str(last) else ""
        raise EnvError(502, "vm_failed", f"VM {self.vmx} could not be brought up after "
                       f"{vmware['reset_attempts']} attempts: {last}{hint}")

    def _connect_guest(self, ip: str) -> None:
        vmware = self.settings.vmware
        self.guest = GuestClient(ip, vmware["guest_port"], vmware["guest_request_timeout"], vmware["guest_retries"],
                                 vmware["devtools_port"], vmware["vlc_port"],
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
                if time.monotonic() > deadline or self._closing.is_set() or self.budget.spent():
                    raise GuestError(f"guest did not answer within "
                                     f"{self.settings.vmware['guest_ready_timeout']:.0f} s: {exc}") from exc
                time.sleep(READY_POLL)

    def _prepare_guest(self) -> None:
        if self.settings.episode["disable_screen_lock"]:
            self.guest.execute(LOCK_DISABLE, shell=True, timeout=30)
        found = self.guest.execute("which xclip xsel", shell=True, timeout=30).get("output") or ""
        self.clipboard_tool = "xclip" if "xclip" in found else "xsel" if "xsel" in found else None

    # --- pause between steps and reset-ahead -------------------------------------------------------------------
    def _finish(self, answer: Answer) -> Answer:
        if self.settings.vmware["pause_between_steps"] and not self.paused and self.phase == "running":
            try:
                self.vm.pause()
                self.paused = True
            except VmrunError as exc:
                self.log.warning("pause failed: %s", exc)
        return answer

    def _resume(self) -> None:
        if self.paused:
            try:
                self.vm.unpause()
            except VmrunError as exc:
                self.log.warning("unpause failed: %s", exc)
            self.paused = False

    def _start_reset_ahead(self) -> None:
        if not self.settings.episode["reset_ahead"]:
            return
        self._ahead = threading.Thread(target=self._reset_ahead, name=f"reset-ahead-{self.env_idx}", daemon=True)
        self._ahead.start()

    def _reset_ahead(self) -> None:
        self.budget.start(BUDGET_SHARE * self.settings.deadlines["recover"])
        try:
            self._bring_up()
            self.warm = True
            self.log.info("reset-ahead done: VM warm")
        except EnvError as exc:
            self.log.warning("reset-ahead failed, the next reset starts cold: %s", exc.message)
        self.publish_state(self.state())

    def _wait_for_reset_ahead(self) -> None:
        """A reset never hands out a VM mid-revert: it waits for reset-ahead to finish."""
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None


def _no_answer(exc: BaseException | None) -> bool:
    """Whether the error, or one it was raised from, is a guest request that got no answer at all."""
    while exc is not None:
        if isinstance(exc, GuestError) and exc.no_answer:
            return True
        exc = exc.__cause__
    return False
