"""Client of the OSWorld guest HTTP API (the Flask server inside each VM, port 5000).

Every request has a timeout, clipped to what is left of the operation's time budget. Only a connection the
guest refused or reset is tried again (bounded): a timed-out request may have acted, so it is never sent
twice, and an /execute is never resent at all. While a long request waits (an /execute may take the guest's
own 120 s), the guest is asked /platform every few seconds: a guest that stops answering that (frozen, or its
VM gone) ends the wait at once instead of at the request's full timeout.
"""
from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from ..budget import Budget, BudgetSpent
from ..config import DEFAULTS
from .devtools import DevToolsClient

_VMWARE = DEFAULTS["vmware"]
RETRY_PAUSE = 1.0
VLC_PASSWORD = "password"           # the HTTP interface password of VLC in OSWorld's VM image
RETRIABLE = (ConnectionRefusedError, ConnectionResetError)     # the guest did not take the request
NOT_A_DIRECTORY = "The provided path is not a directory"      # the real server's 400 for a missing folder


class GuestError(Exception):
    """A guest request failed; the message names the endpoint and the guest, and what to do. `status` is the
    HTTP status the guest answered with, None when it did not answer at all (refused, reset, timed out,
    stopped answering: the guest may be lost)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def no_answer(self) -> bool:
        return self.status is None


class GuestClient:
    def __init__(self, ip: str, port: int = _VMWARE["guest_port"],
                 request_timeout: float = _VMWARE["guest_request_timeout"],
                 retries: int = _VMWARE["guest_retries"],
                 devtools_port: int = _VMWARE["devtools_port"], vlc_port: int = _VMWARE["vlc_port"], *,
                 screenshot_timeout: float = _VMWARE["screenshot_timeout"],
                 liveness_timeout: float = _VMWARE["liveness_timeout"], budget: Budget | None = None):
        self.base = f"http://{ip}:{port}"
        self.ip, self.port, self.devtools_port, self.vlc_port = ip, port, devtools_port, vlc_port
        self.request_timeout = request_timeout
        self.retries = retries
        self.screenshot_timeout = screenshot_timeout
        self.liveness_timeout = liveness_timeout
        self.budget = budget or Budget()    # the operation's, shared with its vmrun calls

    # --- transport ------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                 timeout: float | None = None, retries: int | None = None,
                 ok_404: bool = False) -> bytes | None:
        attempts = max(1, self.retries if retries is None else retries)
        attempt = 1
        while True:
            try:
                limit = self.budget.clip(timeout or self.request_timeout)
            except BudgetSpent as exc:
                raise GuestError(f"guest {self.base}{path} not asked: {exc}") from None
            try:
                status, data = self._exchange(method, path, body, content_type, limit)
            except RETRIABLE as exc:
                if attempt >= attempts:
                    raise GuestError(f"guest {self.base}{path} refused or dropped the connection {attempts} "
                                     f"time(s) ({exc}); check that the VM runs and its OSWorld server "
                                     "listens on the guest port") from exc
                attempt += 1
                time.sleep(RETRY_PAUSE)
                continue
            except (socket.timeout, TimeoutError):
                raise GuestError(f"guest {self.base}{path} did not answer within {limit:.0f} s") from None
            except (OSError, http.client.HTTPException) as exc:
                raise GuestError(f"guest {self.base}{path} failed: {exc}") from exc
            if status == 404 and ok_404:
                return None
            if status >= 400:
                detail = data[:300].decode("utf-8", "replace")
                raise GuestError(f"guest {self.base}{path} answered HTTP {status}: {detail}", status)
            return data

    def _exchange(self, method: str, path: str, body: bytes | None, content_type: str | None,
                  limit: float) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.ip, self.port, timeout=limit)
        try:
            connection.request(method, path, body, {"Content-Type": content_type} if content_type else {})
            self._await_answer(connection, path, limit)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _await_answer(self, connection: http.client.HTTPConnection, path: str, limit: float) -> None:
        """Wait until the answer starts; on a long wait, probe the guest and give up when it stops
        answering."""
        window = self.liveness_timeout
        if path == "/platform" or limit <= 2 * window:
            return                                       # short: the socket timeout alone bounds it
        deadline = time.monotonic() + limit
        while not select.select([connection.sock], [], [],
                                max(0.0, min(window, deadline - time.monotonic())))[0]:
            if time.monotonic() >= deadline:
                raise TimeoutError
            if not self.answers(window):
                raise GuestError(f"guest {self.base} stopped answering while {path} ran: /platform did not "
                                 f"answer within {window:.0f} s (the VM is frozen or gone)")
        connection.sock.settimeout(max(0.1, deadline - time.monotonic()))

    def answers(self, within: float) -> bool:
        """Whether /platform answers within `within` seconds (outside the budget: a probe, not the work)."""
        try:
            return self._exchange("GET", "/platform", None, None, within)[0] == 200
        except (OSError, http.client.HTTPException):
            return False

    def _send_json(self, method: str, path: str, payload: dict | None = None, **kwargs) -> bytes | None:
        body = None if payload is None else json.dumps(payload).encode()
        return self._request(method, path, body, "application/json" if body is not None else None, **kwargs)

    def _json(self, method: str, path: str, payload: dict | None = None, **kwargs) -> object:
        raw = self._send_json(method, path, payload, **kwargs)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise GuestError(f"guest {self.base}{path} answered {raw[:100]!r}, not JSON", 200) from None

    def _form(self, path: str, fields: dict, **kwargs) -> bytes | None:
        return self._request("POST", path, urllib.parse.urlencode(fields).encode(),
                             "application/x-www-form-urlencoded", **kwargs)

    # --- endpoints ------------------------------------------------------------------------------------------
    def platform(self, timeout: float | None = None) -> str:
        return self._request("GET", "/platform", timeout=timeout, retries=1).decode()

    def screenshot(self) -> bytes:
        data = self._request("GET", "/screenshot", timeout=self.screenshot_timeout)
        if not data or not data.startswith(b"\x89PNG"):
            raise GuestError(f"guest {self.base}/screenshot did not answer a PNG ({len(data or b'')} bytes)",
                             200)
        return data

    def execute(self, command: list[str] | str, shell: bool = False, timeout: float | None = None) -> dict:
        answer = self._json("POST", "/execute", {"command": command, "shell": shell}, timeout=timeout,
                            retries=1)
        if not isinstance(answer, dict):
            raise GuestError(f"guest {self.base}/execute answered {answer!r}, not a JSON object", 200)
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
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_path"\r\n\r\n'
            f'{guest_path}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_data"; filename="upload"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n'.encode(),
            data, f"\r\n--{boundary}--\r\n".encode()])
        self._request("POST", "/setup/upload", body, f"multipart/form-data; boundary={boundary}")

    def change_wallpaper(self, guest_path: str) -> None:
        self._send_json("POST", "/setup/change_wallpaper", {"path": guest_path})

    def get_file(self, guest_path: str) -> bytes | None:
        return self._form("/file", {"file_path": guest_path}, ok_404=True)

    def list_directory(self, guest_path: str) -> dict | None:
        """The guest's {"type", "name", "children"} tree of a folder; None when the folder does not exist (the
        real server answers 400 there, and takes the path as it is: no ~ expansion)."""
        try:
            return self._json("POST", "/list_directory", {"path": guest_path})["directory_tree"]
        except GuestError as exc:
            if exc.status == 400 and NOT_A_DIRECTORY in str(exc):
                return None
            raise

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

    def wallpaper(self) -> bytes:
        """The desktop background image's bytes (a missing wallpaper file: the real server answers 500, a
        GuestError)."""
        return self._request("POST", "/wallpaper")

    def vlc_status(self, timeout: float) -> bytes | None:
        """VLC's status.xml from its web interface in the guest; None when VLC does not answer (not running,
        or its interface not up yet: it is asked a few times, as OSWorld does)."""
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
