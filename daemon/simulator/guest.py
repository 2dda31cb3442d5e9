"""The simulated guest: OSWorld's in-VM HTTP API, served on the VM's own loopback address.

    python -m daemon.simulator.guest <vmx>

Started detached by `vmrun-sim start` (it outlives vmrun and the daemon, as a VM does); ends when its VM's
state says it is no longer the VM's guest (stopped, reverted, or the simulator home removed).
"""
from __future__ import annotations

import email.parser
import email.policy
import io
import json
import os
import posixpath
import shlex
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

from . import chrome, scenario
from .desktop import EDITOR_BOX, SCREEN, Desktop
from .interpreter import MissingProgram, TimedOut, execute
from .machine import Machine

WATCH_INTERVAL = 0.5
DEFAULT_WALLPAPER = (48, 10, 36)                 # Ubuntu's aubergine, until a task sets a wallpaper
EDITOR_CLASS = "gedit"                            # the editor window's WM_CLASS, for /window_size
FLASK_500 = ("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
             "<h1>Internal Server Error</h1>\n<p>{}</p>\n")


class Guest:
    def __init__(self, machine: Machine):
        self.machine = machine
        self.desktop = Desktop(machine.dir / "disk.json")
        self.requests = 0
        self.busy_seconds = 0.0
        self.stats_lock = threading.Lock()
        self.chrome: chrome.Browser | None = None
        self.wallpaper: str | None = None           # the guest path /setup/change_wallpaper set

    def start_chrome(self, words: list[str]) -> None:
        """Chrome launched with remote debugging: its DevTools endpoint listens
        (OSWorld's socat is implied)."""
        if self.chrome is None and any(word.startswith("--remote-debugging-port") for word in words):
            self.chrome = self.desktop.browser = chrome.Browser()
            chrome.serve(self.chrome, self.machine.ip)

    def seconds(self, what: str) -> float:
        """A latency or time limit of the scenario (see scenario.PRESETS)."""
        return scenario.latency(self.machine.home, self.machine.index, what)

    def latency(self, what: str) -> None:
        time.sleep(self.seconds(what))

    def fault(self, name: str):
        return self.machine.take_fault(name) if name in scenario.COUNTED else \
            scenario.fault(self.machine.home, self.machine.index, name)


