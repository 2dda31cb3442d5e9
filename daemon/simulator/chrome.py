"""A simulated Chrome DevTools endpoint (guest port 9222):
the part of the protocol OSWorld's Chrome steps use.

HTTP: /json/version. WebSocket, browser session: Target.getTargets (newest first, then by creation, as Chrome
156 was seen to list them), createTarget, closeTarget.
WebSocket, page session: Runtime.evaluate of document.readyState, the client's PAGE_LOADED test,
document.title, location.href and document.documentElement.outerHTML; any other expression answers an
exception, as a page without it would.
A page reads "loading" for LOAD_SECONDS after it opens, so clients must wait for the load like they do on
Chrome.
Started by the guest when a task launches google-chrome/chromium with --remote-debugging-port; it serves on
its own thread and IOLoop, and lives as long as the guest process.
"""
from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
import urllib.parse

import tornado.web
import tornado.websocket

from ..guest.devtools import PAGE_LOADED

PORT = 9222
LOAD_SECONDS = 0.3


class Tab:
    def __init__(self, target_id: str, url: str):
        self.id, self.url, self.opened = target_id, url, time.monotonic()

    @property
    def title(self) -> str:
        return ("New Tab" if self.url == "chrome://newtab/"
                else urllib.parse.urlparse(self.url).netloc or self.url)

    def document(self) -> str:
        return (f"<html><head><title>{html.escape(self.title)}</title></head>"
                f"<body><p>{html.escape(self.url)}</p></body></html>")

    def info(self) -> dict:
        """Target.getTargets' TargetInfo of this tab."""
        return {"targetId": self.id, "type": "page", "url": self.url, "title": self.title, "attached": False}


class Browser:
    """The tabs of the one simulated Chrome window; thread-safe
    (the guest's HTTP threads read the active URL)."""

    def __init__(self, start_url: str = "chrome://newtab/"):
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.tabs: list[Tab] = []
        self.open(start_url)

    def open(self, url: str) -> Tab:
        with self.lock:
            tab = Tab(f"{next(self._ids):032X}", url or "about:blank")
            self.tabs.append(tab)
            return tab

    def find(self, target_id: str) -> Tab | None:
        with self.lock:
            return next((tab for tab in self.tabs if tab.id == target_id), None)

    def close(self, target_id: str) -> bool:
        with self.lock:
            before = len(self.tabs)
            self.tabs = [tab for tab in self.tabs if tab.id != target_id]
            return len(self.tabs) < before

    def close_active(self) -> bool:
        tab = self.active()
        return tab is not None and self.close(tab.id)

    def active(self) -> Tab | None:
        """The newest open tab: a tab opens in the foreground, and nothing here switches tabs."""
        with self.lock:
            return self.tabs[-1] if self.tabs else None

    def address_bar_xml(self) -> str:
        """Chrome's window in the accessibility tree:
        the address bar shows the active URL as Chrome elides it."""
        tab = self.active()
        shown = re.sub(r"^https://(www\.)?", "", tab.url) if tab else ""
        return (f'<application name="Google Chrome"><frame name="{html.escape(tab.title if tab else "")}">'
                f'<entry name="Address and search bar">{html.escape(shown)}</entry></frame></application>')

    def evaluate(self, tab: Tab, expression: str) -> dict:
        loaded = time.monotonic() - tab.opened >= LOAD_SECONDS
        values = {"document.readyState": "complete" if loaded else "loading", PAGE_LOADED: loaded,
                  "document.title": tab.title, "location.href": tab.url,
                  "document.documentElement.outerHTML": tab.document()}
        if expression not in values:
            error = {"type": "object", "subtype": "error",
                     "description": f"ReferenceError: {expression.split('.')[0]} is not defined"}
            return {"result": error, "exceptionDetails": {"text": "Uncaught", "exception": error}}
        value = values[expression]
        return {"result": {"type": "boolean" if isinstance(value, bool) else "string", "value": value}}


class VersionHandler(tornado.web.RequestHandler):
    """/json/version: where the browser session's WebSocket is
    (the only HTTP endpoint OSWorld's steps need)."""

    def get(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"Browser": "SimulatedChrome/1.0", "Protocol-Version": "1.3",
                                "webSocketDebuggerUrl": f"ws://{self.request.host}/devtools/browser/simulated"}))


class SessionHandler(tornado.websocket.WebSocketHandler):
    def initialize(self, browser: Browser):
        self.browser = browser

    def open(self, kind: str, target_id: str):
        self.tab = self.browser.find(target_id) if kind == "page" else None
        if kind == "page" and self.tab is None:
            self.close(1011, f"No such target id: {target_id}")

    def on_message(self, message):
        request = json.loads(message)
        try:
            result = self.page_command(request) if self.tab else self.browser_command(request)
            self.write_message(json.dumps({"id": request["id"], "result": result}))
        except KeyError as exc:
            self.write_message(json.dumps({"id": request.get("id"), "error": {"code": -32602,
                                                                           "message": f"missing {exc}"}}))

    def page_command(self, request: dict) -> dict:
        if request["method"] != "Runtime.evaluate":
            raise KeyError(f"method {request['method']}")
        return self.browser.evaluate(self.tab, request["params"]["expression"])

    def browser_command(self, request: dict) -> dict:
        method, params = request["method"], request.get("params", {})
        if method == "Target.getTargets":
            # newest first, then the others: Chrome's order is not creation's
            with self.browser.lock:
                tabs = self.browser.tabs[-1:] + self.browser.tabs[:-1]
                return {"targetInfos": [tab.info() for tab in tabs]}
        if method == "Target.createTarget":
            return {"targetId": self.browser.open(params["url"]).id}
        if method == "Target.closeTarget":
            return {"success": self.browser.close(params["targetId"])}
        raise KeyError(f"method {method}")

    def check_origin(self, origin: str) -> bool:
        return True


def serve(browser: Browser, ip: str, port: int = PORT) -> None:
    """Serve the browser's DevTools endpoint on ip:port from a daemon thread with its own event loop."""
    listening = threading.Event()

    def run() -> None:
        async def main():
            app = tornado.web.Application([
                (r"/json/version", VersionHandler),
                (r"/devtools/(browser|page)/(\w+)", SessionHandler, {"browser": browser}),
            ])
            app.listen(port, address=ip)
            listening.set()
            await asyncio.Event().wait()
        asyncio.run(main())

    threading.Thread(target=run, name="simulated-chrome", daemon=True).start()
    listening.wait(10)
