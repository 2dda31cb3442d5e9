"""Application configuration checks (Thunderbird, VLC, VS Code, the system), from OSWorld's metrics of the
same names (`thunderbird.py`, `vlc.py`, `vscode.py`, `basic_os.py`, `general.run_sqlite3`).

Followed as OSWorld reads the files: Thunderbird's prefs.js (`user_pref("key", json);`, {method, ref} rules)
and msgFilterRules.dat (filters as records, conditions as OSWorld's pattern finds them), mbox folders compared
message set against message set; VLC's vlcrc (the last line naming a setting wins, commented defaults
included, with OSWorld's default when absent); VS Code keybindings.json (a keybinding in the list) and
compare_config (the file's text equal to the expected text, as every OSWorld release compares it; with
upstream's newer `containment_ok`, which a real task turns on: the expected JSON a subset of the file's, or
its text within the file when either side is not JSON); timedatectl's "Time zone" line at UTC+0; the clipboard
holding the expected text; a SQL query's first value on a sqlite file.
Refused (ValueError): check_qt_slider_colours rule types other than `match` and `blackish`.
Unreadable or missing files score 0.0.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from pathlib import Path

from ..errors import MalformedTask
from ..formats.text import readable_text
from ..host_policy import PolicyError
from ..registry import metric
from .matching import value_matches

PREF_LINE = re.compile(r'^user_pref\("(?P<key>(?:[^"]|\\")+)", (?P<val>.+)\);$')
# One condition of a Thunderbird filter: "AND (subject,contains,discount)", or ALL.
FILTER_CONDITION = re.compile(r'\b(?:AND|OR) \((?:[\w ]+),(?:[\w \']+),'
                              r'(?:"(?:(?:[^"]|\")+)"|(?:[^)]+))\)|\bALL\b')
FILTER_FIELDS = ("name", "enabled", "type", "action", "actionValue", "condition")
BLACKISH_BELOW = 100


# --- Thunderbird --------------------------------------------------------------------------------------------
def thunderbird_prefs(text: str) -> dict:
    """prefs.js as {key: value}; a later line for the same key wins, as when OSWorld reads the file in
    order."""
    prefs = {}
    for line in text.splitlines():
        match = PREF_LINE.match(line.strip())
        if match:
            try:
                prefs[match["key"]] = json.loads(match["val"])
            except ValueError:
                continue
    return prefs


@metric(rule_keys={"expect", "unexpect"})
def check_thunderbird_prefs(result: str | None, rules: dict, **options) -> float:
    """Every `expect` pref exists and matches its rule; no `unexpect` pref (that is not also expected)
    matches."""
    text = readable_text(result)
    if text is None:
        return 0.0
    prefs = thunderbird_prefs(text)
    expect, unexpect = rules.get("expect", {}), rules.get("unexpect", {})
    try:
        found = all(key in prefs and value_matches(prefs[key], rule) for key, rule in expect.items())
        clean = not any(key in prefs and key not in expect and value_matches(prefs[key], rule)
                        for key, rule in unexpect.items())
    except (TypeError, re.error):
        return 0.0
    return float(found and clean)


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\\\", "\\")


def thunderbird_filters(text: str) -> list[dict]:
    """msgFilterRules.dat as records; a filter starts at its `name=` line and is complete at its
    `condition=`."""
    filters, current = [], {}
    for line in io.StringIO(text):                   # lines split at "\n" only, as a file read in text mode
        key = line.partition("=")[0]
        if key not in FILTER_FIELDS or "=" not in line:
            continue
        value = _unescape(line[len(key) + 2:-2])       # drop `key="` and `"\n`, exactly as OSWorld slices
        if key == "name":
            current = {}
        current[key] = FILTER_CONDITION.findall(value) if key == "condition" else value
        if key == "condition":
            filters.append(current)
    return filters


def _filter_matches(pattern: dict, record: dict) -> bool:
    return all(key in record and record[key] == value for key, value in pattern.items())


@metric(rule_keys={"expect", "unexpect"})
def check_thunderbird_filter(result: str | None, rules: dict, **options) -> float:
    """Each `expect` pattern matches some filter; no `unexpect` pattern matches any."""
    text = readable_text(result)
    if text is None:
        return 0.0
    filters = thunderbird_filters(text)
    found = all(any(_filter_matches(pattern, f) for f in filters) for pattern in rules.get("expect", []))
    clean = not any(_filter_matches(pattern, f) for pattern in rules.get("unexpect", []) for f in filters)
    return float(found and clean)


def _folder_messages(text: str, ignore_status=False, ignore_keys=False, remove_deleted=True,
                     remove_duplicate=True, **options) -> str:
    messages = []
    for mail in text.strip().split("FROM - "):
        if not mail.strip() or (remove_deleted and re.search(r"X-Mozilla-Status: 000[89]", mail)):
            continue
        if ignore_status:
            mail = re.sub(r"X-Mozilla-Status\d?:[\s\d]+", "", mail)
        if ignore_keys:
            mail = re.sub(r"(X-Mozilla-Keys:[^\n]*?)\n(MIME-Version)", r"\2", mail)
        messages.append("FROM - " + mail.strip())
    return "\n".join(sorted(set(messages) if remove_duplicate else messages))


@metric(options={"ignore_status", "ignore_keys", "remove_deleted", "remove_duplicate"})
def check_thunderbird_folder(result, expected, **options) -> float:
    """Each folder file holds the same messages as its reference (lists are compared pairwise)."""
    pairs = zip(result, expected) if isinstance(expected, list) else [(result, expected)]
    for ours, theirs in pairs:
        ours_text, theirs_text = readable_text(ours), readable_text(theirs)
        if ours_text is None or theirs_text is None:
            return 0.0
        if _folder_messages(ours_text, **options) != _folder_messages(theirs_text, **options):
            return 0.0
    return 1.0


# --- VLC ----------------------------------------------------------------------------------------------------
def vlcrc_value(text: str, marker: str, default: str) -> str:
    """The value on the last line containing `marker`; vlcrc keeps defaults as `#key=value`, which count
    too."""
    value = default
    for line in text.split("\n"):
        if marker in line:
            value = line.split("=")[-1].strip()
    return value


def _as_text(value) -> str:
    return str(value) if isinstance(value, int) else value


def vlc_setting(marker: str, rule_key: str, default: str):
    """A metric: the vlcrc setting (`marker` ends with `=`) equals the rule's value (a number compares as
    text)."""
    def metric(result: str | None, rules: dict, **options) -> float:
        text = readable_text(result)
        return 0.0 if text is None else float(vlcrc_value(text, marker, default) == _as_text(rules[rule_key]))
    return metric


@metric(rule_keys={"expected_global_key_play_pause"})
def check_global_key_play_pause(result: str | None, rules: dict, **options) -> float:
    """The global play/pause hotkey is set ("1") or empty ("0")."""
    text = readable_text(result)
    if text is None:
        return 0.0
    state = "0" if vlcrc_value(text, "global-key-play-pause=", "") == "" else "1"
    return float(state == _as_text(rules["expected_global_key_play_pause"]))


@metric(rule_keys={"type", "expected_qt_slider_colours"})
def check_qt_slider_colours(result: str | None, rules: dict, **options) -> float:
    """`match`: the colour string equals the expected one; `blackish`: every RGB channel is below 100."""
    text = readable_text(result)
    if text is None:
        return 0.0
    colours = vlcrc_value(text, "qt-slider-colours", "153;210;153;20;210;20;255;199;15;245;39;29")
    if rules["type"] == "match":
        return float(colours == rules["expected_qt_slider_colours"])
    if rules["type"] != "blackish":
        raise MalformedTask(f"check_qt_slider_colours: rule type {rules['type']!r} is not implemented")
    try:
        channels = [int(part) for part in colours.split(";")]
    except ValueError:
        return 0.0
    triples = zip(channels[0::3], channels[1::3], channels[2::3])
    return float(all(all(channel < BLACKISH_BELOW for channel in rgb) for rgb in triples))


@metric(rule_keys={"recording_file_path"})
def is_vlc_recordings_folder(result: str | None, rules: dict, **options) -> float:
    """The first uncommented line naming input-record-path holds the expected folder."""
    text = readable_text(result)
    if text is None:
        return 0.0
    for line in text.split("\n"):
        if line.startswith("#") or not line.strip():
            continue
        if "input-record-path" in line:
            return float(line.split("=")[-1].strip() == rules["recording_file_path"])
    return 0.0


# --- VS Code ------------------------------------------------------------------------------------------------
def _json_list(text: str):
    """keybindings.json as a list: parsed whole, or without its first line (VS Code writes a comment
    there)."""
    for candidate in (text, text.partition("\n")[2]):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, list):
            return data
    return None


@metric(rule_keys={"expected"})
def check_json_keybindings(result: str | None, rules: dict, **options) -> float:
    text = readable_text(result)
    bindings = None if text is None else _json_list(text)
    return float(bindings is not None and rules["expected"] in bindings)


def _is_subset(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(key in actual and _is_subset(value, actual[key])
                                                for key, value in expected.items())
    return expected == actual


@metric(options={"containment_ok"}, rule_keys={"expected"})
def compare_config(result: str | None, rules: dict, containment_ok: bool = False, **options) -> float:
    expected = rules.get("expected")
    text = readable_text(result)
    if not isinstance(expected, str) or not expected or text is None:
        return 0.0
    if not containment_ok:
        return float(text == expected)
    try:
        return float(_is_subset(json.loads(expected), json.loads(text)))
    except ValueError:
        return float(expected.strip() in text)


# --- System -------------------------------------------------------------------------------------------------
@metric()
def is_utc_0(result: str | None, *args, **options) -> float:
    """`timedatectl status`: its fourth line (Time zone) ends with "+0000)"."""
    lines = (result or "").split("\n")
    return float(len(lines) > 3 and lines[3].endswith("+0000)"))


@metric()
def is_in_vm_clickboard(rules: dict, clipboard: str | None, **options) -> float:
    """The clipboard (the expected side, here) holds the rule's text, or every text of its list."""
    if clipboard is None:
        return 0.0
    wanted = rules["expected"]
    return float(all(item in clipboard for item in (wanted if isinstance(wanted, list) else [wanted])))