class Handler(BaseHTTPRequestHandler):
    server_version = "SimulatedOSWorldGuest/1.0"
    protocol_version = "HTTP/1.1"
    guest: Guest

    def log_message(self, fmt, *args):          # one line per request would drown the guest log
        pass

    # --- plumbing -------------------------------------------------------------------------------------------
    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def json_body(self) -> dict:
        raw = self.body()
        return json.loads(raw) if raw else {}

    def form(self) -> dict:
        raw = self.body()
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + kind.encode() + b"\r\n\r\n" + raw)
            return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                    for part in message.iter_parts()}
        if kind.startswith("application/json"):
            return json.loads(raw or b"{}")
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}

    def send(self, status: int, body: bytes | str | dict | list, kind: str = "application/json") -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
            kind = kind if kind != "application/json" or body[:1] in (b"{", b"[") else "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_one(self, method: str) -> None:
        start = time.perf_counter()
        route = ROUTES.get((method, urllib.parse.urlparse(self.path).path))
        try:
            if route is None:
                self.send(404, {"status": "error", "message": f"no route {method} {self.path}"})
            else:
                route(self)
        except (ValueError, KeyError, TypeError) as exc:
            self.send(400, {"status": "error", "message": f"bad request: {exc}"})
        finally:
            if route is not None and self.path != "/sim/stats":
                with self.guest.stats_lock:
                    self.guest.requests += 1
                    self.guest.busy_seconds += time.perf_counter() - start

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    # --- endpoints ------------------------------------------------------------------------------------------
    def screenshot(self):
        self.guest.latency("screenshot")
        frame = self.guest.desktop.screenshot(black=bool(self.guest.fault("black_frames")),
                                              locked=bool(self.guest.fault("locked_screen")))
        self.send(200, frame, "image/png")

    def execute(self):
        request = self.json_body()
        self.guest.latency("execute")
        if self.guest.fault("execute_500"):
            self.send(500, {"status": "error", "message": "simulated failure of /execute"})
            return
        command, limit = request["command"], self.guest.seconds("execute_limit")
        try:
            answer = execute(self.guest.desktop, command, bool(request.get("shell", False)), limit)
        except MissingProgram as exc:
            self.send(500, {"status": "error", "message": f"[Errno 2] No such file or directory: '{exc}'"})
        except TimedOut:                          # the real server's subprocess.run(timeout=120) expires
            time.sleep(limit)
            self.send(500, {"status": "error",
                            "message": f"Command '{command}' timed out after {limit:g} seconds"})
        else:
            self.send(200, answer)

    def launch(self):
        request = self.json_body()
        self.guest.latency("setup")
        command, shell = request["command"], bool(request.get("shell", False))
        words = shlex.split(command) if isinstance(command, str) else [str(word) for word in command]
        if words and words[0] in ("gedit", "xdg-open"):
            execute(self.guest.desktop, words)
        if words and words[0] in ("google-chrome", "chromium", "chromium-browser"):
            self.guest.start_chrome(words)
        with self.guest.desktop.lock:
            self.guest.desktop.launched.append(" ".join(words))
            self.guest.desktop.changed(f"launched {words[:1]}", persist=True)
        self.send(200, f"{command if shell else ' '.join(words)} launched successfully", "text/plain")

    def open_file(self):
        """Opens the file, then waits (up to open_file_limit) for a window titled with its name to appear."""
        raw = self.json_body()["path"]
        path = self.guest.desktop.path(raw)
        self.guest.latency("setup")
        if path not in self.guest.desktop.files:
            self.send(404, f"Application/file not found: {raw}", "text/plain")
            return
        appears, limit = self.guest.seconds("window"), self.guest.seconds("open_file_limit")
        time.sleep(min(appears, limit))
        with self.guest.desktop.lock:
            self.guest.desktop.open_in_editor(path)
        if appears > limit:
            name = posixpath.basename(path)
            titles = [name, posixpath.splitext(name)[0]]
            self.send(500, f"Failed to find window for {titles} within {limit:g} seconds.", "text/plain")
        else:
            self.send(200, "File opened and window activated successfully", "text/plain")

    def window(self):
        request = self.json_body()
        self.guest.latency("setup")
        editor = self.guest.desktop.editor
        name = request.get("window_name", "")
        if editor and name and self.path.endswith("close_window") and name.lower() in (
                os.path.basename(editor["path"]).lower() + " - text editor"):
            with self.guest.desktop.lock:
                self.guest.desktop.editor = None
                self.guest.desktop.changed("closed the editor", persist=True)
        self.send(200, "Window action done", "text/plain")

    def upload(self):
        form = self.form()
        if "file_path" not in form or "file_data" not in form:
            self.send(400, {"error": "file_path and file_data are required"})
            return
        path = self.guest.desktop.path(form["file_path"].decode() if isinstance(form["file_path"], bytes)
                                       else form["file_path"])
        with self.guest.desktop.lock:
            self.guest.desktop.write_file(path, form["file_data"])
        self.send(200, f"File Uploaded: {len(form['file_data'])} bytes", "text/plain")

    def change_wallpaper(self):
        raw = self.json_body().get("path")
        if not raw:
            self.send(400, "Path not supplied!", "text/plain")
            return
        path = self.guest.desktop.path(raw)
        if path not in self.guest.desktop.files and not self.guest.desktop.is_dir(path):
            self.send(404, f"File not found: {path}", "text/plain")
            return
        self.guest.wallpaper = path
        self.send(200, "Wallpaper changed successfully", "text/plain")

    def wallpaper(self):
        """The wallpaper file's bytes, as OSWorld's server sends the file gsettings names
        (500 once it is gone)."""
        self.body()
        if self.guest.wallpaper is None:
            image = io.BytesIO()
            Image.new("RGB", SCREEN, DEFAULT_WALLPAPER).save(image, "PNG")
            self.send(200, image.getvalue(), "image/png")
            return
        data = self.guest.desktop.files.get(self.guest.wallpaper)
        if data is None:
            self.send(500, FLASK_500.format("Unable to serve the wallpaper file"), "text/html")
        else:
            self.send(200, data, "image/png")

    def file(self):
        form = self.form()
        raw = form["file_path"]
        path = self.guest.desktop.path(raw.decode() if isinstance(raw, bytes) else raw)
        data = self.guest.desktop.files.get(path)
        if data is None:
            self.send(404, {"error": "File not found"})
        else:
            self.send(200, data, "application/octet-stream")

    def list_directory(self):
        """The real server takes the path as it is: no ~ or $HOME expansion."""
        request = self.json_body()
        if "path" not in request:
            self.send(400, {"error": "Missing 'path' parameter"})
            return
        path = self.guest.desktop.path(request["path"], expand=False)
        if not self.guest.desktop.is_dir(path):
            self.send(400, {"error": "The provided path is not a directory"})
            return
        self.send(200, {"directory_tree": self.guest.desktop.tree(path)})

    def accessibility(self):
        self.guest.latency("accessibility")
        desktop = self.guest.desktop
        editor = desktop.editor
        window = (f'<frame name="{os.path.basename(editor["path"])} - Text Editor">'
                  f'<text>{len(editor["text"])} characters</text></frame>' if editor else "")
        browser = self.guest.chrome.address_bar_xml() if self.guest.chrome else ""
        self.send(200, {"AT": f'<desktop-frame name="main">{window}{browser}</desktop-frame>'})

    def window_size(self):
        """The editor's size; for a class no window has, the real view returns None: Flask's HTML 500."""
        name = str(self.form().get("app_class_name", "")).lower()
        if self.guest.desktop.editor is None or name != EDITOR_CLASS:
            self.send(500, FLASK_500.format("The server encountered an internal error and was unable to "
                                            "complete your request."), "text/html")
            return
        left, top, right, bottom = EDITOR_BOX
        self.send(200, {"width": right - left, "height": bottom - top})

    def stats(self):
        with self.guest.stats_lock:
            self.send(200, {"requests": self.guest.requests, "busy_seconds": self.guest.busy_seconds})


