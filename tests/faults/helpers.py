"""Small timeouts so that every fault shows within seconds (the defaults are minutes, for real VMs)."""
from __future__ import annotations

from daemon.simulator.tasks import load_task

FAST_FAULTS = {
    "vmware": {"ip_timeout": 2.0, "reset_attempts": 2, "guest_ready_timeout": 10.0, "screenshot_timeout": 1.0,
               "liveness_timeout": 1.0, "execute_timeout": 20.0, "guest_request_timeout": 10.0},
    "evaluation": {"step_timeout": 2.0},
    "pool": {"recovery_backoff": [0.2, 0.5, 1.0], "watchdog_seconds": 0.5, "warm_probe_timeout": 1.0},
}
TYPE = "Action: type(content='hello world')"


def reset(daemon, env: int = 0, task: str = "type_and_save", **extra):
    return daemon.post("/env/reset", {"env_idx": env, "task_config": load_task(task), **extra}, timeout=60)


def step(daemon, env: int = 0, prediction: str = TYPE, **extra):
    return daemon.post("/env/step", {"env_idx": env, "prediction": prediction, **extra}, timeout=60)


def history(daemon, env: int = 0) -> list:
    return daemon.post("/env/history_messages", {"env_idx": env})[1]["history_messages"]


def serving(daemon, env: int) -> dict:
    """The env's health once it is neither recovering nor broken."""
    return daemon.wait_for(lambda: (h := daemon.env_health(env))["phase"] not in ("recovering", "broken",
                                                                                   "guest_lost") and h,
                           60, f"env {env} serving again")
