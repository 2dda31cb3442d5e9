"""Reading recorded trajectories: <root>/<YYYY-MM-DD>/<episode_id>/{episode.json, steps.jsonl,
frames/NNN.png}.

Episode ids and frame names that come from a URL are checked against a strict pattern before they touch a
path.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

from ..episode.episode import SYSTEM_TEXT

EPISODE_FILE = "episode.json"
STEPS_FILE = "steps.jsonl"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EPISODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FRAME_NAME = re.compile(r"^\d{3,6}\.(png|jpg)$")


FRAME_EXTENSIONS = {"png": "png", "jpeg": "jpg"}


def frame_name(index: int, image_format: str) -> str:
    """Where frame `index` (0: after reset, k: after step k) of an episode lives inside its folder."""
    return f"frames/{index:03d}.{FRAME_EXTENSIONS.get(image_format, 'png')}"


def action_line(history_text: str) -> str:
    """A step's action as the model wrote it, without the box tokens the history adds."""
    action = history_text.rsplit("Action:", 1)[-1].strip()
    return action.replace("<|box_start|>", "").replace("<|box_end|>", "")


def read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def episode_dirs(root: Path, newest_first: bool = False) -> Iterator[Path]:
    """Every episode folder, by day then by start (a folder's mtime), oldest first unless asked otherwise."""
    if not root.is_dir():
        return
    days = sorted((d for d in root.iterdir() if d.is_dir() and DAY.match(d.name)), reverse=newest_first)
    for day in days:
        folders = [f for f in day.iterdir() if f.is_dir() and EPISODE_ID.match(f.name)]
        yield from sorted(folders, key=lambda f: f.stat().st_mtime, reverse=newest_first)


def find_episode(root: Path, episode_id: str) -> Path | None:
    if not EPISODE_ID.match(episode_id or "") or not root.is_dir():
        return None
    for day in sorted(root.iterdir(), reverse=True):
        if DAY.match(day.name) and (day / episode_id / EPISODE_FILE).is_file():
            return day / episode_id
    return None


def read_steps(folder: Path) -> list[dict]:
    try:
        lines = (folder / STEPS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def list_episodes(root: Path, limit: int = 100) -> list[dict]:
    """The newest `limit` episodes' episode.json, newest first."""
    found = []
    for folder in episode_dirs(root, newest_first=True):
        meta = read_json(folder / EPISODE_FILE)
        if meta is not None:
            found.append(meta)
        if len(found) >= limit:
            break
    return found


def frame_path(root: Path, episode_id: str, name: str) -> Path | None:
    folder = find_episode(root, episode_id)
    if folder is None or not FRAME_NAME.match(name or ""):
        return None
    path = folder / "frames" / name
    return path if path.is_file() else None


def first_frame(folder: Path) -> Path | None:
    """The screenshot after reset (frames/000.png or .jpg)."""
    return next(iter(sorted((folder / "frames").glob("000.*"))), None)


def training_record(folder: Path) -> dict | None:
    """One episode as a chat a training script can load: the answer's messages with image paths for images."""
    meta = read_json(folder / EPISODE_FILE)
    if meta is None:
        return None
    first = first_frame(folder)
    messages = [_text("system", SYSTEM_TEXT),
                _text("user", meta.get("prompt") or meta.get("instruction", ""))]
    if first is not None:
        messages.append(_image(first))
    for step in read_steps(folder):
        messages.append(_text("assistant", step.get("history_text") or step.get("prediction", "")))
        if step.get("frame"):
            messages.append(_image(folder / step["frame"]))
    return {key: meta.get(key) for key in ("episode_id", "task_id", "instruction", "score", "outcome",
                                           "env_idx", "started", "ended", "task_config_sha256")} \
        | {"messages": messages}


def _text(role: str, text: str) -> dict:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _image(path: Path) -> dict:
    return {"role": "user", "content": [{"type": "image", "image": str(path.resolve())}]}