ROUTES = {
    ("GET", "/screenshot"): Handler.screenshot,
    ("POST", "/execute"): Handler.execute,
    ("POST", "/setup/execute"): Handler.execute,
    ("POST", "/setup/launch"): Handler.launch,
    ("POST", "/setup/open_file"): Handler.open_file,
    ("POST", "/setup/activate_window"): Handler.window,
    ("POST", "/setup/close_window"): Handler.window,
    ("POST", "/setup/upload"): Handler.upload,
    ("POST", "/setup/change_wallpaper"): Handler.change_wallpaper,
    ("POST", "/wallpaper"): Handler.wallpaper,
    ("POST", "/file"): Handler.file,
    ("POST", "/list_directory"): Handler.list_directory,
    ("GET", "/accessibility"): Handler.accessibility,
    ("GET", "/terminal"): lambda h: h.send(200, {"output": None, "status": "success"}),
    ("GET", "/platform"): lambda h: h.send(200, "Linux", "text/plain"),
    ("POST", "/screen_size"): lambda h: h.send(200, {"width": SCREEN[0], "height": SCREEN[1]}),
    ("POST", "/window_size"): Handler.window_size,
    ("GET", "/cursor_position"): lambda h: h.send(200, list(h.guest.desktop.pointer)),
    ("GET", "/sim/stats"): Handler.stats,
}


def watch_state(machine: Machine) -> None:
    """Exit once this process is no longer the VM's guest: no orphans after stop, revert or a removed home."""
    me = os.getpid()
    while True:
        time.sleep(WATCH_INTERVAL)
        try:
            state = machine.state() if machine.vmx.exists() else {}
        except (OSError, ValueError):
            continue                                   # a state file being replaced: look again
        if state.get("pid") != me or state.get("power") not in ("on", "paused"):
            os._exit(0)


def main() -> None:
    machine = Machine(Path(sys.argv[1]))
    refuse = scenario.fault(machine.home, machine.index, "guest_refuse_seconds")
    if refuse:
        time.sleep(float(refuse))                     # nothing listens yet: connections are refused
    handler = type("BoundHandler", (Handler,), {"guest": Guest(machine)})
    server = ThreadingHTTPServer((machine.ip, machine.port), handler)
    server.daemon_threads = True
    threading.Thread(target=watch_state, args=(machine,), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
