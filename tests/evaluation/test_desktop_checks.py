"""Live desktop state: VLC's status and window, the accessibility tree, GNOME favourites (metrics/desktop.py),
and the getters that read them (getters/apps.py), against states made here and the rules of the real task
files."""
from __future__ import annotations

import base64
import importlib.util
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.getters import GETTERS, ResultMissing
from daemon.evaluation.getters.apps import most_common_player
from daemon.evaluation.metrics import desktop
from daemon.evaluation.metrics.desktop import (
    check_accessibility_tree,
    check_gnome_favorite_apps,
    is_vlc_fullscreen,
    is_vlc_playing,
)
from daemon.evaluation.metrics.general import check_include_exclude, literal_match
from daemon.guest.client import GuestClient, GuestError

from .builders import HLS, RICK, a11y_tree, metrics_of, pills, status_xml, write
from .fake_guest import FakeGuest
from .osworld_tasks import all_tasks, tasks_scored_by

DESKTOP_METRICS = metrics_of(desktop)

MY_GETTERS = ("vlc_playing_info", "vm_wallpaper", "default_video_player", "content_from_vm_file")


def test_is_vlc_playing(tmp_path):
    playing = write(tmp_path / "a.xml", status_xml("playing", filename=RICK))
    assert is_vlc_playing(playing, {"type": "file_name", "file_name": RICK}) == 1.0
    assert is_vlc_playing(playing, {"type": "file_name", "file_name": "other.mp4"}) == 0.0
    paused = write(tmp_path / "b.xml", status_xml("paused", filename=RICK))
    assert is_vlc_playing(paused, {"type": "file_name", "file_name": RICK}) == 0.0
    by_uri = write(tmp_path / "c.xml", status_xml("playing", uri=f"file:///home/user/Desktop/{RICK}"))
    assert is_vlc_playing(by_uri, {"type": "file_name", "file_name": RICK}) == 1.0
    # a stream shows its file name
    hls = write(tmp_path / "d.xml", status_xml("playing", filename="master.m3u8"))
    assert is_vlc_playing(hls, {"type": "url", "url": HLS}) == 1.0
    assert is_vlc_playing(hls, {"type": "url", "url": "https://example.com/video.m3u8"}) == 0.0
    full = write(tmp_path / "e.xml", status_xml("playing", url=HLS + "?token=1"))
    assert is_vlc_playing(full, {"type": "url", "url": HLS}) == 1.0
    assert is_vlc_playing(full, {"type": "title", "url": HLS}) == 0.0
    assert is_vlc_playing(write(tmp_path / "f.xml", "<root><state>"), {"type": "url", "url": HLS}) == 0.0
    assert is_vlc_playing(None, {"type": "url", "url": HLS}) == 0.0


def test_is_vlc_fullscreen():
    screen = {"width": 1920, "height": 1080}
    assert is_vlc_fullscreen(screen, {"width": 1920, "height": 1080}) == 1.0
    assert is_vlc_fullscreen(screen, {"width": 1280, "height": 720}) == 0.0
    assert is_vlc_fullscreen(screen, None) == 0.0
    assert is_vlc_fullscreen({"error": "no window"}, screen) == 0.0


def real_rules(name_start: str) -> list:
    tasks = [evaluator for name, task, evaluator in tasks_scored_by("check_accessibility_tree")
             if name.startswith(name_start)]
    assert len(tasks) == 1
    return tasks[0]["expected"]["rules"]


def test_accessibility_tree_with_the_real_tasks_selectors_and_xpaths():
    emails = [f"{who}@someuniversity.edu" for who in ("fox", "iron", "nancy", "stella")]
    recipients = real_rules("f5c13cdd")
    assert check_accessibility_tree(a11y_tree(pills(*emails)), recipients) == 1.0
    assert check_accessibility_tree(a11y_tree(pills(*emails[:3])), recipients) == 0.0
    to_elsewhere = pills(*emails).replace('<label name="To"/>', "")
    to_elsewhere = to_elsewhere.replace("<tool-bar", '<tool-bar><label name="To"/></tool-bar><tool-bar')
    before_to = a11y_tree(to_elsewhere)
    assert check_accessibility_tree(before_to, recipients) == 0.0  # the pills must follow the To label
    tabs = real_rules("7b1e1ff9")
    tab_list = '<page-tab-list attr:id="tabmail-tabs"><page-tab name="{}"/></page-tab-list>'
    assert check_accessibility_tree(a11y_tree(tab_list.format("About Profiles")), tabs) == 1.0
    assert check_accessibility_tree(a11y_tree(tab_list.format("Inbox")), tabs) == 0.0
    account = real_rules("15c3b339")
    form = '<entry name="Email address">{}</entry><password-text name="Password"/>'
    assert check_accessibility_tree(a11y_tree(form.format("anonym-x2024@outlook.com")), account) == 1.0
    assert check_accessibility_tree(a11y_tree(form.format("someone@else.com")), account) == 0.0


