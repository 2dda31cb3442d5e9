"""Client of Chrome's DevTools endpoint in the guest (port 9222, forwarded by socat to Chrome's 1337).

OSWorld drives Chrome through Playwright's connect_over_cdp; we speak the same protocol directly: the HTTP
JSON endpoints to find the browser, and one short WebSocket session per command. WebSocket comes from the
optional `chrome` extra (websocket-client), imported only when a task needs Chrome. Every call has a timeout.
"""
from __future__ import annotations

import base64
import functools
import itertools
import json
import time
import urllib.error
import urllib.request

CONNECT_WAIT = 30.0             # Chrome was just launched by the task's config: give it time to listen
CONNECT_PAUSE = 0.5
# A new tab holds about:blank, already complete, until its navigation starts: that is not the page loaded.
PAGE_LOADED = 'document.readyState === "complete" && location.href !== "about:blank"'


class DevToolsError(Exception):
    """Chrome's DevTools endpoint could not be reached or refused a command; the message says which."""


class DevToolsClient:
    def __init__(self, ip: str, port: int, timeout: float = 30.0):
        self.base = f"http://{ip}:{port}"
        self.timeout = timeout
        self._ids = itertools.count(1)

    # --- transport ------------------------------------------------------------------------------------------
    def _http_json(self, path: str) -> object:
        try:
            with urllib.request.urlopen(self.base + path, timeout=self.timeout) as answer:
                return json.loads(answer.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DevToolsError(f"Chrome DevTools at {self.base}{path} failed: {exc}; is Chrome running with "
                                "--remote-debugging-port and forwarded to guest port 9222?") from exc

    def wait_until_listening(self, within: float = CONNECT_WAIT, pause: float = CONNECT_PAUSE) -> None:
        """Ask until Chrome answers, for `within` seconds at most (one attempt at least)."""
        deadline = time.monotonic() + within
        while True:
            try:
                _ = self._browser_url                  # answered: Chrome listens (and the URL is kept)
                return
            except DevToolsError:
                if time.monotonic() + pause >= deadline:
                    raise
                time.sleep(pause)

    def _command(self, ws_url: str, method: str, params: dict | None = None) -> dict:
        """One CDP command on its own WebSocket session; events arriving before the answer are skipped."""
        import websocket
        message_id = next(self._ids)
        deadline = time.monotonic() + self.timeout
        try:
            connection = websocket.create_connection(ws_url, timeout=self.timeout, suppress_origin=True)
        except (websocket.WebSocketException, OSError) as exc:
            raise DevToolsError(f"Chrome DevTools WebSocket {ws_url} failed: {exc}") from exc
        try:
            connection.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
            while time.monotonic() < deadline:
                answer = json.loads(connection.recv())
                if answer.get("id") == message_id:
                    if "error" in answer:
                        raise DevToolsError(f"Chrome refused {method}: {answer['error']}")
                    return answer.get("result", {})
            raise DevToolsError(f"Chrome did not answer {method} within {self.timeout:g} s")
        except (websocket.WebSocketException, OSError, ValueError) as exc:
            raise DevToolsError(f"Chrome DevTools {method} failed: {exc}") from exc
        finally:
            connection.close()

    def _ws_url(self, path: str) -> str:
        return f"{self.base.replace('http', 'ws', 1)}{path}"

    @functools.cached_property
    def _browser_url(self) -> str:
        """The browser session's WebSocket URL, asked once per client. Chrome names its own address in it
        (127.0.0.1:1337 behind socat): only the path is kept."""
        advertised = self._http_json("/json/version")["webSocketDebuggerUrl"]
        return self._ws_url("/devtools/" + advertised.split("/devtools/", 1)[1])

    def _browser(self, method: str, params: dict | None = None) -> dict:
        return self._command(self._browser_url, method, params)

    def _page(self, target_id: str, method: str, params: dict) -> dict:
        return self._command(self._ws_url(f"/devtools/page/{target_id}"), method, params)

    # --- tabs -----------------------------------------------------------------------------------------------
    def tabs(self) -> list[dict]:
        """Open tabs ({id, url, title}) in the order Chrome lists its targets, which is not their creation
        order."""
        infos = self._browser("Target.getTargets")["targetInfos"]
        return [{"id": t["targetId"], "url": t["url"], "title": t["title"]}
                for t in infos if t["type"] == "page"]

    def open_tab(self, url: str, load_timeout: float) -> str:
        """Open url in a new tab and wait (bounded) for it to load; a page that never loads is left as it is,
        as OSWorld does."""
        target = self._browser("Target.createTarget", {"url": url})["targetId"]
        if url != "about:blank":
            self.wait_loaded(target, load_timeout)
        return target

    def close_tab(self, target_id: str) -> None:
        self._browser("Target.closeTarget", {"targetId": target_id})

    def evaluate(self, target_id: str, expression: str):
        """The value of a JavaScript expression in a tab."""
        answer = self._page(target_id, "Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            reason = (details.get("exception") or {}).get("description") or details.get("text")
            raise DevToolsError(f"evaluating {expression[:80]!r} failed: {str(reason).splitlines()[0]}")
        return answer["result"].get("value")

    def print_pdf(self, target_id: str) -> bytes:
        """The tab printed as Playwright's page.pdf() prints it: US Letter, no margins, no backgrounds."""
        answer = self._page(target_id, "Page.printToPDF", {
            "paperWidth": 8.5, "paperHeight": 11, "marginTop": 0, "marginBottom": 0, "marginLeft": 0,
            "marginRight": 0, "printBackground": False, "scale": 1, "preferCSSPageSize": False})
        return base64.b64decode(answer["data"])

    def wait_loaded(self, target_id: str, timeout: float) -> None:
        """Until the tab's document is complete, for `timeout` seconds at most
        (then the page is left loading)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.evaluate(target_id, PAGE_LOADED):
            time.sleep(0.2)
