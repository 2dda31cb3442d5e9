"""Reading text files from the VM as OSWorld's metrics do."""
from __future__ import annotations

from pathlib import Path


def read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8", errors="replace")


def readable_text(path: str | None) -> str | None:
    """read_text, or None when there is no path or the file cannot be read."""
    if not path:
        return None
    try:
        return read_text(path)
    except OSError:
        return None


def read_lines(path: str) -> list[str]:
    """A text file's lines as OSWorld reads them: UTF-8 (a byte-order mark stays part of line 1), else
    Latin-1."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return data.decode("latin-1").splitlines()
