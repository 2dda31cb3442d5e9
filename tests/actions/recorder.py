"""Runs generated code against recording stand-ins for pyautogui, time and subprocess."""
from __future__ import annotations

from dataclasses import dataclass, field

from daemon.actions import GUEST_CODE_PREFIX

SHIFTED = {",": "<"}


@dataclass
class Recording:
    calls: list[tuple] = field(default_factory=list)

    def screen_text(self) -> str:
        """The text a focused text field would receive."""
        out, clipboard = [], ""
        for name, args, kwargs in self.calls:
            if name == "subprocess.run":
                clipboard = kwargs["input"].decode("utf-8")
            elif name == "write":
                out.append(args[0])
            elif name == "press" and args[0] in ("enter", "tab"):
                out.append("\n" if args[0] == "enter" else "\t")
            elif name == "hotkey" and args == ("shift", ","):
                out.append("<")
            elif name == "hotkey" and args == ("ctrl", "v"):
                out.append(clipboard)
        return "".join(out)

    def pointer_and_key_calls(self) -> list[tuple]:
        return [c for c in self.calls if c[0] != "subprocess.run"]

    def typing_seconds(self) -> float:
        return sum(len(args[0]) * kwargs.get("interval", 0) for name, args, kwargs in self.calls
                   if name == "write")


class _Recorder:
    def __init__(self, recording: Recording, prefix: str = ""):
        self._recording, self._prefix = recording, prefix
        self.FAILSAFE = True

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self._recording.calls.append((self._prefix + name, args, kwargs))
        return record


def run_recorded(code_strings: list[str]) -> Recording:
    recording = Recording()
    modules = {"pyautogui": _Recorder(recording), "time": _Recorder(recording, "time."),
               "subprocess": _Recorder(recording, "subprocess.")}

    def fake_import(name, *args, **kwargs):
        return modules[name]          # any other import fails loudly with KeyError

    for code in code_strings:
        program = compile(GUEST_CODE_PREFIX + code, "<generated>", "exec")
        exec(program, {"__builtins__": {"__import__": fake_import}})      # noqa: S102  (our own generated code)
    return recording


