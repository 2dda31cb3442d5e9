"""Getters for app configuration and for dates relative to today, from OSWorld's getters of the same names.

rule_relativeTime: OSWorld's relative-time names ("tomorrow", "next Monday", "10th next month", "first monday
eight months later"...), computed in the rule's `timezone` (an unknown name falls back to UTC, as in OSWorld)
and written into the rule's expected "time" (or "from"/"to", or the puDay.../doDay... fields of the "split"
names) with OSWorld's placeholders ({DoW}, {Month}, {Day0D}...); a list of accepted forms has each one filled
(upstream's code fails on the list one real task gives). "Now" is the VM's clock, as current OSWorld takes it
(what the agent saw), shown in the rule's `timezone` when it names a known one; when the VM does not answer,
this host's clock in that timezone (unknown: UTC) or, without one, in this host's zone (OSWorld would ask an
IP geolocation service there). A name OSWorld does not know raises ValueError.
vlc_config, gimp_config_file: vlcrc, or GIMP 2.10's `file_name` (gimprc, sessionrc), under the VM user's home
(~ expanded in the VM, as OSWorld does).
vscode_config: OSWorld's keystroke replay (enable all extensions, run the task's command) through pyautogui in
the VM, then the file that command writes.
vlc_playing_info: VLC's status.xml from its web interface (guest port `vlc_port`, asked from this host); VLC
not answering means nothing to score (0.0). vm_wallpaper: the guest's POST /wallpaper image; a missing
wallpaper file is the guest's 500 (a getter the guest answers with an error: 0.0).
default_video_player: the app `xdg-mime query default` names most often over OSWorld's list of video/* types
(its raw output line, as OSWorld's command getter returns it), "unknown" when none has one; the queries run in
one guest command. content_from_vm_file: a .xlsx file's last row as pandas reads it, each cell as text (the
`docs` extra); other file types and contents are refused by `content_gaps`.
"""
from __future__ import annotations

import copy
import json
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...actions import GUEST_CODE_PREFIX
from ...guest.client import GuestError
from ..context import TaskContext
from ..errors import MalformedTask
from ..registry import Need, getter
from .general import saved, vm_file

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
MONDAY, FRIDAY, SATURDAY, SUNDAY = 0, 4, 5, 6
NEXT_WEEKDAY = {"next Monday": MONDAY, "next Monday split": MONDAY, "next Friday": FRIDAY,
                "next Friday split": FRIDAY, "next Saturday": SATURDAY, "next Sunday": SUNDAY}
NEXT_WEEK = {"next week Friday": FRIDAY, "next week Saturday": SATURDAY, "next week Sunday": SUNDAY}
THIS_WEEK = {"this Saturday": SATURDAY, "this Sunday": SUNDAY}
DAY_OF_NEXT_MONTH = {"5th next month": 5, "10th next month": 10, "11th next month": 11}
FIRST_MONDAY_LATER = {"first monday four months later": 4, "first monday eight months later": 8}
SPLIT_FIELDS = {"next Monday split": ("puDay", "puMonth", "puYear"),      # pick-up / drop-off date parts
                "next Friday split": ("doDay", "doMonth", "doYear")}
# The video/* types OSWorld asks xdg-mime about. Its list names each twice but x-ogm+ogg once: the weights
# keep its tie-breaking.
VIDEO_TYPES = ("3gp", "3gpp", "3gpp2", "avi", "divx", "dv", "fli", "flv", "mp2t", "mp4", "mp4v-es", "mpeg",
               "mpeg-system", "msvideo", "ogg", "quicktime", "vnd.divx", "vnd.mpegurl",
               "vnd.rn-realvideo", "webm",
               "x-anim", "x-avi", "x-flc", "x-fli", "x-flv", "x-m4v", "x-matroska", "x-mpeg", "x-mpeg-system",
               "x-mpeg2", "x-ms-asf", "x-ms-asf-plugin", "x-ms-asx", "x-ms-wm", "x-ms-wmv", "x-ms-wmx",
               "x-ms-wvx",
               "x-msvideo", "x-nsv", "x-ogm", "x-ogm+ogg", "x-theora", "x-theora+ogg")
