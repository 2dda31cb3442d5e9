"""Action calls → structured actions → pyautogui code built from values
(repr of parsed data, never model text)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..config import DEFAULTS
from .keys import KeyError_, normalize_key, split_keys
from .parser import Call, ParseError, parse_calls, strip_leaked_tokens

NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
BOX_FORMS = [
    re.compile(rf"^\({NUMBER},{NUMBER}\)$"),
    re.compile(rf"^\({NUMBER},{NUMBER},{NUMBER},{NUMBER}\)$"),
    re.compile(rf"^\[{NUMBER},{NUMBER},{NUMBER},{NUMBER}\]$"),
    re.compile(rf"^\[{NUMBER},{NUMBER}\]$"),
    re.compile(r"^<point>\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*</point>$"),
]
BOX_TOKENS = ("<|box_start|>", "<|box_end|>")
SCROLL_CLICKS = 5
TYPABLE = set(map(chr, range(32, 127))) - {"<"}
ACTION_NAMES = {"click", "left_single", "left_double", "right_single", "hover", "drag", "hotkey", "press",
                "keydown", "keyup", "type", "scroll", "wait", "finished", "call_user", "error_env"}
CLICKS = {"click": ("left", 1), "left_single": ("left", 1), "left_double": ("left", 2),
          "right_single": ("right", 1)}
_EPISODE = DEFAULTS["episode"]
KEY_FUNCTIONS = {"press": "press", "keydown": "keyDown", "keyup": "keyUp"}
TERMINALS = {"finished": "DONE", "call_user": "FAIL", "error_env": "FAIL", "wait": "WAIT"}


@dataclass(frozen=True)
class ActionOptions:
    screen: tuple[int, int] = (_EPISODE["screen_width"], _EPISODE["screen_height"])
    model_type: str = _EPISODE["model_type"]    # qwen25vl: smart-resized pixels; qwen2vl: relative to 1000
    typing_interval: float = _EPISODE["typing_interval"]    # seconds per typed character
    clipboard_tool: str | None = "xclip"  # how non-ASCII text is pasted; None: dropped with a warning
    # each code string finishes well within the guest's 120 s execute limit
    max_code_seconds: float = 100.0


@dataclass
class CompiledPrediction:
    ok: bool
    format_reward: float
    terminal: str | None
    actions: list[dict] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    history_text: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {"ok": self.ok, "format_reward": self.format_reward, "terminal": self.terminal,
                "actions": self.actions, "code": self.code, "history_text": self.history_text,
                "warnings": self.warnings, "error": self.error}


def smart_resize(height: int, width: int, factor: int = 28, min_pixels: int = 100 * 28 * 28,
                 max_pixels: int = 16384 * 28 * 28) -> tuple[int, int]:
    """Qwen2.5-VL's resize: both sides multiples of `factor`, pixel count within bounds, aspect kept."""
    h_bar, w_bar = max(factor, round(height / factor) * factor), max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def restore_box_tokens(text: str) -> str:
    """start_box='(x,y)' → start_box='<|box_start|>(x,y)<|box_end|>'
    (no space after the comma, as trained)."""
    return re.sub(r"(start_box|end_box)='\((\d+),(\d+)\)'", r"\1='<|box_start|>(\2,\3)<|box_end|>'", text)


def compile_prediction(prediction: str, options: ActionOptions = ActionOptions()) -> CompiledPrediction:
    history_text = restore_box_tokens(strip_leaked_tokens(prediction))
    compiler = _Compiler(options)
    try:
        for call in parse_calls(prediction):
            compiler.add(call)
            if compiler.terminal in ("DONE", "FAIL"):
                break          # finished/call_user end the prediction; what came before still runs
    except (ParseError, KeyError_, ValueError) as exc:
        return CompiledPrediction(False, -1.0, "DONE", history_text=history_text, error=str(exc))
    return CompiledPrediction(True, 0.0, compiler.terminal, compiler.actions, compiler.code, history_text,
                              compiler.warnings)


