"""Environment: one VM's episode. The worker process calls it one operation at a time.

The VM itself (bring-up, adoption, pause, reset-ahead) is its VmLifecycle (vm_lifecycle.py); the env's phase
moves only through states.transition.
adopt (once, when the daemon starts): a VM already running is taken over (used warm or reverted).
reset: (wait for reset-ahead) → bring the VM up unless it is warm and its guest answers → task setup → first
screenshot.
step: compile the prediction → run each action in the guest → settle → screenshot; the episode changes only
when all of it worked.
evaluate: OSWorld scoring, once per episode; then reset-ahead reverts and starts the VM in the background.
Every operation runs within its budget (95 % of its pool deadline), shared by all its vmrun and guest calls. A
guest that stops answering mid-episode loses the episode: the phase becomes guest_lost and the pool recovers
the VM.
"""
from __future__ import annotations

import base64
import contextlib
import json
import time
from pathlib import Path
from typing import Callable

from ..actions import GUEST_CODE_PREFIX, ActionOptions, compile_prediction
from ..budget import Budget
from ..config import Settings
from ..episode import Episode, encode_image, image_message
from ..errors import RETRY_AFTER, DaemonError, Reply
from ..evaluation.context import SetupError, TaskContext
from ..evaluation.errors import MalformedTask
from ..evaluation.evaluate import EvaluatorFault, evaluate_task
from ..evaluation.external.adapter import DesktopEnvMetrics, ExternalMetricError
from ..evaluation.host_policy import HostPolicy
from ..evaluation.steps import run_setup
from ..guest.client import GuestError
from ..guest.devtools import DevToolsError
from ..logs import env_logger
from ..vm.vmrun import VmrunError
from .report import OperationReport
from .states import Phase, transition
from .vm_lifecycle import BUDGET_SHARE, VmLifecycle


