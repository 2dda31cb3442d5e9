"""Getters: fetch what a metric compares, from the guest (files, command output) or from the task itself."""
from __future__ import annotations

import posixpath
import shutil

from ...guest.client import GuestError
from ..context import TaskContext
from ..formats.office import background_picture
from ..host_policy import check_unpacked_size
from ..registry import getter


class ResultMissing(Exception):
    """The thing to score does not exist (e.g. the file the agent should have saved): the task scores 0.0."""


def _each(config: dict, one):
    """OSWorld's `multi`: path/dest are lists and the getter returns a list; `gives` picks which to return. A
    missing file among several is None in that list (the metric scores that pair), as OSWorld passes it."""
    if not config.get("multi"):
        return one(config["path"], config["dest"])
    values = [_or_none(one, path, dest) for path, dest in zip(config["path"], config["dest"])]
    gives = config.get("gives", [0])
    return values[gives[0]] if len(gives) == 1 else [values[i] for i in gives]


def _or_none(one, path: str, dest: str):
    try:
        return one(path, dest)
    except ResultMissing:
        return None


def saved(ctx: TaskContext, dest: str, data: bytes | None, missing_message: str) -> str:
    """The data written to `dest` in the task folder, as its path; ResultMissing when there is none."""
    if data is None:
        raise ResultMissing(missing_message)
    return str(ctx.save(dest, data))


@getter()
def vm_file(guest, ctx: TaskContext, config: dict):
    def one(path: str, dest: str):
        return saved(ctx, dest, guest.get_file(path), f"file not found in the VM: {path}")
    return _each(config, one)


@getter()
def cloud_file(guest, ctx: TaskContext, config: dict):
    def one(url: str, dest: str):
        target = ctx.task_file(dest, "dest")
        shutil.copyfile(ctx.fetch(url), target)
        check_unpacked_size(target, "dest")
        return str(target)
    return _each(config, one)


@getter()
def cache_file(guest, ctx: TaskContext, config: dict):
    path = ctx.task_file(config["path"], "cache_file path")
    if not path.exists():
        raise ResultMissing(f"file not found in the task cache: {config['path']}")
    check_unpacked_size(path, "cache_file path")
    return str(path)


@getter()
def vm_command_line(guest, ctx: TaskContext, config: dict):
    return guest.execute(config["command"], bool(config.get("shell", False)),
                         timeout=ctx.step_timeout)["output"]


@getter()
def vm_command_error(guest, ctx: TaskContext, config: dict):
    return guest.execute(config["command"], bool(config.get("shell", False)),
                         timeout=ctx.step_timeout)["error"]


@getter()
def vm_window_size(guest, ctx: TaskContext, config: dict) -> dict | None:
    """None when the guest finds no such window (OSWorld's controller answers None, and the metric scores
    0)."""
    try:
        return guest.window_size(config["app_class_name"])
    except GuestError:
        return None


@getter()
def background_image_in_slide(guest, ctx: TaskContext, config: dict):
    """OSWorld's getter: the picture filling a slide's background, from inside the .pptx or the VM file it
    links."""
    pptx = vm_file(guest, ctx,
                   {"path": config["ppt_file_path"], "dest": posixpath.basename(config["ppt_file_path"])})
    picture = background_picture(pptx, int(config["slide_index"]))
    if isinstance(picture, str):
        return vm_file(guest, ctx, {"path": picture, "dest": config["dest"]})
    return saved(ctx, config["dest"], picture,
                  f"slide {config['slide_index']} of {config['ppt_file_path']} has no background picture")


# Getters that are one guest call, or the task's own rules.
getter("rule")(lambda guest, ctx, config: config["rules"])
getter("vm_terminal_output")(lambda guest, ctx, config: guest.terminal())
getter("list_directory")(lambda guest, ctx, config: guest.list_directory(config["path"]))
getter("vm_screen_size")(lambda guest, ctx, config: dict(zip(("width", "height"), guest.screen_size())))
getter("accessibility_tree")(lambda guest, ctx, config: guest.accessibility())
