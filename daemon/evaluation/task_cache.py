"""The task cache (evaluation.cache_dir/tasks/<task id>/): bounded in size and age, least recently used out
first, and never a folder that a worker is using.

Every worker is its own process. A worker holds a shared flock on the folder of the task it runs, from the
first use (a reset's setup step or an evaluate's getter) until it uses another task's folder or ends, so
through the whole episode; each use also touches the folder's mtime, which is the "last used" the sweep orders
by. The sweep (a thread of the daemon process, every `cache_sweep_seconds`) takes an exclusive flock without
waiting: it fails while any worker holds the folder, which is then skipped. Holding it, the sweep renames the
folder into trash/ (atomic on one file system) and deletes it there. A worker that locked a folder checks that
its path still names that folder (the sweep may have moved it just before) and otherwise makes a fresh one.
downloads/ (keyed by URL, pre-filled for offline use) is not swept.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("daemon.cache")
OPEN_ATTEMPTS = 5  # a folder moved away this often in a row means something else is wrong


class _Held:
    """The task folder this process holds (a worker runs one episode at a time)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.path: Path | None = None
        self.fd: int | None = None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)                    # closing drops the flock
        self.path, self.fd = None, None


_held = _Held()


def _names_locked_folder(path: Path, fd: int) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def use_task_folder(path: Path) -> Path:
    """The task folder, created if needed, held by this process against eviction and marked as just used."""
    with _held.lock:
        if _held.path != path or not _names_locked_folder(path, _held.fd):
            _held.release()
            _held.fd = _open_locked(path)
            _held.path = path
        os.utime(path)
        return path


def _open_locked(path: Path) -> int:
    for _ in range(OPEN_ATTEMPTS):
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)           # waits only while a sweep moves this very folder (a rename)
        if _names_locked_folder(path, fd):
            return fd
        os.close(fd)
    raise OSError(f"the task folder {path} was moved away {OPEN_ATTEMPTS} times while being opened; check "
                  "that "
                  "only this daemon's cache sweep touches the cache")


@dataclass
class Sweep:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_bytes: int = 0
    in_use: int = 0


def folder_bytes(path: Path) -> int:
    total = 0
    for parent, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except FileNotFoundError:
                pass
    return total


def _folders_oldest_first(tasks: Path) -> list[tuple[float, Path]]:
    try:
        entries = [(entry.stat(follow_symlinks=False).st_mtime, Path(entry.path))
                   for entry in os.scandir(tasks)
                   if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    return sorted(entries)


def _evict(path: Path, trash: Path) -> bool:
    """Move the folder into trash and delete it; False when a worker holds it (or it is already gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        target = trash / f"{path.name}.{uuid.uuid4().hex}"
        trash.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    shutil.rmtree(target, ignore_errors=True)
    return True


def sweep(cache_dir: Path, max_bytes: int | None, max_age: float | None, now: float | None = None) -> Sweep:
    """Evict task folders, least recently used first, while the cache is over max_bytes or a folder is older
    than max_age seconds (None: no bound). Folders in use are skipped and still count."""
    now = time.time() if now is None else now
    tasks, trash = Path(cache_dir) / "tasks", Path(cache_dir) / "trash"
    shutil.rmtree(trash, ignore_errors=True)     # what a sweep cut off (daemon killed) left behind
    folders = [(mtime, path, folder_bytes(path)) for mtime, path in _folders_oldest_first(tasks)]
    result = Sweep(kept_bytes=sum(size for _, _, size in folders))
    for mtime, path, size in folders:
        too_old = max_age is not None and now - mtime > max_age
        too_big = max_bytes is not None and result.kept_bytes > max_bytes
        if not (too_old or too_big):
            break                                # newer folders are neither older nor needed to make room
        if _evict(path, trash):
            result.removed.append(path.name)
            result.freed_bytes += size
            result.kept_bytes -= size
        else:
            result.in_use += 1
    return result


class CacheSweeper:
    """Sweeps the task cache every `interval` seconds in a background thread of the daemon process."""

    def __init__(self, evaluation: dict):
        self.cache_dir = Path(evaluation["cache_dir"])
        max_mb, max_days = evaluation["cache_max_mb"], evaluation["cache_max_age_days"]
        self.max_bytes = None if max_mb is None else int(max_mb * 1024 * 1024)
        self.max_age = None if max_days is None else max_days * 86400.0
        self.interval = evaluation["cache_sweep_seconds"]
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Sweep:
        result = sweep(self.cache_dir, self.max_bytes, self.max_age)
        if result.removed or result.in_use:
            log.info("task cache: evicted %d folders (%.1f MB), %d in use kept, %.1f MB left in %s",
                     len(result.removed), result.freed_bytes / 1e6, result.in_use, result.kept_bytes / 1e6,
                     self.cache_dir / "tasks")
        return result

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cache-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.run_once()
            except OSError as exc:
                log.warning("task cache sweep of %s failed: %s; it runs again in %.0f s (check the folder's "
                            "permissions and free space)", self.cache_dir, exc, self.interval)
            self._stopped.wait(self.interval)
