"""Inputs for the Thunderbird, VLC, VS Code, system and desktop metrics: the fixtures of tests/evaluation/
test_apps.py and test_desktop_checks.py (shared builders)."""
from __future__ import annotations

import json
import sqlite3

from tests.evaluation.builders import FILTERS, HLS, RICK, VLCRC, a11y_tree, pills, status_xml

from .cases_text import text, values, with_files

PREFS = {"prefs": text("prefs.js", '// comment\nuser_pref("mail.imap.use_status_for_biff", false);\n'
                       'user_pref("mail.identity.id1.htmlSigText", "Anonym\\nXYZ Lab");\n'
                       'user_pref("extensions.activeThemeID", "thunderbird-compact-dark@mozilla.org");\n')}
BIFF = {"mail.imap.use_status_for_biff": {"method": "eq", "ref": False}}
PROMOTIONS = {"enabled": "yes", "action": "Move to folder",
              "actionValue": "mailbox://nobody@Local%20Folders/Promotions",
              "condition": ["AND (subject,contains,discount)", 'AND (from,is,"shop")']}
FORWARD = {"action": "Forward", "actionValue": "anonym-x2024@gmail.com", "condition": ["ALL"]}
MBOXES = {"gold": text("gold",
                       "FROM - a\nX-Mozilla-Status: 0001\nhello\nFROM - b\nX-Mozilla-Status: 0000\nbye\n"),
          "ours": text("ours",
                       "FROM - b\nX-Mozilla-Status: 0000\nbye\nFROM - a\nX-Mozilla-Status: 0001\nhello\n"
                       "FROM - gone\nX-Mozilla-Status: 0009\nold\nFROM - b\nX-Mozilla-Status: 0000\nbye\n"),
          "read": text("read",
                       "FROM - a\nX-Mozilla-Status: 0000\nhello\nFROM - b\nX-Mozilla-Status: 0000\nbye\n")}

THUNDERBIRD = [
    with_files("check_thunderbird_prefs", "expect", PREFS, ["prefs", {"expect": {
        **BIFF, "mail.identity.id1.htmlSigText": {"method": "re.S", "ref": "Anonym\\nXYZ Lab"},
        "extensions.activeThemeID": {"method": "re", "ref": "dark"}}}]),
    with_files("check_thunderbird_prefs", "absent", PREFS, ["prefs", {"expect": {
        "mail.server.default.applyIncomingFilters": {"method": "eq", "ref": True}}}]),
    with_files("check_thunderbird_prefs", "unexpect-hit", PREFS, ["prefs", {"unexpect": BIFF}]),
    with_files("check_thunderbird_prefs", "unexpect-miss", PREFS, ["prefs", {"unexpect": {
        "mail.imap.use_status_for_biff": {"method": "eq", "ref": True}}}]),
    with_files("check_thunderbird_prefs", "none", PREFS, [None, {"expect": {}}]),
    *[with_files("check_thunderbird_filter", label, {"rules": text("msgFilterRules.dat", FILTERS)}, ["rules",
                                                                                                     rules])
      for label, rules in (("promotions", {"expect": [PROMOTIONS]}),
                           ("one-condition", {"expect": [{**PROMOTIONS,
                                                          "condition": PROMOTIONS["condition"][:1]}]}),
                           ("disabled", {"expect": [{**FORWARD, "enabled": "no"}]}),
                           ("enabled", {"expect": [{**FORWARD, "enabled": "yes"}]}),
                           ("unexpect", {"unexpect": [{"action": "Forward"}]}))],
    with_files("check_thunderbird_folder", "reordered", MBOXES, ["ours", "gold"]),
    with_files("check_thunderbird_folder", "keep-duplicates", MBOXES, ["ours", "gold"],
               remove_duplicate=False),
    with_files("check_thunderbird_folder", "read", MBOXES, ["read", "gold"]),
    with_files("check_thunderbird_folder", "ignore-status", MBOXES, ["read", "gold"], ignore_status=True),
    with_files("check_thunderbird_folder", "several", MBOXES, [["ours", "read"], ["gold", "gold"]]),
]

VLC = {"vlcrc": text("vlcrc", VLCRC), "keys": text("k", "global-key-play-pause=Space\n"),
       "dark": text("dark", "qt-slider-colours=0;0;0;20;20;20;99;10;10;5;5;5\n")}