SINGLE_WEIGHT = {"x-ogm+ogg"}
XDG_DEFAULTS = ("import json, subprocess; print(json.dumps([subprocess.run(['xdg-mime', 'query', 'default', "
                "'video/' + kind], capture_output=True, text=True).stdout for kind in {types!r}]))")
VM_FILE_CONTENTS = {("xlsx", "last_row")}


def _month_start(now: datetime, months_later: int) -> datetime:
    index = now.month - 1 + months_later
    return now.replace(year=now.year + index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0,
                       microsecond=0)


def relative_day(name: str, now: datetime, start: tuple[str, datetime] | None = None) -> datetime:
    """The day OSWorld means by `name`; `start` is the range's (name, day) when `name` ends a range."""
    if start and name in ("next Friday", "next Friday split") \
            and start[0] in ("next Monday", "next Monday split"):
        return start[1] + timedelta(days=4)                   # the Friday of that Monday's week
    if start and name == "next Sunday" and start[0] in ("next Friday", "next Saturday"):
        return start[1] + timedelta(days=SUNDAY - start[1].weekday())
    if name == "tomorrow":
        return now + timedelta(days=1)
    if name == "this month":
        return now
    if name in NEXT_WEEKDAY:                                  # strictly after today
        return now + timedelta(days=(NEXT_WEEKDAY[name] - now.weekday() - 1) % 7 + 1)
    if name in NEXT_WEEK:
        return now + timedelta(days=7 - now.weekday() + NEXT_WEEK[name])
    if name in THIS_WEEK:                                     # may be in the past, as in OSWorld
        return now + timedelta(days=THIS_WEEK[name] - now.weekday())
    if name in DAY_OF_NEXT_MONTH:
        return _month_start(now, 1).replace(day=DAY_OF_NEXT_MONTH[name])
    if name in FIRST_MONDAY_LATER:
        first = _month_start(now, FIRST_MONDAY_LATER[name])
        return first + timedelta(days=(MONDAY - first.weekday()) % 7)
    raise MalformedTask(f"rule_relativeTime: unknown relative time {name!r}")


def format_day(template: str, day: datetime) -> str:
    """OSWorld's placeholders, each replaced once, in OSWorld's order."""
    values = {"{DoW}": WEEKDAYS[day.weekday()], "{Month}": MONTHS[day.month - 1][:3], "{DayD}": str(day.day),
              "{Year}": str(day.year), "{Month0D}": f"{day.month:02d}",
              "{month}": MONTHS[day.month - 1].lower(),
              "{MonthFull}": MONTHS[day.month - 1], "{Day0D}": f"{day.day:02d}", "{MonthD}": str(day.month),
              "{DoWJ}": WEEKDAYS_JA[day.weekday()]}
    for placeholder, value in values.items():
        template = template.replace(placeholder, value, 1)
    return template


def _fill(expected: dict, name: str, key: str, day: datetime) -> None:
    for field in SPLIT_FIELDS.get(name, (key,)):
        value = expected[field]              # a list holds accepted forms (expect_in_result): format each one
        expected[field] = ([format_day(v, day) for v in value] if isinstance(value, list)
                           else format_day(value, day))


def relative_rules(rules: dict, now: datetime) -> dict:
    """A copy of the rules whose expected dates are filled in for `now`."""
    rules = copy.deepcopy(rules)
    span, expected = rules["relativeTime"], rules["expected"]
    start = relative_day(span["from"], now)
    if "to" not in span:
        _fill(expected, span["from"], "time", start)
        return rules
    _fill(expected, span["from"], "from", start)
    _fill(expected, span["to"], "to", relative_day(span["to"], now, (span["from"], start)))
    return rules


VM_NOW = "from datetime import datetime; print(datetime.now().astimezone().isoformat())"