def test_accessibility_tree_rules():
    tree = a11y_tree('<push-button attr:id="ok" name="OK">Confirm</push-button>',
                     attr_uri="uri:deskat:attributes")
    # the tree's URIs
    assert check_accessibility_tree(tree, [{"selectors": ['push-button[attr|id="ok"]']}]) == 1.0
    assert check_accessibility_tree(tree,
                                    [{"selectors": ["push-button[attr|id=cancel]", "[name=OK]"]}]) == 1.0
    assert check_accessibility_tree(tree, [{"xpath": "//push-button", "text": "Confirm"}]) == 1.0
    assert check_accessibility_tree(tree, [{"xpath": "//push-button", "text": "Confir"}]) == 0.0
    assert check_accessibility_tree(tree, [{"xpath": "//push-button[", "selectors": ["push-button"]}]) == 0.0
    assert check_accessibility_tree(tree, [{"xpath": "count(//push-button)"}]) == 0.0
    assert check_accessibility_tree("<unclosed>", [{"xpath": "//*"}]) == 0.0
    assert check_accessibility_tree(None, [{"xpath": "//*"}]) == 0.0


def test_gnome_favorite_apps():
    rules = {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}
    assert check_gnome_favorite_apps("['thunderbird.desktop', 'google-chrome.desktop']\n", rules) == 1.0
    assert check_gnome_favorite_apps("['thunderbird.desktop', 'vim.desktop', 'google-chrome.desktop']\n",
                                     rules) == 0.0
    assert check_gnome_favorite_apps("['thunderbird.desktop', 'thunderbird.desktop']", rules) == 0.0
    assert check_gnome_favorite_apps("@as []\n", rules) == 0.0
    assert check_gnome_favorite_apps(None, rules) == 0.0


class VlcWebInterface(BaseHTTPRequestHandler):
    """VLC's HTTP interface: status.xml behind basic auth with an empty user."""
    def do_GET(self):
        ok = self.headers.get("Authorization") == "Basic " + base64.b64encode(b":password").decode()
        body = status_xml("playing", filename=RICK).encode() if ok else b"unauthorized"
        self.send_response(200 if ok and self.path == "/requests/status.xml" else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_vlc_playing_info_asks_vlcs_web_interface_from_the_host(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), VlcWebInterface)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx = TaskContext(task_id="t", cache_dir=tmp_path)
    try:
        guest = GuestClient("127.0.0.1", retries=1, vlc_port=server.server_address[1])
        path = GETTERS["vlc_playing_info"](guest, ctx, {"dest": "status.xml"})
        assert is_vlc_playing(path, {"type": "file_name", "file_name": RICK}) == 1.0
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ResultMissing):                         # VLC not running: nothing to score
        GETTERS["vlc_playing_info"](GuestClient("127.0.0.1", retries=1, vlc_port=free_port()), ctx,
                                    {"dest": "status.xml"})


def local_python(bin_dir):
    """Answers `python -c` commands by running them here, with a fake xdg-mime first on PATH."""
    def answer(command):
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
        done = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, timeout=30,
                              env=env)
        return {"output": done.stdout, "error": done.stderr, "returncode": done.returncode}
    return answer


def fake_xdg_mime(tmp_path, script: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "xdg-mime").write_text("#!/bin/sh\n" + script)
    (bin_dir / "xdg-mime").chmod(0o755)
    return bin_dir


def test_default_video_player(tmp_path):
    ctx = TaskContext(task_id="t", cache_dir=tmp_path)
    vlc = fake_xdg_mime(tmp_path, 'case "$3" in video/mp4|video/webm|video/x-matroska) echo vlc.desktop;;\n'
                                  "video/avi) echo totem.desktop;; esac\n")
    player = GETTERS["default_video_player"](FakeGuest(answer=local_python(vlc)), ctx, {})
    assert player == "vlc.desktop\n"  # the raw output line, as OSWorld's getter returns
    assert check_include_exclude(player, {"include": ["vlc.desktop"]}) == 1.0
    totem = fake_xdg_mime(tmp_path,
                          'case "$3" in video/x-ogm+ogg) ;; *) echo org.gnome.Totem.desktop;; esac\n')
    assert check_include_exclude(
        GETTERS["default_video_player"](FakeGuest(answer=local_python(totem)), ctx, {}),
        {"include": ["vlc.desktop"]}) == 0.0
    failing = FakeGuest(answer=local_python(fake_xdg_mime(tmp_path, "exit 1\n")))
    assert GETTERS["default_video_player"](failing, ctx, {}) == "unknown"
    # OSWorld's list names x-ogm+ogg once and every other type twice: an earlier single vote loses
    assert most_common_player({"x-ogm+ogg": "a.desktop\n", "x-theora": "b.desktop\n"}) == "b.desktop\n"
    assert most_common_player({"3gp": "a.desktop\n", "x-theora": "b.desktop\n"}) == "a.desktop\n"


