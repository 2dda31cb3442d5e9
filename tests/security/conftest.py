"""A hostile client's view: real HTTP against a real daemon on the simulated VMware (loopback only)."""
from __future__ import annotations

import contextlib
import resource

import pytest

from daemon.simulator.tasks import load_task
from tests.support import FINISH, SAVE, TYPE, DaemonProcess


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("security"), envs=2).start()
    yield process
    assert process.stop() == 0


def run_episode(daemon: DaemonProcess, env_idx: int = 0) -> float:
    """type, save, finish, evaluate on one env: the simulated type_and_save task scores 1.0."""
    status, answer = daemon.post("/env/reset",
                                 {"env_idx": env_idx, "task_config": load_task("type_and_save")})
    assert status == 200, answer
    for prediction in (TYPE, SAVE, FINISH):
        status, answer = daemon.post("/env/step", {"env_idx": env_idx, "prediction": prediction})
        assert status == 200, answer
    assert answer["is_done"] is True
    status, score = daemon.post("/env/evaluate", {"env_idx": env_idx})
    assert status == 200, score
    return score


@contextlib.contextmanager
def open_files_soft_limit(soft: int):
    """This process's soft descriptor limit lowered for the block: children started inside inherit it, as the
    daemon inherits supervisord's minfds (1024 by default)."""
    old_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (old_soft, hard))