def _timezone(rules: dict):
    if "timezone" not in rules:
        return None
    try:
        return ZoneInfo(rules["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        return False                                          # named, but unknown


def _vm_now(guest, ctx: TaskContext) -> datetime | None:
    try:
        return datetime.fromisoformat(_python(guest, ctx, VM_NOW).strip())
    except (GuestError, ValueError):
        return None


@getter("rule_relativeTime")
def rule_relative_time(guest, ctx: TaskContext, config: dict) -> dict:
    zone, vm_now = _timezone(config["rules"]), _vm_now(guest, ctx)
    if vm_now is not None:
        now = vm_now.astimezone(zone) if zone else vm_now
    else:
        now = datetime.now(zone if zone is not False else ZoneInfo("UTC")) if zone is not None else \
            datetime.now().astimezone()
    return relative_rules(config["rules"], now)


def _vm_file(guest, ctx: TaskContext, path: str, dest: str) -> str:
    return vm_file(guest, ctx, {"path": path, "dest": dest})


def _python(guest, ctx: TaskContext, code: str) -> str:
    return guest.execute(["python", "-c", code], False, timeout=ctx.step_timeout).get("output") or ""


def _home_file(guest, ctx: TaskContext, relative: str, dest: str) -> str:
    path = _python(guest, ctx, f"import os; print(os.path.expanduser({'~/' + relative!r}))").strip()
    return _vm_file(guest, ctx, path or "~/" + relative, dest)


@getter()
def vlc_config(guest, ctx: TaskContext, config: dict) -> str:
    return _home_file(guest, ctx, ".config/vlc/vlcrc", config["dest"])


@getter()
def gimp_config_file(guest, ctx: TaskContext, config: dict) -> str:
    return _home_file(guest, ctx, f".config/GIMP/2.10/{config['file_name']}", config["dest"])


@getter()
def vscode_config(guest, ctx: TaskContext, config: dict) -> str:
    steps = ["pyautogui.hotkey('ctrl', 'shift', 'p')",
             "pyautogui.typewrite('Extensions: Enable All Extensions')",
             "pyautogui.press('enter')", "pyautogui.press('enter')", "pyautogui.hotkey('ctrl', 'shift', 'p')",
             f"pyautogui.typewrite({config['vscode_extension_command']!r})", "pyautogui.press('enter')"]
    for step in steps:                     # one command per keystroke group, as OSWorld's replay sends them
        _python(guest, ctx, GUEST_CODE_PREFIX + step)
    time.sleep(1.0)
    return _vm_file(guest, ctx, config["path"], config["dest"])


@getter()
def vlc_playing_info(guest, ctx: TaskContext, config: dict) -> str:
    status = guest.vlc_status(timeout=min(10.0, ctx.step_timeout))
    return saved(ctx, config["dest"], status, "VLC's web interface did not answer (is VLC running?)")


@getter()
def vm_wallpaper(guest, ctx: TaskContext, config: dict) -> str:
    return str(ctx.save(config["dest"], guest.wallpaper()))


def most_common_player(defaults: dict[str, str]) -> str:
    """The default app named most often (weighted as OSWorld's list counts each type; first named wins a
    tie)."""
    votes = Counter()
    for kind in VIDEO_TYPES:
        if defaults.get(kind):
            votes[defaults[kind]] += 1 if kind in SINGLE_WEIGHT else 2
    return votes.most_common(1)[0][0] if votes else "unknown"


@getter()
def default_video_player(guest, ctx: TaskContext, config: dict) -> str:
    output = _python(guest, ctx, XDG_DEFAULTS.format(types=list(VIDEO_TYPES)))
    try:
        answers = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answers = []
    return most_common_player(dict(zip(VIDEO_TYPES, answers)))


def content_gaps(config: dict) -> list[str]:
    """What content_from_vm_file lacks for this getter config (empty: supported)."""
    if (config.get("file_type"), config.get("file_content")) not in VM_FILE_CONTENTS:
        return [f"getter 'content_from_vm_file' file_type {config.get('file_type')!r} with file_content "
                f"{config.get('file_content')!r} (not implemented)"]
    return []


@getter(needs=(Need("docs", ("pandas", "openpyxl")),), check=content_gaps)
def content_from_vm_file(guest, ctx: TaskContext, config: dict) -> list[str] | None:
    import pandas as pd  # optional: the docs extra
    path = _vm_file(guest, ctx, config["path"], config["path"].rstrip("/").rsplit("/", 1)[-1])
    try:
        rows = pd.read_excel(path)
    except Exception:  # noqa: BLE001  (not a workbook pandas reads: nothing to match)
        return None
    return rows.iloc[-1].astype(str).tolist() if len(rows) else None
