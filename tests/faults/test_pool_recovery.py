"""The pool's recovery never dies on a failed spawn (descriptor exhaustion), and its watchdog recovers an env
that is neither serving nor recovering. In-process pool, real worker subprocesses on a simulated VMware."""
from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import signal
import time

import pytest

from daemon import config, simulator
from daemon.pool import POOL_PHASES, Pool, WorkerHandle
from daemon.worker.states import Phase
from tests.support import fresh_ip_base

from .helpers import FAST_FAULTS


@pytest.fixture
def settings(tmp_path, monkeypatch):
    home = tmp_path / "sim"
    path = tmp_path / "daemon.yaml"
    path.write_text(json.dumps({**FAST_FAULTS, "simulator": {"home": str(home), "count": 1,
                                                             "ip_base": fresh_ip_base()},
                                "run_dir": str(tmp_path / "run"),
                                "evaluation": {"cache_dir": str(tmp_path)}}))
    loaded = config.load(path)
    simulator.provision(home, 1, "fast", loaded.simulator["ip_base"])
    monkeypatch.setenv("VMRUN_SIM_HOME", str(home))
    yield loaded
    simulator.stop_all(home)


async def until(predicate, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


def serving(handle: WorkerHandle) -> bool:
    alive = handle.process is not None and handle.process.poll() is None
    return alive and handle.phase is Phase.IDLE


def test_recovery_survives_failed_spawns(settings, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    spawn, failures = WorkerHandle.spawn, []

    def spawn_failing_twice(handle, adopt=False):
        if not adopt and len(failures) < 2:             # the respawns of recovery: EMFILE twice
            failures.append(1)
            raise OSError(errno.EMFILE, "Too many open files")
        spawn(handle, adopt)

    monkeypatch.setattr(WorkerHandle, "spawn", spawn_failing_twice)

    async def scenario():
        pool = Pool(settings)
        pool.start()
        handle = pool.handles[0]
        await until(lambda: serving(handle), 20, "worker up")
        os.kill(handle.process.pid, signal.SIGKILL)
        await until(lambda: handle.phase in POOL_PHASES, 10, "recovery started")
        await until(lambda: serving(handle), 30, "recovered despite two failed spawns")
        await pool.drain_and_stop(5)

    asyncio.run(scenario())
    assert len(failures) == 2
    assert "Too many open files" in caplog.text \
        and "recovered (worker_died) after 3 attempt(s)" in caplog.text


def test_the_watchdog_recovers_an_env_stuck_recovering_without_a_recovery(settings, caplog):
    async def scenario():
        pool = Pool(settings)
        pool.start()
        handle = pool.handles[0]
        await until(lambda: serving(handle), 20, "worker up")
        pid = handle.process.pid
        handle.set_phase(Phase.RECOVERING)             # what a recovery task that died left behind
        await until(lambda: serving(handle) and handle.process.pid != pid, 20, "watchdog recovery")
        await pool.drain_and_stop(5)

    asyncio.run(scenario())
    assert "watchdog: the env is marked recovering but no recovery runs" in caplog.text