class _Compiler:
    def __init__(self, options: ActionOptions):
        self.options = options
        self.actions: list[dict] = []
        self.code: list[str] = []
        self.warnings: list[str] = []
        self.terminal: str | None = None
        width, height = options.screen
        if options.model_type == "qwen25vl":
            resized_h, resized_w = smart_resize(height, width)
            self.scale = (width / resized_w, height / resized_h)
        else:
            self.scale = (width / 1000, height / 1000)

    def add(self, call: Call) -> None:
        name = call.name
        if name not in ACTION_NAMES:
            raise ValueError(f"unknown action {name!r} (known: {', '.join(sorted(ACTION_NAMES))})")
        if name in TERMINALS:
            self.terminal = TERMINALS[name]
            action = {"type": name}
            if name == "finished" and "content" in call.args:
                action["content"] = call.args["content"]
            self.actions.append(action)
            return
        method = "click" if name in CLICKS else "key" if name in KEY_FUNCTIONS else name
        getattr(self, f"_{method}")(call)

    # --- coordinates ----------------------------------------------------------------------------------------
    def point(self, call: Call, *keys: str, required: bool = True) -> tuple[float, float] | None:
        raw = next((call.args[k] for k in keys if k in call.args), None)
        if raw is None:
            if required:
                raise ValueError(f"action {call.name!r} needs {keys[0]}")
            return None
        text = raw
        for token in BOX_TOKENS:
            text = text.replace(token, "")
        numbers = next((m.groups() for form in BOX_FORMS if (m := form.match(text.strip()))), None)
        if numbers is None:
            raise ValueError(f"action {call.name!r}: {keys[0]}={raw!r} is not a box like '(x,y)'")
        values = [float(n) for n in numbers]
        x, y = (values[0], values[1]) if len(values) == 2 else \
            ((values[0] + values[2]) / 2, (values[1] + values[3]) / 2)
        return self.to_screen(x * self.scale[0], y * self.scale[1])

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        width, height = self.options.screen
        cx, cy = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
        if (cx, cy) != (x, y):
            self.warnings.append(f"coordinates ({x:.1f}, {y:.1f}) are outside the {width}x{height} screen; "
                                 f"clamped to ({cx:.1f}, {cy:.1f})")
        return round(cx, 2), round(cy, 2)

    def emit(self, action: dict, code: str) -> None:
        self.actions.append(action)
        self.code.append(code)

    # --- actions --------------------------------------------------------------------------------------------
    def _click(self, call: Call) -> None:
        button, clicks = CLICKS[call.name]
        x, y = self.point(call, "start_box", "point", "start_point")
        self.emit({"type": call.name, "x": x, "y": y, "button": button, "clicks": clicks},
                  f"pyautogui.click({round(x)!r}, {round(y)!r}, clicks={clicks!r}, button={button!r})")

    def _hover(self, call: Call) -> None:
        x, y = self.point(call, "start_box", "point", "start_point")
        self.emit({"type": "hover", "x": x, "y": y}, f"pyautogui.moveTo({round(x)!r}, {round(y)!r})")

    def _drag(self, call: Call) -> None:
        x1, y1 = self.point(call, "start_box", "start_point", "point")
        x2, y2 = self.point(call, "end_box", "end_point")
        self.emit({"type": "drag", "x": x1, "y": y1, "x2": x2, "y2": y2},
                  f"pyautogui.moveTo({round(x1)!r}, {round(y1)!r}); pyautogui.mouseDown(button='left'); "
                  f"pyautogui.moveTo({round(x2)!r}, {round(y2)!r}, duration=0.5); "
                  "pyautogui.mouseUp(button='left')")

    def _hotkey(self, call: Call) -> None:
        keys = split_keys(self.key_arg(call))
        self.emit({"type": "hotkey", "keys": keys}, f"pyautogui.hotkey({', '.join(map(repr, keys))})")

    def _key(self, call: Call) -> None:
        """press / keydown / keyup: one key, normalized as for hotkey."""
        key = normalize_key(self.key_arg(call))
        self.emit({"type": call.name, "key": key}, f"pyautogui.{KEY_FUNCTIONS[call.name]}({key!r})")

    @staticmethod
    def key_arg(call: Call) -> str:
        value = call.args.get("key", call.args.get("keys", ""))
        if value == "":
            raise ValueError(f"action {call.name!r} has an empty key")
        return value

    def _scroll(self, call: Call) -> None:
        direction = call.args.get("direction", "").strip().lower()
        if direction not in ("up", "down", "left", "right"):
            raise ValueError(f"scroll direction must be up, down, left or right, got {direction!r}")
        where = self.point(call, "start_box", "point", "start_point", required=False)
        amount = SCROLL_CLICKS if direction in ("up", "right") else -SCROLL_CLICKS
        function = "scroll" if direction in ("up", "down") else "hscroll"
        at = f", x={round(where[0])!r}, y={round(where[1])!r}" if where else ""
        action = {"type": "scroll", "direction": direction, "amount": amount}
        if where:
            action.update(x=where[0], y=where[1])
        self.emit(action, f"pyautogui.{function}({amount!r}{at})")

    def _type(self, call: Call) -> None:
        content = call.args.get("content")
        if content is None or content == "":
            raise ValueError("type needs non-empty content")
        submit = content.endswith("\n")
        text = content[:-1] if submit else content
        self.actions.append({"type": "type", "content": text, "submit": submit})
        self.code.extend(TypingPlan(self.options, self.warnings).code(text, submit))