def test_vm_wallpaper_and_content_from_vm_file(tmp_path):
    ctx = TaskContext(task_id="t", cache_dir=tmp_path)
    path = GETTERS["vm_wallpaper"](FakeGuest(wallpaper=b"\x89PNG..."), ctx, {"dest": "background.png"})
    assert open(path, "rb").read() == b"\x89PNG..."
    with pytest.raises(GuestError, match="HTTP 500"):                        # scored 0.0 by evaluate
        GETTERS["vm_wallpaper"](FakeGuest(), ctx, {"dest": "background.png"})
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["Name", "Citations", "Title"], ["Geoffrey Hinton", 900000, "Backprop"],
                ["Yann LeCun", 345074, "Deep learning"]):
        book.active.append(row)
    book.save(tmp_path / "made.xlsx")
    config = {"path": "/home/user/Desktop/researchers.xlsx", "file_type": "xlsx", "file_content": "last_row"}
    guest = FakeGuest(files={config["path"]: (tmp_path / "made.xlsx").read_bytes()})
    last = GETTERS["content_from_vm_file"](guest, ctx, config)
    assert last == ["Yann LeCun", "345074", "Deep learning"]
    assert literal_match(last, ["yann lecun", "345074", "Deep Learning"], ignore_case=True,
                         type="list") == 1.0
    assert literal_match(last, ["Geoffrey Hinton", "900000", "Backprop"], type="list") == 0.0
    assert GETTERS["content_from_vm_file"](FakeGuest(files={config["path"]: b"not a workbook"}), ctx,
                                           config) is None
    with pytest.raises(ResultMissing):
        GETTERS["content_from_vm_file"](FakeGuest(), ctx, config)


def _uses_mine(task: dict) -> bool:
    evaluator = task.get("evaluator", {})
    funcs = evaluator.get("func") if isinstance(evaluator.get("func"), list) else [evaluator.get("func")]
    getters = [g for key in ("result", "expected") for g in
               (evaluator.get(key) if isinstance(evaluator.get(key), list) else [evaluator.get(key)])]
    return any(func in DESKTOP_METRICS for func in funcs) or \
        any(isinstance(g, dict) and g.get("type") in MY_GETTERS for g in getters)


def test_real_tasks_are_runnable_or_refused_for_a_named_piece():
    checked = 0
    for name, task in all_tasks():
        if not _uses_mine(task):
            continue
        gaps = missing_capabilities(task)
        if name.startswith("5990457f"):               # its expected side reads a live web page
            assert gaps == ["getter 'info_from_website' (not implemented)"]
        else:
            assert gaps == [], (name, gaps)
        checked += 1
    assert checked >= 11


def test_options_we_do_not_implement_are_refused():
    task = {"config": [], "evaluator": {"func": "check_accessibility_tree",
                                        "result": {"type": "accessibility_tree"},
                                        "expected": {"type": "rule", "rules": [{"xpath": "//a", "text": "x",
                                                                                "exact": False}]}}}
    assert missing_capabilities(task) == ["metric 'check_accessibility_tree' rule 'exact' (not implemented)"]
    task = {"config": [], "evaluator": {"func": "literal_match", "expected": {"type": "rule", "rules": {}},
                                        "result": {"type": "content_from_vm_file", "path": "/a.csv",
                                                   "file_type": "csv", "file_content": "last_row"}}}
    assert missing_capabilities(task) == ["getter 'content_from_vm_file' file_type 'csv' with file_content "
                                          "'last_row' (not implemented)"]


def test_accessibility_tree_is_refused_without_cssselect(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "cssselect" else real_find_spec(name))
    task = {"config": [], "evaluator": {"func": "check_accessibility_tree",
                                        "result": {"type": "accessibility_tree"},
                                        "expected": {"type": "rule", "rules": [{"xpath": "//a"}]}}}
    assert missing_capabilities(task) == ["metric 'check_accessibility_tree' (needs lxml and cssselect, "
                                          "in the docs extra: pip install '.[docs]')"]
