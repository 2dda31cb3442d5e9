"""The simulated guest answers as OSWorld's real server does (osworld-protocol.md §6; the table in
daemon/simulator/README.md names the test holding each behaviour)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from daemon.actions import GUEST_CODE_PREFIX, compile_prediction
from daemon.guest.client import GuestError
from daemon.simulator import provision, scenario, set_latency, stop_all
from tests.support import fresh_ip_base

from .test_simulator import ip_of, running_guest

LIMIT = 1.0                 # the simulated /execute and open_file limits in these tests (real: 120 s, 1800 s)
HELD = "import subprocess; subprocess.run(['xclip', '-selection', 'clipboard'], input=b'x'); "


@pytest.fixture
def vm(tmp_path):
    """One running simulated VM: (home, guest, raw) where raw(method, path, body, content type) ->
    (status, text)."""
    home = tmp_path / "sim"
    ip_base = fresh_ip_base()
    (vmx,) = provision(home, 1, "fast", ip_base)
    set_latency(home, execute_limit=LIMIT, open_file_limit=LIMIT)
    guest = running_guest(home, str(vmx), ip_of(ip_base, 0))

    def raw(method: str, path: str, body: bytes | None = None, kind: str = "application/json"):
        request = urllib.request.Request(f"{guest.base}{path}", data=body, method=method)
        request.add_header("Content-Type", kind)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
    yield home, guest, raw
    stop_all(home)


def post_json(raw, path: str, payload: dict):
    return raw("POST", path, json.dumps(payload).encode())


def test_realistic_latencies_are_the_measured_ones_and_accessibility_waits_its_own(vm):
    home, _, raw = vm
    realistic = scenario.PRESETS["realistic"]                                # §6's medians
    assert 0.034 <= realistic["screenshot"] <= 0.044 and 0.25 <= realistic["accessibility"] <= 0.36
    set_latency(home, accessibility=LIMIT)

    def busy() -> float:
        return json.loads(raw("GET", "/sim/stats")[1])["busy_seconds"]
    before = busy()
    assert raw("GET", "/accessibility")[0] == 200
    assert busy() - before >= LIMIT                                          # the guest slept the latency


def test_a_clipboard_tool_holding_the_servers_pipes_hangs_execute_until_its_limit(vm):
    _, guest, raw = vm
    guest.upload("/home/user/notes.txt", b"")
    guest.open_file("/home/user/notes.txt", timeout=10)
    status, text = post_json(raw, "/execute", {"command": ["python", "-c", GUEST_CODE_PREFIX + HELD
                                                           + "pyautogui.hotkey('ctrl', 'v')"]})
    assert status == 500 and json.loads(text)["status"] == "error"
    assert f"timed out after {LIMIT:g} seconds" in json.loads(text)["message"]
    with pytest.raises(GuestError, match="HTTP 500"):
        guest.execute(["xclip", "-selection", "clipboard"])               # run directly: the same
    for code in compile_prediction("Action: type(content='é')").code:     # DEVNULL: answered at once
        assert guest.execute(["python", "-c", GUEST_CODE_PREFIX + code])["returncode"] == 0
    guest.execute(["python", "-c", GUEST_CODE_PREFIX + "pyautogui.hotkey('ctrl', 's')"])
    assert guest.get_file("/home/user/notes.txt") == "xé".encode()      # the held paste still happened
    assert guest.execute("xclip -selection clipboard -o", shell=True)["output"] == "é"


def test_a_program_whose_waits_outlast_the_limit_is_500_after_it_and_its_later_statements_do_not_run(vm):
    _, guest, raw = vm
    guest.upload("/home/user/notes.txt", b"")
    guest.open_file("/home/user/notes.txt", timeout=10)
    typing = f"pyautogui.write('ab', interval={LIMIT * 0.4}); "                 # 0.8 x the limit: answered
    assert guest.execute(["python", "-c", GUEST_CODE_PREFIX + typing])["returncode"] == 0
    moves = f"time.sleep({LIMIT * 0.6}); pyautogui.moveTo(5, 5, {LIMIT * 0.6}); "
    for program in [typing + typing, moves]:                                     # 1.6 and 1.2 x the limit
        program += "pyautogui.write('c')"
        status, text = post_json(raw, "/execute", {"command": ["python", "-c", GUEST_CODE_PREFIX + program]})
        assert status == 500 and f"timed out after {LIMIT:g} seconds" in json.loads(text)["message"]
    status, text = post_json(raw, "/execute", {"command": f"sleep {LIMIT * 2} && echo late", "shell": True})
    assert status == 500 and f"timed out after {LIMIT:g} seconds" in json.loads(text)["message"]
    guest.execute(["python", "-c", GUEST_CODE_PREFIX + "pyautogui.hotkey('ctrl', 's')"])
    assert guest.get_file("/home/user/notes.txt") == b"ababab"                   # no "c": killed before it


def test_list_directory_of_a_missing_folder_is_400_and_tilde_is_not_expanded(vm):
    _, guest, raw = vm
    assert post_json(raw, "/list_directory", {"path": "/home/user/nope"}) == \
        (400, json.dumps({"error": "The provided path is not a directory"}))
    assert post_json(raw, "/list_directory", {"path": "~/Desktop"})[0] == 400
    assert post_json(raw, "/list_directory", {"path": "/home/user/Desktop"})[0] == 200
    assert guest.list_directory("/home/user/nope") is None and guest.list_directory("~/Desktop") is None
    assert guest.list_directory("/home/user")["name"] == "user"


def test_wallpaper_whose_file_is_gone_is_500(vm):
    _, guest, raw = vm
    guest.upload("/home/user/sky.png", b"\x89PNG sky")
    guest.change_wallpaper("/home/user/sky.png")
    guest.execute(["rm", "/home/user/sky.png"])
    status, text = raw("POST", "/wallpaper")
    assert status == 500 and "Internal Server Error" in text
    assert post_json(raw, "/setup/change_wallpaper", {"path": "/home/user/none.png"}) == \
        (404, "File not found: /home/user/none.png")


def test_upload_answers_the_byte_count_and_terminal_a_status(vm):
    _, guest, raw = vm
    body = (b'--b\r\nContent-Disposition: form-data; name="file_path"\r\n\r\n/tmp/a.bin\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file_data"; filename="a"\r\n\r\n'
            b'12345\r\n--b--\r\n')
    assert raw("POST", "/setup/upload", body, "multipart/form-data; boundary=b") == \
        (200, "File Uploaded: 5 bytes")
    status, text = raw("GET", "/terminal")
    assert (status, json.loads(text)) == (200, {"output": None, "status": "success"})


def test_open_file_waits_for_its_window_within_the_limit_and_a_missing_path_is_404_at_once(vm):
    home, guest, raw = vm
    guest.upload("/home/user/a.txt", b"")
    assert post_json(raw, "/setup/open_file", {"path": "/home/user/a.txt"}) == \
        (200, "File opened and window activated successfully")
    set_latency(home, window=LIMIT * 3)                                    # the window comes too late
    assert post_json(raw, "/setup/open_file", {"path": "~/a.txt"}) == \
        (500, f"Failed to find window for ['a.txt', 'a'] within {LIMIT:g} seconds.")
    assert post_json(raw, "/setup/open_file", {"path": "/home/user/none.txt"}) == \
        (404, "Application/file not found: /home/user/none.txt")


def test_execute_of_a_missing_program_is_500_and_a_string_without_shell_is_shlex_split(vm):
    _, guest, raw = vm
    status, text = post_json(raw, "/execute", {"command": ["no-such-program", "x"]})
    assert (status, json.loads(text)) == \
        (500, {"status": "error", "message": "[Errno 2] No such file or directory: 'no-such-program'"})
    assert guest.execute("no-such-program", shell=True)["returncode"] == 127       # a shell reports it itself
    assert guest.execute("echo 'a  b' c", shell=False)["output"] == "a  b c\n"
    assert post_json(raw, "/setup/launch", {"command": "gedit '/home/user/my notes.txt'"}) == \
        (200, "gedit /home/user/my notes.txt launched successfully")
    assert post_json(raw, "/setup/launch", {"command": "gedit  ~/x.txt", "shell": True}) == \
        (200, "gedit  ~/x.txt launched successfully")


def test_window_size_of_a_class_without_a_window_is_an_html_500(vm):
    _, guest, raw = vm
    assert raw("POST", "/window_size", b"app_class_name=vlc", "application/x-www-form-urlencoded")[0] == 500
    guest.upload("/home/user/a.txt", b"")
    guest.open_file("/home/user/a.txt", timeout=10)
    assert guest.window_size("gedit") == {"width": 1080, "height": 600}