@metric(rule_keys={"sql"})
def run_sqlite3(result: str | None, rules: dict, **options) -> float:
    """The first column of the query's first row, as a number (no row or NULL: 0). SQL attaching a database
    (ATTACH, VACUUM INTO: a file at any host path, whatever mode=ro says of the main one) is refused by
    policy."""
    if result is None or not Path(result).is_file():
        return 0.0
    attaching = []

    def authorize(action: int, *args) -> int:
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            attaching.append(action)
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    try:
        with contextlib.closing(sqlite3.connect(Path(result).resolve().as_uri() + "?mode=ro",
                                                uri=True)) as db:
            db.set_authorizer(authorize)
            row = db.execute(rules["sql"]).fetchone()
    except sqlite3.Error:
        if attaching:
            raise PolicyError("run_sqlite3's sql attaches a database (a file on the host)") from None
        return 0.0
    return float(row[0] or 0) if row else 0.0


VLC_SETTINGS = {  # metric -> (vlcrc marker, rule key, VLC's default when the file does not name the setting)
    "check_qt_bgcone": ("qt-bgcone=", "expected_qt_bgcone", "1"),
    "check_qt_max_volume": ("qt-max-volume=", "expected_qt_max_volume", "125"),
    "check_qt_minimal_view": ("qt-minimal-view=", "expected_qt_minimal_view", "0"),
    "check_one_instance_when_started_from_file": ("one-instance-when-started-from-file=",
                                                  "expected_one_instance_when_started_from_file", "1"),
    "check_play_and_exit": ("play-and-exit=", "expected_play_and_exit", "0"),
}

for _name, (_marker, _rule_key, _default) in VLC_SETTINGS.items():
    metric(_name, rule_keys={_rule_key})(vlc_setting(_marker, _rule_key, _default))
