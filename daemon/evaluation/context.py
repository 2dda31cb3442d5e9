"""What setup steps, getters and metrics of one task share: where files go, screen size, password, time limits."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class SetupError(Exception):
    """A setup or postconfig step failed; the message names the step and what went wrong."""


@dataclass(frozen=True)
class TaskContext:
    task_id: str
    cache_dir: Path                    # shared by all workers; downloads/ is keyed by URL
    screen: tuple[int, int] = (1920, 1080)
    client_password: str = "password"
    download_timeout: float = 300.0
    step_timeout: float = 120.0
    external_metric: Callable[[str, list, dict], float] | None = None    # desktop-env's metrics, when configured
    on_setup_failure: str = "fail"     # fail | continue (log the failed step and carry on, as OSWorld does)
    log: logging.Logger | logging.LoggerAdapter = logging.getLogger("daemon.evaluation")

    @property
    def task_dir(self) -> Path:
        path = self.cache_dir / "tasks" / "".join(c if c.isalnum() or c in "-_." else "_" for c in self.task_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def placeholders(self, text: str) -> str:
        width, height = self.screen
        for key, value in {"{CLIENT_PASSWORD}": self.client_password, "{SCREEN_WIDTH}": width,
                           "{SCREEN_HEIGHT}": height, "{SCREEN_WIDTH_HALF}": width // 2,
                           "{SCREEN_HEIGHT_HALF}": height // 2}.items():
            text = text.replace(key, str(value))
        return text

    def fetch(self, url: str) -> Path:
        """The URL's bytes in the shared download cache. Written to a temp file and renamed, so two envs fetching
        the same URL never see a half-written file; a pre-filled cache works offline."""
        folder = self.cache_dir / "downloads"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / hashlib.sha256(url.encode()).hexdigest()
        if target.exists():
            return target
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=self.download_timeout) as answer:
                while chunk := answer.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp, target)
        except OSError as exc:
            os.unlink(tmp)
            raise SetupError(f"download of {url} failed: {exc}; pre-fill {folder} (file name: sha256 of the URL) "
                             "to run offline") from exc
        return target