class Environment:
    def __init__(self, env_idx: int, settings: Settings, publish_state: Callable[[dict], None]):
        self.env_idx = env_idx
        self.settings = settings
        self.publish_state = publish_state
        self.budget = Budget()
        self.lifecycle = VmLifecycle(env_idx, settings, self.budget, lambda: publish_state(self.state()))
        self.episode: Episode | None = None
        self.phase = Phase.IDLE
        self.last_error: str | None = None
        python = settings.evaluation["desktop_env_python"]
        self.desktop_env = DesktopEnvMetrics(python) if python else None
        self.report = OperationReport()          # the worker starts a new one per operation
        self.log = env_logger("daemon.worker", env_idx)

    # --- state ----------------------------------------------------------------------------------------------
    def state(self) -> dict:
        episode = self.episode
        return {"phase": self.phase.value, "episode_id": episode.episode_id if episode else None,
                "steps": episode.actions_taken if episode else 0, "warm": self.lifecycle.warm,
                "last_error": self.last_error, "vm": self.lifecycle.vmx}

    def set_phase(self, phase: Phase) -> None:
        self.phase = transition(self.log, self.phase, phase)
        self.publish_state(self.state())

    def start_budget(self, operation: str, since: float) -> None:
        """The operation that began at `since` (time.monotonic()) must be done within its share of the
        deadline."""
        self.budget.start(BUDGET_SHARE * self.settings.deadlines[operation], since)

    # --- operations -----------------------------------------------------------------------------------------
    def reset(self, args: dict) -> Reply:
        self.lifecycle.wait_for_reset_ahead()
        self.lifecycle.resume()
        task = args["task_config"]
        options = self.settings.episode
        episode = Episode(self.env_idx, task, args.get("max_steps") or options["max_steps"],
                          args.get("history") or options["history"],
                          args.get("image_format") or options["image_format"],
                          args.get("jpeg_quality") or options["jpeg_quality"])
        self.log = self.lifecycle.log = env_logger("daemon.worker", self.env_idx, episode.episode_id)
        self.episode = None
        self.set_phase(Phase.RESETTING)
        lifecycle = self.lifecycle
        self.report.note(episode_id=episode.episode_id, warm=lifecycle.warm,
                         image_format=episode.image_format)
        try:
            if not (lifecycle.warm and lifecycle.warm_guest_answers()):
                with self._vm_failed():
                    lifecycle.bring_up()
            lifecycle.hand_out()
            self._setup_task(task)
            first = self._screenshot_b64(episode)
        except DaemonError:
            self.set_phase(Phase.IDLE)
            raise
        prompt = self.settings.prompt_template.replace("{instruction}", str(task.get("instruction", "")))
        episode.start(prompt, first)
        self.episode = episode
        self.set_phase(Phase.RUNNING)
        self.log.info("reset done: task %s", task.get("id", "?"))
        return self._finish(Reply(200, episode.reset_answer()))

    def step(self, args: dict) -> Reply:
        episode = self._current_episode(args)
        step_idx = args.get("step_idx")
        if step_idx is not None and step_idx < len(episode.records):
            self.log.info("step %d retried: answering the stored result, acting nothing", step_idx)
            self.report.note(retried=True)
            return Reply(200, episode.step_answer(step_idx))
        if step_idx is not None and step_idx > len(episode.records):
            raise DaemonError(409, "wrong_step", f"step_idx {step_idx} is ahead of this episode "
                           f"({len(episode.records)} steps applied); send the step_idx of the last answer")
        if episode.done:
            raise DaemonError(409, "episode_done", "the episode is done; reset before stepping again")
        self.lifecycle.resume()
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
        if episode.done:                # a step that goes on needs no state frame: its answer carries one
            self.set_phase(Phase.DONE)
        return self._finish(Reply(200, episode.step_answer(len(episode.records) - 1)))

    def evaluate(self, args: dict) -> Reply:
        episode = self._current_episode(args, scored_ok=True)
        if episode.score is None:
            self.lifecycle.resume()
            try:
                with self._guest_loss_check(episode):
                    episode.score = evaluate_task(episode.task_config, self.lifecycle.guest,
                                                  self._task_context(episode.task_config),
                                                  episode.last_terminal)
            except EvaluatorFault as exc:
                raise _evaluator_fault_error(exc) from exc
            except MalformedTask as exc:
                raise DaemonError(422, "task_not_runnable", str(exc)) from exc
            except (SetupError, GuestError, DevToolsError, OSError, ExternalMetricError) as exc:
                raise DaemonError(502, "evaluation_failed", f"evaluation could not run: {exc}") from exc
            episode.done = True
            self.log.info("evaluated: score %s", episode.score)
            self.set_phase(Phase.DONE)
            self.lifecycle.start_reset_ahead()
        return self._finish(Reply(200, json.dumps(episode.score).encode()))

    def history(self, args: dict) -> Reply:
        if self.episode is None:
            return Reply(200, b'{"history_messages": []}')
        return Reply(200, self.episode.history_answer())

    def recover(self) -> Reply:
        self._lose_episode("its env was recovered")
        self.set_phase(Phase.RECOVERING)
        try:
            with self._vm_failed():
                self.lifecycle.bring_up(hard_stop_first=True)
        except DaemonError as exc:
            self.last_error = exc.message
            self.set_phase(Phase.BROKEN)
            raise
        self.lifecycle.warm = True
        self.last_error = None
        self.set_phase(Phase.IDLE)
        return Reply(200, b'{"recovered": true}')

    def adopt(self) -> None:
        """At daemon start: a VM left running (the daemon restarted) is used warm when it is clean and its
        guest answers, else reverted; a VM that is off stays cold for the first reset."""
        if not self.lifecycle.running():
            return
        self.set_phase(Phase.ADOPTING)
        with self._vm_failed():
            self.lifecycle.take_over()
        self.set_phase(Phase.IDLE)

    def close(self) -> None:
        self.lifecycle.close()
        if self.desktop_env is not None:
            self.desktop_env.close()

    # --- episode helpers ------------------------------------------------------------------------------------
    def _current_episode(self, args: dict, scored_ok: bool = False) -> Episode:
        episode = self.episode
        if episode is None:
            raise DaemonError(409, "no_episode", "no episode on this env: POST /env/reset first")
        wanted = args.get("episode_id")
        if wanted is not None and wanted != episode.episode_id:
            raise DaemonError(409, "wrong_episode", f"episode {wanted} is not this env's current episode "
                           f"({episode.episode_id}); reset to start a new one")
        if episode.lost and not (scored_ok and episode.score is not None):
            raise DaemonError(502, "episode_lost", f"episode {episode.episode_id} was lost ({episode.lost}); "
                           "reset to start a new one")
        return episode

    def _lose_episode(self, reason: str) -> None:
        if self.episode is not None and self.episode.lost is None:
            self.episode.lost = reason

    @contextlib.contextmanager
    def _guest_loss_check(self, episode: Episode):
        """A guest call that got no answer: if the guest no longer answers at all, the episode is lost and the
        phase guest_lost tells the pool to recover the VM. Otherwise the error stands, the episode
        unchanged."""
        try:
            yield
        except (DaemonError, SetupError, GuestError) as exc:
            if not _no_answer(exc) or self.lifecycle.guest_answers():
                raise
            self._lose_episode(f"its guest stopped answering: {exc}")
            self.lifecycle.warm = False
            self.last_error = f"guest lost: {exc}"
            self.set_phase(Phase.GUEST_LOST)
            raise DaemonError(502, "guest_lost", f"episode {episode.episode_id} is lost: the guest stopped "
                           f"answering ({exc}); the env is being recovered, reset it after Retry-After "
                           "seconds", RETRY_AFTER) from exc

    def _action_options(self) -> ActionOptions:
        options = self.settings.episode
        return ActionOptions(screen=(options["screen_width"], options["screen_height"]),
                             model_type=options["model_type"], typing_interval=options["typing_interval"],
                             clipboard_tool=self.lifecycle.clipboard_tool)

    def _act(self, compiled) -> None:
        for index, code in enumerate(compiled.code):
            try:
                with self.report.part("execute"):
                    answer = self.lifecycle.guest.execute(["python", "-c", GUEST_CODE_PREFIX + code],
                                                timeout=self.settings.vmware["execute_timeout"])
            except GuestError as exc:
                acted = f"after {index} of {len(compiled.code)} guest commands ran" if index else \
                    "before any action ran"
                raise DaemonError(502, "guest_failed", f"the guest could not run an action ({acted}; the "
                               f"step is not applied, so a retry runs it whole): {exc}") from exc
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
                png = self.lifecycle.guest.screenshot()
        except GuestError as exc:
            raise DaemonError(502, "guest_failed", f"screenshot failed: {exc}") from exc
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
                           download_timeout=evaluation["download_timeout"],
                           step_timeout=evaluation["step_timeout"],
                           external_metric=self.desktop_env.score if self.desktop_env else None,
                           on_setup_failure=evaluation["on_setup_failure"], log=self.log,
                           policy=HostPolicy.from_settings(evaluation), env_idx=self.env_idx)

    def _setup_task(self, task: dict) -> None:
        try:
            run_setup(task.get("config", []), self.lifecycle.guest, self._task_context(task))
        except SetupError as exc:
            raise DaemonError(502, "setup_failed", f"task setup failed: {exc}") from exc
        except Exception as exc:
            # task input this daemon did not foresee: the task's failure, not ours
            raise DaemonError(502, "setup_failed", f"task setup failed ({type(exc).__name__}: {exc}); check "
                           "the task's config steps") from exc

    def _finish(self, answer: Reply) -> Reply:
        """Between steps the VM may be paused (vmware.pause_between_steps): the next operation resumes it."""
        if self.phase is Phase.RUNNING:
            self.lifecycle.pause()
        return answer

    @contextlib.contextmanager
    def _vm_failed(self):
        """A VM that could not be brought up after the daemon's own retries: 502 vm_failed."""
        try:
            yield
        except VmrunError as exc:
            raise DaemonError(502, "vm_failed", str(exc)) from exc


def _no_answer(exc: BaseException | None) -> bool:
    """Whether the error, or one it was raised from, is a guest request that got no answer at all."""
    while exc is not None:
        if isinstance(exc, GuestError) and exc.no_answer:
            return True
        exc = exc.__cause__
    return False


def _evaluator_fault_error(fault: EvaluatorFault) -> DaemonError:
    """A bug in one of our getters or metrics is ours, not the task's nor the VM's: 500 evaluator_error, the
    episode kept as it is, no recovery of the VM. The worker logs the traceback once."""
    if fault.kind == "bug":
        return DaemonError(500, "evaluator_error", f"evaluation could not run: {fault} (a bug in the "
                           "daemon's evaluator; the episode is kept as it is, the worker log has the "
                           "traceback)",
                           detail=fault.detail)
    status, code = (422, "task_not_runnable") if fault.kind == "malformed" else (502, "evaluation_failed")
    return DaemonError(status, code, f"evaluation could not run: {fault}; the worker log has the detail",
                       detail=fault.detail)

