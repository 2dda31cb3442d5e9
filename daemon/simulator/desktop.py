"""The simulated guest's world: a virtual file system and a desktop with a text editor, drawn as a real PNG.

The desktop is drawn over a real Ubuntu screenshot so that frame sizes and compression behave like a real
VM's. The encoded frame is cached until something visible changes.
"""
from __future__ import annotations

import base64
import io
import json
import posixpath
import threading
from pathlib import Path

from PIL import Image, ImageDraw

from ..atomic import write_atomic
from .png import BandedPngEncoder

BACKGROUND = Path(__file__).resolve().parent.parent / "data" / "desktop_1920x1080.png"
SCREEN = (1920, 1080)
HOME = "/home/user"
EDITOR_BOX = (420, 160, 1500, 760)
PNG_COMPRESS_LEVEL = 1          # black and lock-screen frames
SHIFTED = {",": "<", ".": ">", "/": "?", ";": ":", "'": '"', "[": "{", "]": "}", "1": "!", "2": "@", "9": "(",
           "0": ")", "-": "_", "=": "+"}


class Desktop:
    """Guest state: files, editor, pointer, clipboard. Persisted to disk.json so a revert can restore it."""

    def __init__(self, disk_path: Path):
        self.disk_path = disk_path
        self.lock = threading.RLock()
        data = json.loads(disk_path.read_text()) if disk_path.exists() else {}
        self.files: dict[str, bytes] = {p: base64.b64decode(b) for p, b in data.get("files", {}).items()}
        self.dirs: set[str] = set(data.get("dirs", [HOME, f"{HOME}/Desktop", f"{HOME}/Documents", "/tmp"]))
        self.editor: dict | None = data.get("editor")          # {"path", "text", "saved"}
        self.settings: dict[str, str] = data.get("settings", {})
        self.launched: list[str] = data.get("launched", [])
        self.browser = None                                    # the simulated Chrome, once a task launches it
        self.pointer = (960, 540)
        self.clipboard = ""
        self.held: set[str] = set()
        self.select_all = False
        self.last_action = ""
        self.scroll = 0
        self.version = 0
        self._frame: tuple[int, bytes] | None = None
        self._background = Image.open(BACKGROUND).convert("RGB")
        self._encoder = BandedPngEncoder()
        self._layer: tuple[str | None, Image.Image] | None = None

    # --- persistence ----------------------------------------------------------------------------------------
    def save(self) -> None:
        data = {"files": {p: base64.b64encode(b).decode() for p, b in self.files.items()},
                "dirs": sorted(self.dirs), "editor": self.editor, "settings": self.settings,
                "launched": self.launched}
        write_atomic(self.disk_path, json.dumps(data).encode())

    def changed(self, what: str, persist: bool = False) -> None:
        self.version += 1
        self.last_action = what[:120]
        if persist:
            self.save()

    # --- files ----------------------------------------------------------------------------------------------
    @staticmethod
    def path(raw: str, cwd: str = HOME, expand: bool = True) -> str:
        """A guest path, absolute; `expand`: ~ and $HOME as the real server's expanduser/expandvars do."""
        if expand:
            raw = raw.replace("$HOME", HOME)
            if raw == "~" or raw.startswith("~/"):
                raw = HOME + raw[1:]
        return posixpath.normpath(posixpath.join(cwd, raw))

    def write_file(self, path: str, data: bytes) -> None:
        self.mkdirs(posixpath.dirname(path))
        self.files[path] = data
        self.changed(f"wrote {path}", persist=True)

    def mkdirs(self, path: str) -> None:
        while path not in ("/", ""):
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def is_dir(self, path: str) -> bool:
        return path == "/" or path in self.dirs

    def listing(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix):].split("/")[0] for p in [*self.files, *self.dirs] if p.startswith(prefix)}
        return sorted(n for n in names if n)

    def tree(self, path: str) -> dict:
        if path in self.files:
            return {"type": "file", "name": posixpath.basename(path)}
        children = [self.tree(posixpath.join(path, name)) for name in self.listing(path)]
        return {"type": "directory", "name": posixpath.basename(path) or "/", "children": children}

    # --- editor ---------------------------------------------------------------------------------------------
    def open_in_editor(self, path: str) -> None:
        text = self.files.get(path, b"").decode("utf-8", "replace")
        self.editor = {"path": path, "text": text, "saved": True}
        self.changed(f"opened {path}", persist=True)

    def type_text(self, text: str) -> None:
        if self.editor is None:
            self.changed(f"typed {text!r} with no window to receive it")
            return
        if self.select_all:
            self.editor["text"], self.select_all = "", False
        self.editor["text"] += text
        self.editor["saved"] = False
        self.changed(f"typed {text!r}")

    def key(self, key: str) -> None:
        key = key.lower()
        modifiers = self.held - {key}
        if modifiers & {"ctrl", "ctrlleft", "ctrlright"}:
            self.shortcut(key)
        elif "shift" in modifiers and len(key) == 1:
            self.type_text(SHIFTED.get(key, key.upper()))
        elif key in ("enter", "return"):
            self.type_text("\n")
        elif key == "tab":
            self.type_text("\t")
        elif key in ("backspace", "delete") and self.editor:
            self.editor["text"] = "" if self.select_all else self.editor["text"][:-1]
            self.select_all = False
            self.changed(f"pressed {key}")
        elif len(key) == 1:
            self.type_text(key)
        else:
            self.changed(f"pressed {key}")

    def shortcut(self, key: str) -> None:
        if key == "s" and self.editor:
            self.files[self.editor["path"]] = self.editor["text"].encode("utf-8")
            self.mkdirs(posixpath.dirname(self.editor["path"]))
            self.editor["saved"] = True
            self.changed(f"saved {self.editor['path']}", persist=True)
        elif key == "a":
            self.select_all = True
            self.changed("selected all")
        elif key == "c" and self.editor and self.select_all:
            self.clipboard = self.editor["text"]
            self.changed("copied")
        elif key == "v":
            self.type_text(self.clipboard)
        elif key == "w" and self.editor is None and self.browser and self.browser.close_active():
            self.changed("closed the active tab")
        else:
            self.changed(f"pressed ctrl+{key}")

    # --- screen ---------------------------------------------------------------------------------------------
    def screenshot(self, black: bool = False, locked: bool = False) -> bytes:
        with self.lock:
            if black or locked:
                return self._special_frame(locked)
            if self._frame and self._frame[0] == self.version:
                return self._frame[1]
            image = self._window_layer().copy()
            self._draw(ImageDraw.Draw(image))
            self._frame = (self.version, self._encoder.encode(image))
            return self._frame[1]

    def _window_layer(self) -> Image.Image:
        """The background with the editor window, kept until the window's title changes (a translucent window
        keeps a real frame's texture, so frames stay the size of a real VM's)."""
        title = None if self.editor is None else \
            posixpath.basename(self.editor["path"]) + ("" if self.editor["saved"] else " *") + \
            " - Text Editor"
        if self._layer is None or self._layer[0] != title:
            image = self._background.copy()
            if title is not None:
                draw = ImageDraw.Draw(image, "RGBA")
                left, top, right, bottom = EDITOR_BOX
                draw.rectangle(EDITOR_BOX, fill=(250, 250, 250, 215), outline=(60, 60, 60, 255), width=2)
                draw.rectangle((left, top, right, top + 36), fill=(48, 48, 48, 255))
                draw.text((left + 12, top + 10), title, fill=(240, 240, 240))
            self._layer = (title, image)
        return self._layer[1]

    def _draw(self, draw: ImageDraw.ImageDraw) -> None:
        if self.editor is not None:
            left, top = EDITOR_BOX[:2]
            lines = self.editor["text"].split("\n")[-60:]
            for row, line in enumerate(lines):
                draw.text((left + 14, top + 48 + row * 14), line[:180], fill=(20, 20, 20))
        x, y = self.pointer
        draw.polygon([(x, y), (x, y + 20), (x + 6, y + 15), (x + 14, y + 15)], fill=(255, 255, 255),
                     outline=(0, 0, 0))
        draw.text((20, SCREEN[1] - 30), f"last: {self.last_action}  scroll: {self.scroll}",
                  fill=(255, 255, 255))

    @staticmethod
    def _special_frame(locked: bool) -> bytes:
        image = Image.new("RGB", SCREEN, (20, 20, 40) if locked else (0, 0, 0))
        if locked:
            ImageDraw.Draw(image).text((900, 520), "Locked - enter password", fill=(220, 220, 220))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
        return buffer.getvalue()