VLC_SETTINGS = [
    with_files("check_qt_bgcone", "commented", VLC, ["vlcrc", {"expected_qt_bgcone": 1}]),
    with_files("check_qt_bgcone", "off", VLC, ["vlcrc", {"expected_qt_bgcone": 0}]),
    with_files("check_qt_max_volume", "200", VLC, ["vlcrc", {"expected_qt_max_volume": 200}]),
    with_files("check_qt_minimal_view", "absent", VLC, ["vlcrc", {"expected_qt_minimal_view": 1}]),
    with_files("check_one_instance_when_started_from_file", "absent", VLC,
               ["vlcrc", {"expected_one_instance_when_started_from_file": 0}]),
    with_files("check_global_key_play_pause", "empty", VLC, ["vlcrc", {"expected_global_key_play_pause": 0}]),
    with_files("check_global_key_play_pause", "space", VLC, ["keys", {"expected_global_key_play_pause": 1}]),
    with_files("is_vlc_recordings_folder", "desktop", VLC, ["vlcrc",
                                                            {"recording_file_path": "/home/user/Desktop"}]),
    with_files("is_vlc_recordings_folder", "videos", VLC, ["vlcrc",
                                                           {"recording_file_path": "/home/user/Videos"}]),
    with_files("check_qt_slider_colours", "default", VLC, ["vlcrc", {"type": "blackish"}]),
    with_files("check_qt_slider_colours", "blackish", VLC, ["dark", {"type": "blackish"}]),
    with_files("check_qt_slider_colours", "match", VLC, ["dark", {"type": "match",
                                                                  "expected_qt_slider_colours": "0;0;0"}]),
    with_files("check_qt_bgcone", "none", VLC, [None, {"expected_qt_bgcone": 1}]),
]

BINDING = {"key": "ctrl+j", "command": "workbench.action.focusActiveEditorGroup", "when": "terminalFocus"}
VSCODE = {"keys": text("keybindings.json", "// Place your key bindings here\n" + json.dumps([BINDING])),
          "settings": text("settings.json", '{"workbench.colorTheme": "Visual Studio Dark", "x": 1}'),
          "project": text("OpenProject.txt", "project")}
DARK = {"expected": '{"workbench.colorTheme": "Visual Studio Dark"}\n'}
VSCODE_CASES = [
    with_files("check_json_keybindings", "same", VSCODE, ["keys", {"expected": BINDING}]),
    with_files("check_json_keybindings", "when", VSCODE, ["keys", {"expected": {**BINDING,
                                                                                "when": "editorFocus"}}]),
    with_files("compare_config", "contained", VSCODE, ["settings", DARK], containment_ok=True),
    with_files("compare_config", "not-contained", VSCODE, ["settings", DARK], containment_ok=False),
    with_files("compare_config", "other", VSCODE, ["settings",
                                                   {"expected": '{"workbench.colorTheme": "Default Dark"}'}]),
    with_files("compare_config", "whole", VSCODE,
               ["settings", {"expected": '{"workbench.colorTheme": "Visual Studio Dark", "x": 1}'}]),
    with_files("compare_config", "project", VSCODE, ["project", {"expected": "project"}]),
    with_files("compare_config", "prefix", VSCODE, ["project", {"expected": "proj"}]),
    with_files("compare_config", "prefix-contained", VSCODE, ["project", {"expected": "proj"}],
               containment_ok=True),
]

STATUS = "   Local time: Thu\n  Universal time: Thu\n  RTC time: Thu\n   Time zone: Etc/UTC (UTC, +0000)\n"


def database(tmp):
    path = tmp / "global-messages-db.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE messages (id INTEGER, folderID INTEGER)")
        db.execute("INSERT INTO messages VALUES (1, 13)")
    db.close()
    return str(path)


SQL = {"db": database, "text": text("not.sqlite", "text")}
SYSTEM = [
    values("is_utc_0", "utc", STATUS),
    values("is_utc_0", "plus-one", STATUS.replace("+0000", "+0100")),
    values("is_in_vm_clickboard", "path", {"expected": "/home/user/secret.docx"}, "/home/user/secret.docx\n"),
    values("is_in_vm_clickboard", "list", {"expected": ["a", "b"]}, "a only"),
    with_files("run_sqlite3", "true", SQL,
               ["db", {"sql": "SELECT COUNT(*) = 1 FROM messages WHERE folderID = 13"}]),
    with_files("run_sqlite3", "false", SQL, ["db", {"sql": "SELECT COUNT(*) = 2 FROM messages"}]),
]


def status(name: str, state: str, **meta):
    return text(name, status_xml(state, **meta))


PLAYING = {"a": status("a.xml", "playing", filename=RICK), "b": status("b.xml", "paused", filename=RICK),
           "c": status("c.xml", "playing", uri=f"file:///home/user/Desktop/{RICK}"),
           "d": status("d.xml", "playing", filename="master.m3u8"), "e": status("e.xml", "playing",
                                                                                url=HLS + "?t=1"),
           "f": text("f.xml", "<root><state>")}
BY_NAME, BY_URL = {"type": "file_name", "file_name": RICK}, {"type": "url", "url": HLS}
SCREEN = {"width": 1920, "height": 1080}
EMAILS = [f"{who}@someuniversity.edu" for who in ("fox", "iron", "nancy", "stella")]
TREE = a11y_tree('<push-button attr:id="ok" name="OK">Confirm</push-button>',
                 attr_uri="uri:deskat:attributes")
