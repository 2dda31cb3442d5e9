"""Records every episode to disk from a background thread, off the answer's path.

The event loop only enqueues (a bounded queue, by count and by bytes): when the disk falls behind, a write is
dropped and counted rather than making the trainer wait. Every file is written atomically (temp file, rename),
so a daemon killed at any moment leaves complete files under final names; the next start removes leftover temp
files and marks the episodes it interrupted. Retention (total size, age) deletes the oldest episodes first.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from .store import EPISODE_FILE, STEPS_FILE, episode_dirs, frame_name, read_json

log = logging.getLogger("daemon.trajectories")
DROP_LOG_EVERY = 100
EARLY_FRAMES = 16                       # frames kept for episodes whose start is not written yet


@dataclass
class _Open:
    folder: Path
    meta: dict
    steps: list[bytes] = field(default_factory=list)


class TrajectoryWriter:
    def __init__(self, root: str | os.PathLike, max_bytes: int, max_age_days: float, queue_items: int,
                 queue_bytes: int):
        self.root = Path(root)
        self.max_bytes, self.max_age = max_bytes, max_age_days * 86400
        self.queue_items, self.queue_bytes = queue_items, queue_bytes
        self.queue: queue.Queue = queue.Queue()
        self.pending_bytes = 0
        self.pending_lock = threading.Lock()             # both threads update pending_bytes
        self.dropped = 0
        self.dropped_by_episode: dict[str, int] = {}
        self.on_drop = lambda: None
        self.open: dict[str, _Open] = {}                 # writer thread only, like `stored`
        self.stored: dict[Path, tuple[float, int]] = {}  # episode folder -> (started, bytes)
        self.early: dict[str, list[tuple[str, bytes]]] = {}   # a frame can come before its episode's start
        self.thread = threading.Thread(target=self._run, name="trajectory-writer", daemon=True)

    # --- the event loop's side: enqueue only ----------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def start_episode(self, meta: dict) -> None:
        self._put(meta["episode_id"], ("start", meta), 0)

    def add_frame(self, episode_id: str, index: int, image: bytes, image_format: str) -> None:
        """Queue one frame (the image bytes the answer carried in base64)."""
        self._put(episode_id, ("frame", episode_id, frame_name(index, image_format), image), len(image))

    def add_step(self, episode_id: str, step: dict) -> None:
        self._put(episode_id, ("step", episode_id, step), 0)

    def end_episode(self, episode_id: str, changes: dict) -> None:
        dropped = self.dropped_by_episode.pop(episode_id, 0)
        self._put(episode_id, ("end", episode_id, {**changes, "dropped_writes": dropped}), 0)

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued (bounded), then stop the thread."""
        self.queue.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("trajectory writer still busy after %.0f s at shutdown; %d item(s) not written",
                        timeout, self.queue.qsize())

    def _put(self, episode_id: str, item: tuple, size: int) -> None:
        if self.queue.qsize() >= self.queue_items or self.pending_bytes + size > self.queue_bytes:
            self.dropped += 1
            self.dropped_by_episode[episode_id] = self.dropped_by_episode.get(episode_id, 0) + 1
            self.on_drop()
            if self.dropped % DROP_LOG_EVERY == 1:
                log.warning("trajectory writer behind (%d queued, %.0f MB): dropped a %s write of episode %s "
                            "(%d dropped so far); check the disk under %s", self.queue.qsize(),
                            self.pending_bytes / 1e6, item[0], episode_id, self.dropped, self.root)
            return
        with self.pending_lock:
            self.pending_bytes += size
        self.queue.put((item, size))

    # --- the writer thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._sweep_at_start()
        except OSError as exc:
            log.error("cannot scan the trajectories folder %s: %s", self.root, exc)
        while (entry := self.queue.get()) is not None:
            item, size = entry
            try:
                getattr(self, f"_do_{item[0]}")(*item[1:])
            except (OSError, ValueError) as exc:
                log.error("trajectory %s write failed: %s; the episode's recording is incomplete (check the "
                          "free space and permissions under %s)", item[0], exc, self.root)
            finally:
                with self.pending_lock:
                    self.pending_bytes -= size

    def _do_start(self, meta: dict) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(meta["started"]))
        folder = self.root / day / meta["episode_id"]
        (folder / "frames").mkdir(parents=True, exist_ok=True)
        self.open[meta["episode_id"]] = _Open(folder, meta)
        self.stored[folder] = (meta["started"], 0)
        self._write(folder / EPISODE_FILE, json.dumps(meta, indent=1).encode())
        for name, image in self.early.pop(meta["episode_id"], []):
            self._write(folder / name, image)

    def _do_frame(self, episode_id: str, name: str, image: bytes) -> None:
        """The reset's frame can arrive before the reset's answer is observed:
        it waits for the episode's start."""
        episode = self.open.get(episode_id)
        if episode is not None:
            self._write(episode.folder / name, image)
            return
        if episode_id in self.early:         # only an episode's first frame waits: later frames of an episode
            return                           # whose start was dropped (queue full) or that ended are not kept
        while len(self.early) >= EARLY_FRAMES:
            self.early.pop(next(iter(self.early)))
        self.early[episode_id] = [(name, image)]

    def _do_step(self, episode_id: str, step: dict) -> None:
        episode = self.open.get(episode_id)
        if episode is not None:
            episode.steps.append(json.dumps(step, ensure_ascii=False).encode())
            self._write(episode.folder / STEPS_FILE, b"\n".join(episode.steps) + b"\n")

    def _do_end(self, episode_id: str, changes: dict) -> None:
        episode = self.open.pop(episode_id, None)
        if episode is None:
            return
        episode.meta.update(changes)
        self._write(episode.folder / EPISODE_FILE, json.dumps(episode.meta, indent=1).encode())
        self._apply_retention()

    def _write(self, path: Path, data: bytes) -> None:
        previous = path.stat().st_size if path.exists() else 0
        write_atomic(path, data)
        folder = path.parent.parent if path.parent.name == "frames" else path.parent
        started, size = self.stored.get(folder, (time.time(), 0))
        self.stored[folder] = (started, size + len(data) - previous)

    # --- retention and the start-up sweep -------------------------------------------------------------------
    def _apply_retention(self) -> None:
        now = time.time()
        total = sum(size for _, size in self.stored.values())
        recording = {episode.folder for episode in self.open.values()}
        for folder, (started, size) in sorted(self.stored.items(), key=lambda item: item[1][0]):
            if total <= self.max_bytes and now - started <= self.max_age:
                break
            if folder in recording:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            del self.stored[folder]
            total -= size
            log.info("retention: deleted trajectory %s (%.1f MB)", folder.name, size / 1e6)
            _remove_if_empty(folder.parent)

    def _sweep_at_start(self) -> None:
        """Remove temp files a killed daemon left, mark its unfinished episodes, measure what is stored."""
        for folder in episode_dirs(self.root):
            size = 0
            for path in [*folder.iterdir(), *(folder / "frames").glob("*")]:
                if path.name.startswith("."):
                    path.unlink(missing_ok=True)
                elif path.is_file():
                    size += path.stat().st_size
            meta = read_json(folder / EPISODE_FILE)
            if meta is not None and meta.get("outcome") == "running":
                meta.update(outcome="interrupted",
                            errors=[*meta.get("errors", []), "the daemon stopped mid-episode"])
                write_atomic(folder / EPISODE_FILE, json.dumps(meta, indent=1).encode())
            started = (meta or {}).get("started") or folder.stat().st_mtime
            self.stored[folder] = (float(started), size)
        self._apply_retention()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
