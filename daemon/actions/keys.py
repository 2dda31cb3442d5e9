"""Key names: what models write → what pyautogui understands. One table for hotkey, press, keydown and
keyup."""
from __future__ import annotations

ALIASES = {
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "control": "ctrl", "return": "enter", "escape": "esc", "del": "delete", "ins": "insert",
    "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup", "page_down": "pagedown",
    "cmd": "win", "command": "win", "super": "win", "meta": "win", "windows": "win",
    "option": "alt", "spacebar": "space", "caps_lock": "capslock", "print": "printscreen",
    "back": "backspace", "bksp": "backspace",
}

# Named keys pyautogui knows (a subset of pyautogui.KEY_NAMES that desktop work uses); single characters pass.
NAMED = {
    "enter", "tab", "space", "backspace", "delete", "esc", "up", "down", "left", "right", "home", "end",
    "pageup", "pagedown", "insert", "ctrl", "ctrlleft", "ctrlright", "shift", "shiftleft", "shiftright",
    "alt", "altleft", "altright", "win", "winleft", "winright", "capslock", "numlock", "scrolllock",
    "printscreen",
    "pause", "menu", "apps", "volumeup", "volumedown", "volumemute", "playpause", "nexttrack", "prevtrack",
    *(f"f{n}" for n in range(1, 25)),
}


class KeyError_(ValueError):
    """A key name that pyautogui would silently ignore."""


def normalize_key(name: str) -> str:
    key = name.strip()
    if len(key) == 1:
        return key.lower() if key.isalpha() else key
    key = ALIASES.get(key.lower(), key.lower())
    if key not in NAMED:
        raise KeyError_(f"unknown key {name!r}")
    return key


def split_keys(spec: str) -> list[str]:
    """'ctrl shift t', 'ctrl+c', 'Ctrl C' → ['ctrl', 'shift', 't']; a lone '+' or ' ' is itself a key."""
    if spec.strip() == "" and spec:
        return ["space"]
    parts = spec.split() if " " in spec.strip() else ([spec] if spec.strip() == "+" else spec.split("+"))
    keys = [normalize_key(part) for part in parts if part.strip()]
    if not keys:
        raise KeyError_("empty key")
    return keys
