"""The one fake guest of the evaluation tests: the GuestClient calls setup steps and getters make, over
in-memory files and scripted command answers, recording what was asked. Tests that need the real thing use the
simulated guest (test_evaluation.py's sim_guest) or a real Chromium (test_chrome.py)."""
from __future__ import annotations

from daemon.guest.client import GuestError
from daemon.guest.devtools import DevToolsClient


def ran(code: int = 0, out: str = "", err: str = "") -> dict:
    """The guest's answer to a command that ran."""
    return {"status": "success", "output": out, "error": err, "returncode": code}


class FakeGuest:
    """`files`: path -> bytes (get_file, upload). A command is answered by `script` (answers in order), else
    by `answer`: a callable(command), or a dict from the command's text (a list: joined by spaces) to its
    output; else by an empty success. An answer that is an exception is raised, a str is the output.
    `tree`: the accessibility tree (a str, or a callable giving it); `chrome_at`: (host, port) of a DevTools
    endpoint; `wallpaper`: its bytes (None: the file is missing, the real guest's 500). `commands` and `calls`
    record what was asked."""

    def __init__(self, files: dict | None = None, *, script: list | None = None, answer=None, tree=None,
                 chrome_at: tuple[str, int] | None = None, wallpaper: bytes | None = None):
        self.files = dict(files or {})
        self.script = None if script is None else list(script)
        self.answer, self.tree, self.chrome_at, self.image = answer, tree, chrome_at, wallpaper
        self.commands: list = []
        self.calls: list[tuple] = []

    def execute(self, command, shell=False, timeout=None) -> dict:
        self.commands.append(command)
        self.calls.append(("execute", command))
        if self.script is not None:
            reply = self.script.pop(0)
        elif isinstance(self.answer, dict):
            reply = self.answer.get(command if isinstance(command, str) else " ".join(command), "")
        else:
            reply = self.answer(command) if self.answer is not None else ran()
        if isinstance(reply, Exception):
            raise reply
        return ran(out=reply) if isinstance(reply, str) else reply

    def get_file(self, path: str) -> bytes | None:
        return self.files.get(path)

    def upload(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def activate_window(self, *args) -> None:
        self.calls.append(("activate_window",) + args)

    def wallpaper(self) -> bytes:
        if self.image is None:
            raise GuestError("guest answered HTTP 500: no wallpaper file", 500)
        return self.image

    def accessibility(self) -> str | None:
        return self.tree() if callable(self.tree) else self.tree

    def devtools(self, timeout: float) -> DevToolsClient:
        return DevToolsClient(*self.chrome_at, timeout)
