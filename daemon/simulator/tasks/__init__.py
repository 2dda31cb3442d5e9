"""Simulated tasks in OSWorld's task format. `{SIM_FILES}` in a task becomes the file:// URL of files/
here."""
from __future__ import annotations

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def load_task(name: str) -> dict:
    text = (FOLDER / f"{name}.json").read_text()
    return json.loads(text.replace("{SIM_FILES}", (FOLDER / "files").as_uri()))
