"""Client of the OSWorld guest HTTP API (the Flask server inside each VM, port 5000).

Every request has a timeout. Connection failures are retried a bounded number of times; a request the guest
answered is never sent twice (an /execute that ran must not run again).
"""
from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from .devtools import DevToolsClient

RETRY_PAUSE = 1.0
VLC_PASSWORD = "password"           # the HTTP interface password of VLC in OSWorld's VM image
NOT_A_DIRECTORY = "The provided path is not a directory"      # the real server's 400 for a missing folder


class GuestError(Exception):
    """A guest request failed; the message names the endpoint and the guest, and what to do. `status` is the HTTP
    status the guest answered with, None when it did not answer at all."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class GuestClient:
    def __init__(self, ip: str, port: int = 5000, request_timeout: float = 90.0, retries: int = 3,
                 devtools_port: int = 9222, vlc_port: int = 8080):
        self.base = f"http://{ip}:{port}"
        self.ip, self.devtools_port, self.vlc_port = ip, devtools_port, vlc_port
        self.request_timeout = request_timeout
        self.retries = retries

    # --- transport ---------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                 timeout: float | None = None, retries: int | None = None, ok_404: bool = False) -> bytes | None:
        attempts = max(1, self.retries if retries is None else retries)
        last: Exception | None = None
        for attempt in range(attempts):
            request = urllib.request.Request(self.base + path, data=body, method=method)
            if content_type:
                request.add_header("Content-Type", content_type)
            try:
                with urllib.request.urlopen(request, timeout=timeout or self.request_timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and ok_404:
                    return None
                detail = exc.read()[:300].decode("utf-8", "replace")
                raise GuestError(f"guest {self.base}{path} answered HTTP {exc.code}: {detail}",
                                 exc.code) from exc
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                last = exc
                if attempt + 1 < attempts:
                    time.sleep(RETRY_PAUSE)
        raise GuestError(f"guest {self.base}{path} unreachable after {attempts} attempt(s): {last}; "
                         "check that the VM runs and its OSWorld server listens on the guest port") from last

    def _send_json(self, method: str, path: str, payload: dict | None = None, **kwargs) -> bytes | None:
        body = None if payload is None else json.dumps(payload).encode()
        return self._request(method, path, body, "application/json" if body is not None else None, **kwargs)

    def _json(self, method: str, path: str, payload: dict | None = None, **kwargs) -> object:
        raw = self._send_json(method, path, payload, **kwargs)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise GuestError(f"guest {self.base}{path} answered {raw[:100]!r}, not JSON") from None

    def _form(self, path: str, fields: dict, **kwargs) -> bytes | None:
        return self._request("POST", path, urllib.parse.urlencode(fields).encode(),
                             "application/x-www-form-urlencoded", **kwargs)

    # --- endpoints ---------------------------------------------------------------------------------------------
    def platform(self, timeout: float | None = None) -> str:
        return self._request("GET", "/platform", timeout=timeout, retries=1).decode()

    def screenshot(self) -> bytes:
        data = self._request("GET", "/screenshot")
        if not data or not data.startswith(b"\x89PNG"):
            raise GuestError(f"guest {self.base}/screenshot did not answer a PNG ({len(data or b'')} bytes)")
        return data

    def execute(self, command: list[str] | str, shell: bool = False, timeout: float | None = None) -> dict:
        answer = self._json("POST", "/execute", {"command": command, "shell": shell}, timeout=timeout, retries=1)
        if not isinstance(answer, dict):
            raise GuestError(f"guest {self.base}/execute answered {answer!r}, not a JSON object")
        return answer

    def launch(self, command: list[str] | str, shell: bool = False) -> None:
        self._send_json("POST", "/setup/launch", {"command": command, "shell": shell}, retries=1)

    def open_file(self, path: str, timeout: float) -> None:
        self._send_json("POST", "/setup/open_file", {"path": path}, timeout=timeout, retries=1)

    def activate_window(self, window_name: str, strict: bool = False, by_class: bool = False) -> None:
        self._send_json("POST", "/setup/activate_window",
                        {"window_name": window_name, "strict": strict, "by_class": by_class})

    def close_window(self, window_name: str, strict: bool = False, by_class: bool = False) -> None:
        self._send_json("POST", "/setup/close_window",
                        {"window_name": window_name, "strict": strict, "by_class": by_class})

    def upload(self, guest_path: str, data: bytes) -> None:
        boundary = uuid.uuid4().hex
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_path"\r\n\r\n{guest_path}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_data"; filename="upload"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n'.encode(), data, f"\r\n--{boundary}--\r\n".encode()])
        self._request("POST", "/setup/upload", body, f"multipart/form-data; boundary={boundary}")

    def change_wallpaper(self, guest_path: str) -> None:
        self._send_json("POST", "/setup/change_wallpaper", {"path": guest_path})

    def get_file(self, guest_path: str) -> bytes | None:
        return self._form("/file", {"file_path": guest_path}, ok_404=True)

    def list_directory(self, guest_path: str) -> dict | None:
        """The guest's {"type", "name", "children"} tree of a folder; None when the folder does not exist (the real
        server answers 400 there, and takes the path as it is: no ~ expansion)."""
        try:
            answer = self._json("POST", "/list_directory", {"path": guest_path}, ok_404=True)
        except GuestError as exc:
            if exc.status == 400 and NOT_A_DIRECTORY in str(exc):
                return None
            raise
        return answer["directory_tree"] if answer else None

    def accessibility(self) -> str:
        return self._json("GET", "/accessibility")["AT"]

    def terminal(self) -> str | None:
        return self._json("GET", "/terminal").get("output")

    def screen_size(self) -> tuple[int, int]:
        answer = self._json("POST", "/screen_size", {})
        return answer["width"], answer["height"]

    def window_size(self, app_class_name: str) -> dict:
        return json.loads(self._form("/window_size", {"app_class_name": app_class_name}))

    def devtools(self, timeout: float) -> DevToolsClient:
        """Chrome in this guest, through its DevTools port."""
        return DevToolsClient(self.ip, self.devtools_port, timeout)

    def wallpaper(self) -> bytes | None:
        """The desktop background image's bytes; None when the guest finds no wallpaper file."""
        return self._request("POST", "/wallpaper", ok_404=True)

    def vlc_status(self, timeout: float) -> bytes | None:
        """VLC's status.xml from its web interface in the guest; None when VLC does not answer (not running, or
        its interface not up yet: it is asked a few times, as OSWorld does)."""
        request = urllib.request.Request(f"http://{self.ip}:{self.vlc_port}/requests/status.xml")
        request.add_header("Authorization", "Basic " + base64.b64encode(f":{VLC_PASSWORD}".encode()).decode())
        for attempt in range(max(1, self.retries)):
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return response.read()
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                if attempt + 1 < self.retries:
                    time.sleep(RETRY_PAUSE)
        return None

    def cursor_position(self) -> tuple[int, int]:
        x, y = self._json("GET", "/cursor_position")
        return x, y