class TypingPlan:
    """Text → code strings: write() for plain ASCII, shift+comma for '<', Enter/Tab keys, clipboard for the
    rest, split so that no string types for longer than max_code_seconds."""

    def __init__(self, options: ActionOptions, warnings: list[str]):
        self.options, self.warnings = options, warnings

    def code(self, text: str, submit: bool) -> list[str]:
        statements: list[tuple[str, float]] = []
        for kind, run in _runs(text):
            statements.extend(self.statements(kind, run))
        if submit:
            statements.append(("pyautogui.press('enter')", 0.05))
        return _pack(statements, self.options.max_code_seconds)

    def statements(self, kind: str, run: str) -> list[tuple[str, float]]:
        interval = self.options.typing_interval
        if kind == "ascii":
            chunk = max(1, int(self.options.max_code_seconds / 2 / max(interval, 1e-3)))
            return [(f"pyautogui.write({run[i:i + chunk]!r}, interval={interval!r})",
                     len(run[i:i + chunk]) * interval)
                    for i in range(0, len(run), chunk)]
        if kind == "<":
            return [("pyautogui.hotkey('shift', ',')", 0.05)] * len(run)
        if kind in ("\n", "\t"):
            return [(f"pyautogui.press({'enter' if kind == chr(10) else 'tab'!r})", 0.05)] * len(run)
        return self.paste(run)

    def paste(self, run: str) -> list[tuple[str, float]]:
        tool = self.options.clipboard_tool
        if tool is None:
            self.warnings.append(f"dropped {len(run)} characters pyautogui cannot type and no clipboard tool "
                                 f"is configured: {run[:20]!r}")
            return []
        argv = ["xclip", "-selection", "clipboard"] if tool == "xclip" else ["xsel", "--clipboard", "--input"]
        # The tool forks a child that keeps the selection; with the guest server's stdout/stderr pipes
        # inherited, the server's /execute would wait for that child until its 120 s limit
        # (osworld-protocol.md §6).
        return [(f"import subprocess; subprocess.run({argv!r}, input={run.encode('utf-8')!r}, check=False, "
                 "timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
                 "pyautogui.hotkey('ctrl', 'v')",
                 0.5)]


def _runs(text: str) -> list[tuple[str, str]]:
    """Split text into runs of one kind: 'ascii', '<', '\\n', '\\t' or 'other'
    (non-ASCII and control chars)."""
    runs: list[tuple[str, str]] = []
    for char in text:
        kind = "ascii" if char in TYPABLE else char if char in "<\n\t" else "other"
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + char)
        else:
            runs.append((kind, char))
    return runs


def _pack(statements: list[tuple[str, float]], budget: float) -> list[str]:
    """Join statements into code strings whose estimated run time stays within budget."""
    chunks: list[list[str]] = [[]]
    spent = 0.0
    for statement, seconds in statements:
        if chunks[-1] and spent + seconds > budget:
            chunks.append([])
            spent = 0.0
        chunks[-1].append(statement)
        spent += seconds
    return ["; ".join(chunk) for chunk in chunks if chunk]
