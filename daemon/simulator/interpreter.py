"""What the simulated guest does with /execute: pyautogui programs walked as syntax trees, other commands
answered by a small simulated shell over the virtual file system. Nothing is ever run on the host.

Two behaviours of the real server (OSWorld's Flask /execute: subprocess.run with stdout/stderr pipes and a
time limit) are modelled as exceptions for the guest to answer: a program that is not installed
(MissingProgram: a 500 when run without a shell), and a command that outlives the server's time limit
(TimedOut): its waits (typing intervals, sleeps, move and drag durations) add up to more than the limit, or a
clipboard tool holds the server's pipes (xclip and xsel fork a child that keeps the selection and inherits
stdout/stderr unless they go to DEVNULL, so the real answer waits for the limit).
"""
from __future__ import annotations

import ast
import math
import posixpath
import shlex
import time

from .desktop import HOME, Desktop

# Simulated sleeps are capped (the simulator's latencies come from the scenario); their nominal seconds count
# towards the server's time limit.
SLEEP_CAP = 0.05
PYTHON = {"python", "python3"}
CLIPBOARD_TOOLS = ("xclip", "xsel")
ALLOWED_IMPORTS = {"pyautogui", "time", "subprocess", "pyperclip"}


class Refused(Exception):
    """The program uses something the guest simulation does not allow."""


class MissingProgram(Exception):
    """A command run without a shell names a program the guest does not have (the real server answers 500)."""


class TimedOut(Exception):
    """The command outlives the server's time limit: its waits add up to more than the limit (it is killed
    there: the statement the limit falls in runs whole, where the real one is cut short, and later ones do
    not run), or a clipboard tool it started holds the server's stdout/stderr pipes."""


class Clock:
    """The nominal seconds a command waits, against the server's time limit; the simulated sleeps are
    capped."""

    def __init__(self, limit: float):
        self.limit, self.seconds = limit, 0.0

    def wait(self, seconds: float) -> None:
        time.sleep(min(seconds, SLEEP_CAP))
        self.seconds += seconds
        if self.seconds > self.limit:
            raise TimedOut(f"its waits add up to more than {self.limit:g} seconds")


DEVNULL = object()                # subprocess.DEVNULL in a guest program


def execute(desktop: Desktop, command, shell: bool = False, limit: float = math.inf) -> dict:
    """OSWorld's /execute answer: {"status", "output", "error", "returncode"}. Raises MissingProgram or
    TimedOut (after the effects the command has before its time limit, `limit` seconds) where the real server
    would answer 500."""
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    if not shell and argv and not _installed(argv[0]):
        raise MissingProgram(argv[0])
    try:
        if argv[:2] and argv[0] in PYTHON and argv[1:2] == ["-c"] and len(argv) >= 3:
            run_python(desktop, argv[2], Clock(limit))
            return _answer(0, "", "")
        simulated = Shell(desktop, Clock(limit))
        answer = simulated.run(command if isinstance(command, str) and shell else shlex.join(argv))
        if simulated.held:
            raise TimedOut("xclip/xsel ran in input mode")
        return answer
    except Refused as exc:
        return _answer(1, "", f"refused by the simulated guest: {exc}")
    except SyntaxError as exc:
        return _answer(1, "", f"SyntaxError: {exc}")


def _answer(code: int, out: str, err: str) -> dict:
    return {"status": "success", "output": out, "error": err, "returncode": code}


def _installed(program: str) -> bool:
    return program in PYTHON or program == "sudo" or hasattr(Shell, f"cmd_{program.replace('-', '_')}")


# --- pyautogui programs -------------------------------------------------------------------------------------
def run_python(desktop: Desktop, source: str, clock: Clock) -> None:
    tree = ast.parse(source)
    held = False
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names = {alias.name for alias in statement.names}
            if not names <= ALLOWED_IMPORTS:
                raise Refused(f"import of {sorted(names - ALLOWED_IMPORTS)}")
        elif isinstance(statement, ast.Assign) and _is_failsafe(statement):
            continue
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            result = _call(desktop, statement.value)
            held = isinstance(result, HoldsPipes) or held
            if isinstance(result, float):
                clock.wait(result)
        else:
            raise Refused(f"statement {ast.dump(statement)[:80]}")
    if held:
        raise TimedOut("a clipboard tool ran without stdout and stderr sent to DEVNULL")


