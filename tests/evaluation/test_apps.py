"""App configuration metrics (metrics/apps.py) and getters (getters/apps.py) against files made here, and the
rules, options and relative dates of the real task files."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.getters import GETTERS, ResultMissing
from daemon.evaluation.getters.apps import (
    relative_day,
    relative_rules,
    rule_relative_time,
    vlc_config,
    vscode_config,
)
from daemon.evaluation.metrics import apps
from daemon.evaluation.metrics.apps import (
    check_global_key_play_pause,
    check_json_keybindings,
    check_qt_slider_colours,
    check_thunderbird_filter,
    check_thunderbird_folder,
    check_thunderbird_prefs,
    compare_config,
    is_in_vm_clickboard,
    is_utc_0,
    is_vlc_recordings_folder,
    run_sqlite3,
)
from daemon.guest.client import GuestError

from .builders import FILTERS, VLCRC, metrics_of, write
from .fake_guest import FakeGuest
from .osworld_tasks import all_tasks, tasks_scored_by

APP_METRICS = metrics_of(apps)

MONDAY = datetime(2024, 1, 15, 9, 30, tzinfo=ZoneInfo("UTC"))        # a Monday


def test_thunderbird_prefs(tmp_path):
    prefs = write(tmp_path / "prefs.js", '// comment\nuser_pref("mail.imap.use_status_for_biff", false);\n'
                  'user_pref("mail.identity.id1.htmlSigText", "Anonym\\nXYZ Lab");\n'
                  'user_pref("extensions.activeThemeID", "thunderbird-compact-dark@mozilla.org");\n')
    assert check_thunderbird_prefs(prefs, {"expect": {
        "mail.imap.use_status_for_biff": {"method": "eq", "ref": False},
        "mail.identity.id1.htmlSigText": {"method": "re.S", "ref": "Anonym\\nXYZ Lab"},
        "extensions.activeThemeID": {"method": "re", "ref": "dark"}}}) == 1.0
    assert check_thunderbird_prefs(prefs, {"expect": {"mail.server.default.applyIncomingFilters":
                                                      {"method": "eq", "ref": True}}}) == 0.0      # absent
    assert check_thunderbird_prefs(prefs, {"unexpect": {"mail.imap.use_status_for_biff":
                                                        {"method": "eq", "ref": False}}}) == 0.0
    assert check_thunderbird_prefs(prefs, {"unexpect": {"mail.imap.use_status_for_biff":
                                                        {"method": "eq", "ref": True}}}) == 1.0
    assert check_thunderbird_prefs(None, {"expect": {}}) == 0.0


def test_thunderbird_filter(tmp_path):
    rules = write(tmp_path / "msgFilterRules.dat", FILTERS)
    promotions = {"enabled": "yes", "action": "Move to folder",
                  "actionValue": "mailbox://nobody@Local%20Folders/Promotions",
                  "condition": ["AND (subject,contains,discount)", 'AND (from,is,"shop")']}
    assert check_thunderbird_filter(rules, {"expect": [promotions]}) == 1.0
    one_condition = {**promotions, "condition": ["AND (subject,contains,discount)"]}
    assert check_thunderbird_filter(rules, {"expect": [one_condition]}) == 0.0
    forward = {"action": "Forward", "actionValue": "anonym-x2024@gmail.com", "condition": ["ALL"]}
    assert check_thunderbird_filter(rules, {"expect": [{**forward, "enabled": "no"}]}) == 1.0
    assert check_thunderbird_filter(rules, {"expect": [{**forward, "enabled": "yes"}]}) == 0.0
    assert check_thunderbird_filter(rules, {"unexpect": [{"action": "Forward"}]}) == 0.0


def test_thunderbird_folder(tmp_path):
    gold = write(tmp_path / "gold", "FROM - a\nX-Mozilla-Status: 0001\nhello\n"
                                    "FROM - b\nX-Mozilla-Status: 0000\nbye\n")
    reordered = write(tmp_path / "ours", "FROM - b\nX-Mozilla-Status: 0000\nbye\n"
                                         "FROM - a\nX-Mozilla-Status: 0001\nhello\n"
                                         "FROM - gone\nX-Mozilla-Status: 0009\nold\n"
                                         "FROM - b\nX-Mozilla-Status: 0000\nbye\n")
    assert check_thunderbird_folder(reordered, gold) == 1.0  # deleted and duplicates dropped
    assert check_thunderbird_folder(reordered, gold, remove_duplicate=False) == 0.0
    read = write(tmp_path / "read", "FROM - a\nX-Mozilla-Status: 0000\nhello\n"
                                    "FROM - b\nX-Mozilla-Status: 0000\nbye\n")
    assert check_thunderbird_folder(read, gold) == 0.0
    assert check_thunderbird_folder(read, gold, ignore_status=True) == 1.0
    assert check_thunderbird_folder([reordered, read], [gold, gold]) == 0.0
    assert check_thunderbird_folder([reordered, None], [gold, gold]) == 0.0


def test_vlc_settings(tmp_path):
    vlcrc = write(tmp_path / "vlcrc", VLCRC)
    assert APP_METRICS["check_qt_bgcone"](vlcrc, {"expected_qt_bgcone": 1}) == 1.0  # commented default
    assert APP_METRICS["check_qt_bgcone"](vlcrc, {"expected_qt_bgcone": 0}) == 0.0
    assert APP_METRICS["check_qt_max_volume"](vlcrc, {"expected_qt_max_volume": 200}) == 1.0
    assert APP_METRICS["check_qt_minimal_view"](vlcrc, {"expected_qt_minimal_view": 1}) == 0.0  # absent: 0
    assert APP_METRICS["check_play_and_exit"](vlcrc, {"expected_play_and_exit": 0}) == 1.0
    assert APP_METRICS["check_one_instance_when_started_from_file"](
        vlcrc, {"expected_one_instance_when_started_from_file": 0}) == 0.0                   # absent: 1
    assert check_global_key_play_pause(vlcrc, {"expected_global_key_play_pause": 0}) == 1.0
    assert check_global_key_play_pause(write(tmp_path / "k", "global-key-play-pause=Space\n"),
                                       {"expected_global_key_play_pause": 1}) == 1.0
    assert is_vlc_recordings_folder(vlcrc, {"recording_file_path": "/home/user/Desktop"}) == 1.0
    assert is_vlc_recordings_folder(vlcrc, {"recording_file_path": "/home/user/Videos"}) == 0.0
    assert check_qt_slider_colours(vlcrc, {"type": "blackish"}) == 0.0
    dark = write(tmp_path / "dark", "qt-slider-colours=0;0;0;20;20;20;99;10;10;5;5;5\n")
    assert check_qt_slider_colours(dark, {"type": "blackish"}) == 1.0
    assert check_qt_slider_colours(dark, {"type": "match", "expected_qt_slider_colours": "0;0;0"}) == 0.0
    assert APP_METRICS["check_qt_bgcone"](None, {"expected_qt_bgcone": 1}) == 0.0


def test_vscode_keybindings_and_config(tmp_path):
    binding = {"key": "ctrl+j", "command": "workbench.action.focusActiveEditorGroup", "when": "terminalFocus"}
    keybindings = write(tmp_path / "keybindings.json",
                        "// Place your key bindings here\n" + json.dumps([binding]))
    assert check_json_keybindings(keybindings, {"expected": binding}) == 1.0
    assert check_json_keybindings(keybindings, {"expected": {**binding, "when": "editorFocus"}}) == 0.0
    settings = write(tmp_path / "settings.json", '{"workbench.colorTheme": "Visual Studio Dark", "x": 1}')
    expected = {"expected": '{"workbench.colorTheme": "Visual Studio Dark"}\n'}
    assert compare_config(settings, expected, containment_ok=True) == 1.0
    assert compare_config(settings, expected, containment_ok=False) == 0.0
    assert compare_config(settings, {"expected": '{"workbench.colorTheme": "Default Dark"}'}) == 0.0
    assert compare_config(settings,
                          {"expected": '{"workbench.colorTheme": "Visual Studio Dark", "x": 1}'}) == 1.0
    project = write(tmp_path / "OpenProject.txt", "project")
    assert compare_config(project, {"expected": "project"}) == 1.0
    assert compare_config(project, {"expected": "proj"}) == 0.0                  # exact unless containment_ok
    assert compare_config(project, {"expected": "proj"}, containment_ok=True) == 1.0
    assert compare_config(project, {"expected": ["project"]}) == 0.0


def test_system_checks(tmp_path):
    status = ("   Local time: Thu\n  Universal time: Thu\n  RTC time: Thu\n"
              "   Time zone: Etc/UTC (UTC, +0000)\n")
    assert is_utc_0(status) == 1.0
    assert is_utc_0(status.replace("+0000", "+0100")) == 0.0 and is_utc_0(None) == 0.0
    assert is_in_vm_clickboard({"expected": "/home/user/secret.docx"}, "/home/user/secret.docx\n") == 1.0
    assert is_in_vm_clickboard({"expected": ["a", "b"]}, "a only") == 0.0
    database = tmp_path / "global-messages-db.sqlite"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE messages (id INTEGER, folderID INTEGER)")
        db.execute("INSERT INTO messages VALUES (1, 13)")
    db.close()
    assert run_sqlite3(str(database), {"sql": "SELECT COUNT(*) = 1 FROM messages WHERE folderID = 13"}) == 1.0
    assert run_sqlite3(str(database), {"sql": "SELECT COUNT(*) = 2 FROM messages"}) == 0.0
    assert run_sqlite3(str(database), {"sql": "SELECT nothing FROM nowhere"}) == 0.0
    assert run_sqlite3(write(tmp_path / "not.sqlite", "text"),
                       {"sql": "SELECT COUNT(*) = 0 FROM messages"}) == 0.0


def test_relative_days():
    friday = MONDAY + timedelta(days=4)
    assert relative_day("next Monday", MONDAY).day == 22                        # strictly after today
    assert relative_day("next Friday", MONDAY).day == 19 and relative_day("next Friday", friday).day == 26
    assert relative_day("next week Saturday", friday).day == 27
    assert relative_day("next Sunday", friday, ("next Friday", relative_day("next Friday", friday))).day == 28
    assert relative_day("next Friday split", MONDAY,
                        ("next Monday split", MONDAY + timedelta(days=7))).day == 26
    assert relative_day("10th next month", MONDAY.replace(month=12)).date().isoformat() == "2025-01-10"
    assert relative_day("first monday eight months later", MONDAY).date().isoformat() == "2024-09-02"
    assert relative_day("first monday four months later",
                        MONDAY.replace(month=8)).date().isoformat() == "2024-12-02"
    with pytest.raises(ValueError):
        relative_day("next fortnight", MONDAY)


def test_relative_rules_fill_the_expected_fields():
    rules = {"relativeTime": {"from": "next Monday split", "to": "next Friday split"},
             "timezone": "Europe/Zurich",
             "expected": {"puDay": "{DayD}", "puMonth": "{MonthD}", "puYear": "{Year}", "doDay": "{DayD}",
                          "doMonth": "{MonthD}", "doYear": "{Year}", "city": "Zürich"}}
    filled = relative_rules(rules, MONDAY)
    assert filled["expected"] == {"puDay": "22", "puMonth": "1", "puYear": "2024", "doDay": "26",
                                  "doMonth": "1", "doYear": "2024", "city": "Zürich"}
    assert rules["expected"]["puDay"] == "{DayD}"  # the task's rules are untouched
    single = {"relativeTime": {"from": "5th next month"},
              "expected": {"time": "{DoW}, {Month} {Day0D}, {Year}"}}
    assert relative_rules(single, MONDAY)["expected"]["time"] == "Mon, Feb 05, 2024"
    month = {"relativeTime": {"from": "this month"}, "expected": {"time": "{month}-weather"}}
    assert relative_rules(month, MONDAY)["expected"]["time"] == "january-weather"



def clock(now=None) -> FakeGuest:
    """A VM whose clock reads `now` (an ISO time), or one that does not answer."""
    return FakeGuest(answer=lambda command: GuestError("guest unreachable") if now is None else now + "\n")


def test_relative_time_is_the_vm_clock_in_the_rule_timezone(tmp_path):
    ctx = TaskContext(task_id="clock", cache_dir=tmp_path, step_timeout=5)
    tomorrow = {"relativeTime": {"from": "tomorrow"}, "expected": {"time": "{Year}-{MonthD}-{DayD}"}}
    late_evening = clock("2024-02-04T23:30:00-08:00")                    # already the 5th in Zurich
    assert rule_relative_time(late_evening, ctx, {"rules": tomorrow})["expected"]["time"] == "2024-2-5"
    zurich = {**tomorrow, "timezone": "Europe/Zurich"}
    assert rule_relative_time(late_evening, ctx, {"rules": zurich})["expected"]["time"] == "2024-2-6"
    assert rule_relative_time(late_evening, ctx, {"rules": {**tomorrow, "timezone": "Not/AZone"}})[
        "expected"]["time"] == "2024-2-5"  # unknown zone: the VM's as it is
    host_utc = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    unknown = rule_relative_time(clock(), ctx, {"rules": {**tomorrow, "timezone": "Not/AZone"}})
    # the host, in UTC
    assert unknown["expected"]["time"] == f"{host_utc.year}-{host_utc.month}-{host_utc.day}"


def test_real_relative_time_rules_resolve_every_day_of_the_year():
    getters = [g for _, task in all_tasks() for g in _as_list(task.get("evaluator", {}).get("expected")) if
               isinstance(g, dict) and g.get("type") == "rule_relativeTime"]
    assert len(getters) >= 9
    for day in range(0, 366, 3):
        now = datetime(2025, 1, 1, 12, tzinfo=ZoneInfo("UTC")) + timedelta(days=day)
        for getter in getters:
            expected = relative_rules(getter["rules"], now)["expected"]
            assert not re.search(r"\{\w+\}", json.dumps(expected)), (getter, now)  # every placeholder filled


def _as_list(value):
    return value if isinstance(value, list) else [value]


def home_guest(files, home="/home/user") -> FakeGuest:
    """A VM whose `python -c` expanduser commands answer paths under `home`, serving `files`."""
    def answer(command):
        expanded = command[-1].split("'~")[1].split("'")[0] if "expanduser" in command[-1] else ""
        return home + expanded + "\n" if expanded else ""
    return FakeGuest(files, answer=answer)


def test_vlc_and_vscode_getters(tmp_path, monkeypatch):
    ctx = TaskContext(task_id="t", cache_dir=tmp_path)
    guest = home_guest({"/home/user/.config/vlc/vlcrc": b"qt-bgcone=0\n",
                        "/home/user/OpenProject.txt": b"project"})
    assert open(vlc_config(guest, ctx, {"dest": "vlcrc"})).read() == "qt-bgcone=0\n"
    with pytest.raises(ResultMissing):
        vlc_config(home_guest({}), ctx, {"dest": "vlcrc"})
    monkeypatch.setattr("daemon.evaluation.getters.apps.time.sleep", lambda seconds: None)
    path = vscode_config(guest, ctx, {"vscode_extension_command": "OpenProject",
                                      "path": "/home/user/OpenProject.txt", "dest": "OpenProject.txt"})
    assert open(path).read() == "project"
    assert any("typewrite('OpenProject')" in command[-1] for command in guest.commands)
    assert all(name in GETTERS for name in ("rule_relativeTime", "vlc_config", "vscode_config"))


def test_real_tasks_are_runnable():
    checked = 0
    for name, task, evaluator in tasks_scored_by(*APP_METRICS):
        gaps = [gap for gap in missing_capabilities(task) if evaluator["func"] in gap or "getter" in gap]
        if evaluator["func"] == "check_thunderbird_folder":          # its tasks also need Google Drive files
            gaps = [gap for gap in gaps if "googledrive" not in gap]
        assert gaps == [], (name, gaps)
        checked += 1
    assert checked >= 20
