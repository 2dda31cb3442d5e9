"""What setup steps, getters and metrics of one task share: where files go, screen size, password, time
limits."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..atomic import write_atomic
from ..config import DEFAULTS
from . import downloads
from .errors import SetupError
from .host_policy import (
    HostPolicy,
    PolicyError,
    check_unpacked_size,
    default_policy,
    task_file,
    task_id_problem,
)
from .task_cache import use_task_folder

__all__ = ["SetupError", "TaskContext"]


@dataclass(frozen=True)
class TaskContext:
    task_id: str
    cache_dir: Path                    # shared by all workers; downloads/ is keyed by URL
    screen: tuple[int, int] = (DEFAULTS["episode"]["screen_width"], DEFAULTS["episode"]["screen_height"])
    client_password: str = DEFAULTS["evaluation"]["client_password"]
    download_timeout: float = DEFAULTS["evaluation"]["download_timeout"]
    step_timeout: float = DEFAULTS["evaluation"]["step_timeout"]
    # desktop-env's metrics, when configured
    external_metric: Callable[[str, list, dict], float] | None = None
    on_setup_failure: str = DEFAULTS["evaluation"]["on_setup_failure"]  # fail | continue (log it, carry on)
    log: logging.Logger | logging.LoggerAdapter = logging.getLogger("daemon.evaluation")
    policy: HostPolicy = field(default_factory=default_policy)  # what the task may touch on the host
    env_idx: int | None = None         # the worker's env: envs running the same task get their own subfolder

    @property
    def task_dir(self) -> Path:
        """This task's folder in the cache, held against eviction while this worker runs the task
        (task_cache.py), or its subfolder env<env_idx> when an env is set: envs running the same task at once
        (a rollout group) must not overwrite each other's files."""
        problem = task_id_problem(self.task_id)
        if problem:
            raise PolicyError(f"task_config.id {problem}")
        folder = use_task_folder(self.cache_dir / "tasks" / self.task_id)
        if self.env_idx is None:
            return folder
        env_folder = folder / f"env{self.env_idx}"
        env_folder.mkdir(exist_ok=True)
        return env_folder

    def task_file(self, name, key: str) -> Path:
        """Where the task's file `name` lives on the host: inside its folder, or PolicyError naming `key`."""
        return task_file(self.task_dir, name, key)

    def save(self, name, data: bytes, key: str = "dest") -> Path:
        """Bytes from the VM or a download as task file `name`, sized up before any library opens them."""
        path = self.task_file(name, key)
        write_atomic(path, data)
        check_unpacked_size(path, key)
        return path

    def placeholders(self, text: str) -> str:
        width, height = self.screen
        for key, value in {"{CLIENT_PASSWORD}": self.client_password, "{SCREEN_WIDTH}": width,
                           "{SCREEN_HEIGHT}": height, "{SCREEN_WIDTH_HALF}": width // 2,
                           "{SCREEN_HEIGHT_HALF}": height // 2}.items():
            text = text.replace(key, str(value))
        return text

    def fetch(self, url: str) -> Path:
        """The URL's bytes in the shared download cache, fetched under the host policy (downloads.py)."""
        return downloads.fetch(url, self.cache_dir / "downloads", self.policy, self.download_timeout)