def _is_failsafe(node: ast.Assign) -> bool:
    (target,) = node.targets
    return (isinstance(target, ast.Attribute) and target.attr == "FAILSAFE"
            and isinstance(target.value, ast.Name) and target.value.id == "pyautogui"
            and isinstance(node.value, ast.Constant))


def _call(desktop: Desktop, node: ast.Call):
    """What the handler returns: the seconds it waits on the real guest (a float), HoldsPipes, or a value
    that does not count."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        raise Refused(f"call of {ast.dump(func)[:80]}")
    try:
        args = [_argument(a) for a in node.args]
        kwargs = {k.arg: _argument(k.value) for k in node.keywords}
    except ValueError as exc:
        raise Refused("arguments must be literals (or subprocess.DEVNULL)") from exc
    name = f"{func.value.id}.{func.attr}"
    handler = PYAUTOGUI.get(name)
    if handler is None:
        raise Refused(f"function {name}")
    with desktop.lock:
        return handler(desktop, *args, **kwargs)


def _argument(node: ast.expr):
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            (node.value.id, node.attr) == ("subprocess", "DEVNULL"):
        return DEVNULL
    return ast.literal_eval(node)


def _point(desktop: Desktop, x=None, y=None, *_, **__) -> None:
    if x is not None and y is not None:
        desktop.pointer = (int(x), int(y))


def _click(desktop: Desktop, x=None, y=None, clicks=1, button="left", **kwargs) -> None:
    _point(desktop, x, y)
    desktop.changed(f"{button} click x{clicks} at {desktop.pointer}")


def _scroll(desktop: Desktop, amount, x=None, y=None, **kwargs) -> None:
    _point(desktop, x, y)
    desktop.scroll += int(amount)
    desktop.changed(f"scroll {amount} at {desktop.pointer}")


def _hotkey(desktop: Desktop, *keys, **kwargs) -> None:
    for key in keys[:-1]:
        desktop.held.add(key.lower())
    desktop.key(keys[-1])
    desktop.held.clear()


def _write(desktop: Desktop, text, interval=0.0, **kwargs) -> float:
    desktop.type_text(text)
    return len(text) * float(interval)


def _mover(verb: str):
    """moveTo or dragTo: pyautogui's third argument is the movement's duration."""
    def move(desktop: Desktop, x=None, y=None, duration=0.0, *args, **kwargs) -> float:
        _point(desktop, x, y)
        desktop.changed(f"{verb} to {desktop.pointer}")
        return float(duration)
    return move


def _key_down(desktop: Desktop, key, **kwargs) -> None:
    desktop.held.add(key.lower())
    desktop.changed(f"key down {key}")


def _key_up(desktop: Desktop, key, **kwargs) -> None:
    desktop.held.discard(key.lower())
    desktop.changed(f"key up {key}")


class HoldsPipes:
    """What a clipboard call returns when its forked child keeps the inherited stdout or stderr."""


def _clipboard(desktop: Desktop, argv, input=b"", stdout=None, stderr=None, **kwargs) -> HoldsPipes | None:
    if not argv or argv[0] not in CLIPBOARD_TOOLS:
        raise Refused(f"subprocess.run of {argv!r}: only xclip/xsel as a clipboard")
    desktop.clipboard = input.decode("utf-8") if isinstance(input, bytes) else str(input)
    return None if stdout is DEVNULL and stderr is DEVNULL else HoldsPipes()


def _copy(desktop: Desktop, text, **kwargs) -> HoldsPipes:
    """pyperclip runs xclip with stdin piped and stdout/stderr inherited: its child holds the pipes."""
    desktop.clipboard = str(text)
    return HoldsPipes()


PYAUTOGUI = {
    "pyautogui.click": _click,
    "pyautogui.doubleClick": lambda d, x=None, y=None, **k: _click(d, x, y, clicks=2),
    "pyautogui.rightClick": lambda d, x=None, y=None, **k: _click(d, x, y, button="right"),
    "pyautogui.moveTo": _mover("move"),
    "pyautogui.dragTo": _mover("drag"),
    "pyautogui.mouseDown": lambda d, *a, **k: d.changed(f"mouse down at {d.pointer}"),
    "pyautogui.mouseUp": lambda d, *a, **k: d.changed(f"mouse up at {d.pointer}"),
    "pyautogui.scroll": _scroll,
    "pyautogui.hscroll": _scroll,
    "pyautogui.hotkey": _hotkey,
    "pyautogui.press": lambda d, key, presses=1, **k: [d.key(key) for _ in range(int(presses))],
    "pyautogui.keyDown": _key_down,
    "pyautogui.keyUp": _key_up,
    "pyautogui.write": _write,
    "pyautogui.typewrite": _write,
    "time.sleep": lambda d, seconds, **k: float(seconds),
    "subprocess.run": _clipboard,
    "pyperclip.copy": _copy,
}


# --- the simulated shell ------------------------------------------------------------------------------------
class Shell:
    """A few POSIX commands over the virtual file system; `a && b`, `a; b`, `> file` and `>> file` work."""

    def __init__(self, desktop: Desktop, clock: Clock):
        self.desktop, self.clock = desktop, clock
        self.cwd = HOME
        self.held = False              # a clipboard tool's child holds the pipes

    def run(self, line: str) -> dict:
        out, err, code = [], [], 0
        for words, joiner in _commands(line):
            if joiner == "&&" and code != 0:
                continue
            words, redirect = _redirect(words)
            with self.desktop.lock:
                code, stdout, stderr = self.command(words)
                if redirect:
                    mode, target = redirect
                    path = self.desktop.path(target, self.cwd)
                    old = self.desktop.files.get(path, b"") if mode == ">>" else b""
                    self.desktop.write_file(path, old + stdout.encode())
                    stdout = ""
            out.append(stdout)
            err.append(stderr)
        return _answer(code, "".join(out), "".join(err))

    def command(self, words: list[str]) -> tuple[int, str, str]:
        if not words:
            return 0, "", ""
        name, args = words[0], words[1:]
        handler = getattr(self, f"cmd_{name.replace('-', '_')}", None)
        if name in ("sudo",):
            return self.command([w for w in args if w not in ("-S", "-k")])
        if handler is None:
            return 127, "", f"bash: {name}: command not found\n"
        return handler(args)

    def file(self, raw: str) -> str:
        return self.desktop.path(raw, self.cwd)

    def cmd_echo(self, args):
        newline = "-n" not in args[:1]
        text = " ".join(args if newline else args[1:])
        return 0, text + ("\n" if newline else ""), ""

    def cmd_printf(self, args):
        return 0, (args[0].encode().decode("unicode_escape") if args else ""), ""

    def cmd_cat(self, args):
        out = []
        for arg in args:
            data = self.desktop.files.get(self.file(arg))
            if data is None:
                return 1, "".join(out), f"cat: {arg}: No such file or directory\n"
            out.append(data.decode("utf-8", "replace"))
        return 0, "".join(out), ""

    def cmd_ls(self, args):
        paths = [a for a in args if not a.startswith("-")] or [self.cwd]
        out = []
        for raw in paths:
            path = self.file(raw)
            if path in self.desktop.files:
                out.append(posixpath.basename(path))
            elif self.desktop.is_dir(path):
                out.extend(self.desktop.listing(path))
            else:
                return 2, "", f"ls: cannot access '{raw}': No such file or directory\n"
        return 0, "".join(f"{name}\n" for name in out), ""

    def cmd_mkdir(self, args):
        for raw in (a for a in args if not a.startswith("-")):
            self.desktop.mkdirs(self.file(raw))
        self.desktop.changed("mkdir", persist=True)
        return 0, "", ""

    def cmd_touch(self, args):
        for raw in args:
            path = self.file(raw)
            if path not in self.desktop.files:
                self.desktop.write_file(path, b"")
        return 0, "", ""

    def cmd_rm(self, args):
        for raw in (a for a in args if not a.startswith("-")):
            path = self.file(raw)
            self.desktop.files.pop(path, None)
            for inner in [p for p in self.desktop.files if p.startswith(path + "/")]:
                del self.desktop.files[inner]
            self.desktop.dirs.discard(path)
        self.desktop.changed("rm", persist=True)
        return 0, "", ""

    def cmd_cp(self, args, move: bool = False):
        files = [a for a in args if not a.startswith("-")]
        if len(files) != 2 or self.file(files[0]) not in self.desktop.files:
            return 1, "", f"{'mv' if move else 'cp'}: cannot stat '{files[0] if files else ''}'\n"
        source, target = self.file(files[0]), self.file(files[1])
        if self.desktop.is_dir(target):
            target = posixpath.join(target, posixpath.basename(source))
        data = self.desktop.files.pop(source) if move else self.desktop.files[source]
        self.desktop.write_file(target, data)
        return 0, "", ""

    def cmd_mv(self, args):
        return self.cmd_cp(args, move=True)

    def cmd_pwd(self, args):
        return 0, self.cwd + "\n", ""

    def cmd_cd(self, args):
        target = self.file(args[0] if args else HOME)
        if not self.desktop.is_dir(target):
            return 1, "", f"cd: {args[0]}: No such file or directory\n"
        self.cwd = target
        return 0, "", ""

    def cmd_test(self, args):
        if len(args) != 2:
            return 2, "", "test: only -f, -d and -e are simulated\n"
        flag, path = args[0], self.file(args[1])
        found = {"-f": path in self.desktop.files, "-d": self.desktop.is_dir(path),
                 "-e": path in self.desktop.files or self.desktop.is_dir(path)}.get(flag, False)
        return (0 if found else 1), "", ""

    def cmd_wc(self, args):
        data = self.desktop.files.get(self.file(args[-1]), b"") if args else b""
        lines = data.count(b"\n")
        return 0, f"{lines} {args[-1] if args else ''}\n", ""

    def cmd_which(self, args):
        known = {"python3": "/usr/bin/python3", "python": "/usr/bin/python", "gedit": "/usr/bin/gedit",
                 "xclip": "/usr/bin/xclip", "gsettings": "/usr/bin/gsettings"}
        found = [known[a] for a in args if a in known]
        return (0 if len(found) == len(args) else 1), "".join(f"{p}\n" for p in found), ""

    def cmd_gsettings(self, args):
        if args[:1] == ["set"] and len(args) >= 4:
            self.desktop.settings[f"{args[1]} {args[2]}"] = " ".join(args[3:])
            self.desktop.changed("gsettings", persist=True)
            return 0, "", ""
        if args[:1] == ["get"] and len(args) == 3:
            return 0, self.desktop.settings.get(f"{args[1]} {args[2]}", "''") + "\n", ""
        return 1, "", "gsettings: only get and set are simulated\n"

    def cmd_gedit(self, args):
        files = [a for a in args if not a.startswith("-")]
        self.desktop.open_in_editor(self.file(files[0]) if files else self.file("~/Untitled Document 1"))
        return 0, "", ""

    cmd_xdg_open = cmd_gedit

    def cmd_xclip(self, args):
        """Output and clear answer at once; input mode forks a child that keeps the selection and the pipes
        (this shell has no stdin pipe to read from and no stderr redirection, so input mode always holds
        them)."""
        if set(args) & {"-o", "-out", "--output", "-bo", "-ob"}:
            return 0, self.desktop.clipboard, ""
        if set(args) & {"-c", "--clear", "-bc", "-cb", "--delete"}:
            self.desktop.clipboard = ""
            return 0, "", ""
        self.held = True
        return 0, "", ""

    cmd_xsel = cmd_xclip

    def cmd_bash(self, args):
        if args[:1] != ["-c"] or len(args) < 2:
            return 2, "", "bash: only 'bash -c COMMAND' is simulated\n"
        answer = self.run(args[1])
        return answer["returncode"], answer["output"], answer["error"]

    cmd_sh = cmd_bash

    def cmd_sleep(self, args):
        self.clock.wait(float(args[0]) if args else 0.0)
        return 0, "", ""

    def cmd_true(self, args):
        return 0, "", ""

    def cmd_false(self, args):
        return 1, "", ""


def _commands(line: str) -> list[tuple[list[str], str]]:
    """Split a command line on && and ; into word lists, each with the operator that came before it."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
    lexer.whitespace_split = True
    commands, words, joiner = [], [], ";"
    for token in lexer:
        if token in ("&&", ";"):
            commands.append((words, joiner))
            words, joiner = [], token
        else:
            words.append(token)
    commands.append((words, joiner))
    return commands


def _redirect(words: list[str]) -> tuple[list[str], tuple[str, str] | None]:
    for i, word in enumerate(words):
        if word in (">", ">>") and i + 1 < len(words):
            return words[:i] + words[i + 2:], (word, words[i + 1])
    return words, None
