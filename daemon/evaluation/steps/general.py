"""Task setup steps (task_config["config"] and evaluator["postconfig"]), each run in the guest with a time
limit.

A step that fails in the guest fails the setup (ctx.on_setup_failure "fail") or is logged and skipped
("continue", as OSWorld's controller does); either way the message names the step by its index and type. A
step whose parameters are malformed always fails: that is the task's fault, not the guest's.
"""
from __future__ import annotations

import sqlite3
import time

from ...guest.client import GuestError
from ...guest.devtools import DevToolsError
from ..context import SetupError, TaskContext
from ..host_policy import read_upload
from ..registry import find, refuse, step
from ..task_shape import sleep_seconds

UNTIL_ATTEMPTS = 10


def run_setup(steps: list[dict], guest, ctx: TaskContext, stage: str = "setup") -> None:
    """`stage` names the list in messages: setup (the task's config) or postconfig (before scoring)."""
    for index, given in enumerate(steps or []):
        kind, params = given.get("type"), given.get("parameters", {}) or {}
        declared = find("step", kind)
        if declared is None:
            raise SetupError(f"{stage} step {index} has unsupported type {kind!r}")
        try:
            declared.run(guest, ctx, params)
        except (GuestError, DevToolsError, sqlite3.Error, SetupError) as exc:
            failure = f"{stage} step {index} ({kind}) failed: {exc}"
            if ctx.on_setup_failure != "continue":
                raise SetupError(failure) from exc
            ctx.log.warning("%s; carrying on (evaluation.on_setup_failure: continue)", failure)
        except (KeyError, TypeError) as exc:
            raise SetupError(f"{stage} step {index} ({kind}) has bad parameters: {exc}") from exc


def _substitute(command, ctx: TaskContext):
    if isinstance(command, str):
        return ctx.placeholders(command)
    return [ctx.placeholders(str(part)) for part in command]


@step()
def download(guest, ctx: TaskContext, params: dict) -> None:
    for item in params["files"]:
        guest.upload(item["path"], ctx.fetch(item["url"]).read_bytes())


@step()
def upload_file(guest, ctx: TaskContext, params: dict) -> None:
    for item in params["files"]:
        guest.upload(item["remote_path"],
                     read_upload(item["local_path"], ctx.policy, "upload_file local_path"))


@step("command")
@step()
def execute(guest, ctx: TaskContext, params: dict) -> None:
    command = _substitute(params["command"], ctx)
    until = params.get("until") or {}
    for _ in range(UNTIL_ATTEMPTS if until else 1):
        answer = guest.execute(command, bool(params.get("shell", False)), timeout=ctx.step_timeout)
        for stream in ("stdout", "stderr"):
            if params.get(stream):
                key = "output" if stream == "stdout" else "error"
                ctx.save(params[stream], (answer.get(key) or "").encode(), f"execute {stream}")
        if not until or _until_met(until, answer):
            return
        time.sleep(0.3)
    raise SetupError(f"execute of {command!r}: condition {until} not met after {UNTIL_ATTEMPTS} attempts")


def _until_met(until: dict, answer: dict) -> bool:
    """Any one of the conditions given suffices: OSWorld's controller combines them with `or`."""
    checks = {"returncode": lambda v: answer.get("returncode") == v,
              "stdout": lambda v: v in (answer.get("output") or ""),
              "stderr": lambda v: v in (answer.get("error") or "")}
    return any(checks[key](value) for key, value in until.items() if key in checks)


@step()
def sleep(guest, ctx: TaskContext, params: dict) -> None:
    try:
        seconds = sleep_seconds(params.get("seconds"))
    except ValueError as exc:  # malformed parameters (reset refuses them first): TypeError's path
        raise TypeError(f"seconds {exc}") from None
    time.sleep(min(seconds, ctx.step_timeout))


# Steps that are one guest call.
step("launch")(lambda g, c, p: g.launch(_substitute(p["command"], c), bool(p.get("shell", False))))
step("open")(lambda g, c, p: g.open_file(p["path"], timeout=c.step_timeout))
step("activate_window")(lambda g, c, p: g.activate_window(p["window_name"], p.get("strict", False),
                                                          p.get("by_class", False)))
step("close_window")(lambda g, c, p: g.close_window(p["window_name"], p.get("strict", False),
                                                    p.get("by_class", False)))
step("change_wallpaper")(lambda g, c, p: g.change_wallpaper(p["path"]))

refuse("step", "login", "needs Google account credentials (not supported)")
refuse("step", "googledrive", "needs Google Drive credentials (not supported)")
