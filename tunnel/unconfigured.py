"""No tunnel config yet: a calm, visible state instead of an exit that supervisord would show as FATAL.

The tunnel process stays up (supervisorctl: RUNNING), says once in its log what to do, keeps the status file
the daemon's /health shows at {"state": "not_configured", ...}, and starts the tunnel by itself once the file
appears.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from daemon.atomic import write_atomic

from .config import DEFAULTS

log = logging.getLogger("tunnel")
POLL_SECONDS = 5.0                       # how soon a newly written config is noticed; also the status refresh


def status_path(config_path: Path) -> Path:
    """Where the tunnel would write its status: the default status_file, relative to the config's folder."""
    return (config_path.parent / DEFAULTS["status_file"]).resolve()


def wait_for_config(config_path: str | os.PathLike, stop: threading.Event,
                    poll: float = POLL_SECONDS) -> bool:
    """True once the config file exists; False when stop is set first."""
    path = Path(config_path).resolve()
    message = (f"no tunnel config at {path}, so the daemon is reachable on this machine only; to reach it "
               f"from the cluster, copy configs/tunnel.yaml.example to {path} and fill it in: the tunnel "
               "starts by itself")
    status = {"state": "not_configured", "since": time.time(), "config": str(path), "message": message,
              "pid": os.getpid()}
    log.warning("tunnel not configured: %s", message)
    while not stop.is_set():
        if path.exists():
            log.info("tunnel config found at %s: starting the tunnel", path)
            return True
        write_atomic(status_path(path), json.dumps({**status, "updated": time.time()}).encode())
        stop.wait(poll)
    return False