FAVOURITES = {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}
DESKTOP = [
    with_files("is_vlc_playing", "file", PLAYING, ["a", BY_NAME]),
    with_files("is_vlc_playing", "other-file", PLAYING, ["a", {"type": "file_name",
                                                               "file_name": "other.mp4"}]),
    with_files("is_vlc_playing", "paused", PLAYING, ["b", BY_NAME]),
    with_files("is_vlc_playing", "by-uri", PLAYING, ["c", BY_NAME]),
    with_files("is_vlc_playing", "stream", PLAYING, ["d", BY_URL]),
    with_files("is_vlc_playing", "other-stream", PLAYING, ["d", {"type": "url",
                                                                 "url": "https://example.com/v.m3u8"}]),
    with_files("is_vlc_playing", "url", PLAYING, ["e", BY_URL]),
    values("is_vlc_fullscreen", "full", SCREEN, {"width": 1920, "height": 1080}),
    values("is_vlc_fullscreen", "smaller", SCREEN, {"width": 1280, "height": 720}),
    values("check_accessibility_tree", "pills", a11y_tree(pills(*EMAILS)), [
        {"selectors": [f'tool-bar[attr|id=MsgHeadersToolbar] label[name=To]~[attr|class="address-pill"]>'
                       f'label[attr|class="pill-label"][name*="{email}"]']} for email in EMAILS]),
    values("check_accessibility_tree", "selector", TREE, [{"selectors": ['push-button[attr|id="ok"]']}]),
    values("check_accessibility_tree", "selectors", TREE, [{"selectors": ["push-button[attr|id=cancel]",
                                                                          "[name=OK]"]}]),
    values("check_accessibility_tree", "text", TREE, [{"xpath": "//push-button", "text": "Confirm"}]),
    values("check_accessibility_tree", "text-prefix", TREE, [{"xpath": "//push-button", "text": "Confir"}]),
    values("check_gnome_favorite_apps", "same", "['thunderbird.desktop', 'google-chrome.desktop']\n",
           FAVOURITES),
    values("check_gnome_favorite_apps", "extra",
           "['thunderbird.desktop', 'vim.desktop', 'google-chrome.desktop']\n",
           FAVOURITES),
    values("check_gnome_favorite_apps", "twice", "['thunderbird.desktop', 'thunderbird.desktop']",
           FAVOURITES),
    values("check_gnome_favorite_apps", "empty", "@as []\n", FAVOURITES),
]

def real_a11y_rules(task: str) -> list:
    """The rules of the real accessibility-tree task whose file name starts with `task` ([] without the
    files)."""
    from tests.evaluation.osworld_tasks import TASKS
    paths = sorted(TASKS.rglob(f"{task}*.json")) if TASKS.is_dir() else []
    return json.loads(paths[0].read_text())["evaluator"]["expected"]["rules"] if paths else []


TAB_LIST = '<page-tab-list attr:id="tabmail-tabs"><page-tab name="{}"/></page-tab-list>'
FORM = '<entry name="Email address">{}</entry><password-text name="Password"/>'
TO_ELSEWHERE = pills(*EMAILS).replace('<label name="To"/>', "").replace(
    "<tool-bar", '<tool-bar><label name="To"/></tool-bar><tool-bar')
MORE_DESKTOP = [
    values("check_accessibility_tree", "real-pills", a11y_tree(pills(*EMAILS)), real_a11y_rules("f5c13cdd")),
    values("check_accessibility_tree", "real-pills-missing", a11y_tree(pills(*EMAILS[:3])),
           real_a11y_rules("f5c13cdd")),
    values("check_accessibility_tree", "real-pills-before-to", a11y_tree(TO_ELSEWHERE),
           real_a11y_rules("f5c13cdd")),
    values("check_accessibility_tree", "real-tab", a11y_tree(TAB_LIST.format("About Profiles")),
           real_a11y_rules("7b1e1ff9")),
    values("check_accessibility_tree", "real-other-tab", a11y_tree(TAB_LIST.format("Inbox")),
           real_a11y_rules("7b1e1ff9")),
    values("check_accessibility_tree", "real-account", a11y_tree(FORM.format("anonym-x2024@outlook.com")),
           real_a11y_rules("15c3b339")),
    values("check_accessibility_tree", "real-other-account", a11y_tree(FORM.format("someone@else.com")),
           real_a11y_rules("15c3b339")),
    with_files("is_vlc_playing", "url-as-title", PLAYING, ["e", {"type": "title", "url": HLS}]),
    with_files("is_vlc_playing", "broken", PLAYING, ["f", BY_URL]),
    values("is_vlc_fullscreen", "no-rule", SCREEN, None),
    values("is_vlc_fullscreen", "no-window", {"error": "no window"}, SCREEN),
    values("literal_match", "list-case", ["A", "b"], ["a", "b"], type="list"),
]

CASES = THUNDERBIRD + VLC_SETTINGS + VSCODE_CASES + SYSTEM + DESKTOP + MORE_DESKTOP
