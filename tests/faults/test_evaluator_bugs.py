"""A bug in one of our metrics is ours: never a 422 "task malformed", never a replaced worker or a reverted
VM. A bug in the worker's own code is a 500 worker_error, and the env is recovered with a new worker.

A setup step that raises what no step is expected to raise is the task's failure: a 502 setup_failed, the
worker stays.

The bugs are injected into the worker processes only: a sitecustomize on PYTHONPATH wraps the exact_match
metric so that it raises the exception the task's rule names (the daemon's reset-time checks see the real
metric), the sleep step so that it raises in the task "setup-bug", and the history operation so that it
raises in an episode of the task "crash-the-worker".
"""
from __future__ import annotations

import copy
import os

import pytest

from daemon.simulator import machines
from daemon.simulator.tasks import load_task
from tests.support import DaemonProcess

from .helpers import FAST_FAULTS, serving

BUGGY_METRIC = '''
import sys

if "daemon.worker" in getattr(sys, "orig_argv", ()):
    import dataclasses

    import daemon.evaluation.metrics           # its modules declare every metric
    import daemon.evaluation.steps             # and every setup step
    from daemon.evaluation.errors import MalformedTask
    from daemon.evaluation.registry import DECLARED

    RAISES = {"ValueError": ValueError, "IndexError": IndexError, "MalformedTask": MalformedTask}
    declared = DECLARED["metric"]["exact_match"]
    real_exact_match = declared.run

    def exact_match(result, rules, **options):
        if rules.get("expected") in RAISES:
            raise RAISES[rules["expected"]]("injected by tests/faults/test_evaluator_bugs.py")
        return real_exact_match(result, rules, **options)

    DECLARED["metric"]["exact_match"] = dataclasses.replace(declared, run=exact_match)

    sleep_step = DECLARED["step"]["sleep"]

    def sleep(guest, ctx, params):
        if ctx.task_id == "setup-bug":
            raise ValueError("injected into a setup step")
        return sleep_step.run(guest, ctx, params)

    DECLARED["step"]["sleep"] = dataclasses.replace(sleep_step, run=sleep)

    from daemon.worker.environment import Environment
    real_history = Environment.history

    def history(self, args):
        if self.episode is not None and self.episode.task_config.get("id") == "crash-the-worker":
            raise IndexError("injected into the worker's own code")
        return real_history(self, args)

    Environment.history = history
'''


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    plugin = tmp_path_factory.mktemp("buggy-metric")
    (plugin / "sitecustomize.py").write_text(BUGGY_METRIC)
    path = os.pathsep.join(filter(None, [str(plugin), os.environ.get("PYTHONPATH")]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", path)             # the daemon and its workers inherit it
        process = DaemonProcess(tmp_path_factory.mktemp("evaluator-bugs"), envs=1, **FAST_FAULTS).start()
    yield process
    process.stop()


def task_raising(exception: str) -> dict:
    task = copy.deepcopy(load_task("type_and_save"))
    task["evaluator"]["expected"]["rules"]["expected"] = exception
    return task


def vm_run(daemon) -> tuple:
    """Which run of the simulated VM this is: a revert or restart gives it a new guest process."""
    state = machines(daemon.home)[0].state()
    return state.get("pid"), state.get("started")


@pytest.mark.parametrize("exception", ["ValueError", "IndexError"])
def test_a_metric_bug_is_a_500_evaluator_error_the_worker_and_vm_stay(daemon, exception):
    status, answer = daemon.post("/env/reset", {"task_config": task_raising(exception)}, timeout=60)
    assert status == 200, answer
    worker, vm, episode = daemon.env_health(0)["pid"], vm_run(daemon), answer["episode_id"]
    log_start = len(daemon.log_path.read_bytes())

    status, answer = daemon.post("/env/evaluate", {}, timeout=60)
    assert (status, answer["error"]["code"]) == (500, "evaluator_error"), answer
    assert "'exact_match'" in answer["error"]["message"] and exception in answer["error"]["message"]
    assert "injected" not in answer["error"]["message"]           # the exception's text stays in the log

    health = daemon.env_health(0)
    assert (health["pid"], health["phase"], health["episode_id"]) == (worker, "running", episode)
    assert vm_run(daemon) == vm                                    # not reverted, not restarted
    status, answer = daemon.post("/env/evaluate", {}, timeout=60)  # the same worker, the same episode
    assert (status, answer["error"]["code"]) == (500, "evaluator_error"), answer
    assert daemon.post("/env/history_messages", {})[0] == 200
    assert daemon.env_health(0)["pid"] == worker and vm_run(daemon) == vm

    log = daemon.log_path.read_bytes()[log_start:].decode()
    lines = [line for line in log.splitlines() if "evaluator_error" in line and "daemon.worker" in line]
    assert len(lines) == 2, log                          # once per evaluate, with its env and episode
    assert all(f"env=0 episode={episode}" in line for line in lines)
    assert log.count(f"{exception}: injected by") == 4             # the detail and the traceback, once each
    assert log.count('raise RAISES[rules["expected"]]') == 2


def test_a_task_error_raised_on_purpose_stays_a_422(daemon):
    status, answer = daemon.post("/env/reset", {"task_config": task_raising("MalformedTask")}, timeout=60)
    assert status == 200, answer
    worker = daemon.env_health(0)["pid"]
    status, answer = daemon.post("/env/evaluate", {}, timeout=60)
    assert (status, answer["error"]["code"]) == (422, "task_not_runnable"), answer
    assert daemon.env_health(0)["pid"] == worker


def test_a_bug_in_the_worker_itself_is_a_500_worker_error_and_the_env_is_recovered(daemon):
    task = task_raising("nothing")
    task["id"] = "crash-the-worker"
    assert daemon.post("/env/reset", {"task_config": task}, timeout=60)[0] == 200
    worker = daemon.env_health(0)["pid"]
    status, answer = daemon.post("/env/history_messages", {})
    assert (status, answer["error"]["code"]) == (500, "worker_error"), answer
    health = daemon.wait_for(lambda: serving(daemon, 0)["pid"] != worker and daemon.env_health(0), 60,
                             "a new worker")
    assert health["phase"] == "idle" and health["warm"] is True         # its VM was recovered


def test_a_setup_that_raises_is_a_502_and_costs_no_worker(daemon):
    assert daemon.post("/env/reset", {"task_config": task_raising("nothing")}, timeout=60)[0] == 200
    worker = daemon.env_health(0)["pid"]
    task = {"id": "setup-bug", "instruction": "x", "evaluator": {"func": "infeasible"},
            "config": [{"type": "sleep", "parameters": {"seconds": 0}}]}
    status, answer = daemon.post("/env/reset", {"task_config": task}, timeout=60)
    assert (status, answer["error"]["code"]) == (502, "setup_failed"), answer
    assert "ValueError: injected into a setup step" in answer["error"]["message"]
    health = daemon.env_health(0)
    assert health["pid"] == worker and health["phase"] not in ("recovering", "broken"), health
    assert daemon.post("/env/reset", {"task_config": task_raising("nothing")}, timeout=60)[0] == 200
    assert daemon.env_health(0)["pid"] == worker
