"""The task cache is bounded (size, age), evicts least recently used first, and never a folder a worker
holds."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon import config
from daemon.evaluation.context import TaskContext
from daemon.evaluation.host_policy import PolicyError
from daemon.evaluation.task_cache import _held, sweep, use_task_folder
from daemon.simulator.tasks import load_task
from tests.support import ROOT, SAVE, DaemonProcess

MB = 1024 * 1024
NOW = 1_900_000_000.0


@pytest.fixture(autouse=True)
def nothing_held():
    _held.release()
    yield
    _held.release()


def folder(cache: Path, name: str, megabytes: float, last_used: float) -> Path:
    path = cache / "tasks" / name
    path.mkdir(parents=True)
    (path / "result.bin").write_bytes(b"x" * int(megabytes * MB))
    os.utime(path, (last_used, last_used))
    return path


def left(cache: Path) -> list[str]:
    return sorted(os.listdir(cache / "tasks"))


def test_over_the_size_bound_the_least_recently_used_go_first(tmp_path):
    for name, age_days in (("newest", 1), ("old", 3), ("oldest", 5), ("middle", 2)):
        folder(tmp_path, name, 1, NOW - age_days * 86400)
    result = sweep(tmp_path, max_bytes=int(2.5 * MB), max_age=None, now=NOW)
    assert (result.removed == ["oldest", "old"] and result.freed_bytes == 2 * MB
            and result.kept_bytes == 2 * MB)
    assert left(tmp_path) == ["middle", "newest"]
    assert not any((tmp_path / "trash").iterdir())


def test_folders_unused_longer_than_the_age_bound_go_whatever_the_size(tmp_path):
    folder(tmp_path, "stale", 0.01, NOW - 10 * 86400)
    folder(tmp_path, "fresh", 0.01, NOW - 3600)
    assert sweep(tmp_path, max_bytes=None, max_age=7 * 86400, now=NOW).removed == ["stale"]
    assert left(tmp_path) == ["fresh"]


def test_within_bounds_nothing_goes(tmp_path):
    folder(tmp_path, "a", 1, NOW - 86400)
    assert sweep(tmp_path, max_bytes=2 * MB, max_age=7 * 86400, now=NOW).removed == []
    assert sweep(tmp_path / "empty", max_bytes=0, max_age=0, now=NOW).removed == []


HOLDER = """
import sys
from pathlib import Path
from daemon.evaluation.task_cache import use_task_folder
path = use_task_folder(Path(sys.argv[1]))
(path / "setup-output.txt").write_text("written at reset, read at evaluate")
print("held", flush=True)
sys.stdin.read()  # holds until the test closes stdin, like a worker between reset and evaluate
"""


def test_a_folder_held_by_a_worker_process_is_never_evicted(tmp_path):
    held = folder(tmp_path, "running", 1, NOW - 30 * 86400)
    folder(tmp_path, "idle", 1, NOW - 20 * 86400)
    worker = subprocess.Popen([sys.executable, "-c", HOLDER, str(held)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "held"
        result = sweep(tmp_path, max_bytes=0, max_age=86400, now=time.time() + 30 * 86400)
        assert result.removed == ["idle"] and result.in_use == 1
        assert (held / "setup-output.txt").read_text() == "written at reset, read at evaluate"
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
    assert sweep(tmp_path, max_bytes=0, max_age=None).removed == ["running"]  # released when the worker ended


def test_use_marks_the_folder_as_just_used(tmp_path):
    path = folder(tmp_path, "task", 0.01, time.time() - 30 * 86400)
    use_task_folder(path)
    _held.release()
    assert sweep(tmp_path, max_bytes=None, max_age=86400).removed == []


def test_a_folder_moved_away_by_a_sweep_is_made_afresh_and_held(tmp_path):
    path = tmp_path / "tasks" / "t"
    use_task_folder(path)
    os.rename(path, tmp_path / "gone")                    # what a sweep does between a worker's two uses
    assert use_task_folder(path) == path and path.is_dir()
    assert sweep(tmp_path, max_bytes=None, max_age=1, now=time.time() + 10).in_use == 1 and path.is_dir()


def test_one_folder_held_per_process_the_previous_task_is_released(tmp_path):
    use_task_folder(tmp_path / "tasks" / "first")
    use_task_folder(tmp_path / "tasks" / "second")
    result = sweep(tmp_path, max_bytes=None, max_age=1, now=time.time() + 10)
    assert result.removed == ["first"] and result.in_use == 1


@pytest.mark.parametrize("task_id", ["..", ".", "", "../../etc"])
def test_task_ids_that_would_leave_tasks_are_refused(tmp_path, task_id):
    with pytest.raises(PolicyError, match="task_config.id"):
        _ = TaskContext(task_id=task_id, cache_dir=tmp_path).task_dir
    assert not (tmp_path / "tasks").exists() or list((tmp_path / "tasks").iterdir()) == []


@pytest.mark.parametrize("key,value", [("cache_max_mb", -1), ("cache_max_age_days", "week"),
                                       ("cache_sweep_seconds", 0)])
def test_bad_bounds_are_config_errors_naming_the_key(tmp_path, key, value):
    path = tmp_path / "daemon.yaml"
    path.write_text(f"evaluation: {{{key}: {value}}}\nsimulator: {{count: 1}}\n")
    with pytest.raises(config.ConfigError, match=f"evaluation.{key}"):
        config.load(path)


def test_the_daemon_sweeps_its_cache(tmp_path):
    cache = tmp_path / "cache"
    folder(cache, "stale", 0.01, time.time() - 3 * 86400)
    folder(cache, "fresh", 0.01, time.time())
    daemon = DaemonProcess(tmp_path, envs=1, evaluation={"cache_dir": str(cache), "cache_max_age_days": 1,
                                                          "cache_sweep_seconds": 0.2})
    try:
        daemon.start()
        daemon.wait_for(lambda: left(cache) == ["fresh"], 30, "the stale task folder to be evicted")
        assert "task cache: evicted 1 folders" in daemon.log_path.read_text()
    finally:
        daemon.stop()


def test_envs_running_the_same_task_keep_their_own_files(tmp_path):
    """A rollout group runs one task on several envs at once: each env's getter saves into its own subfolder
    of the task's folder, so no env's metric reads a file another env's getter saved under the same name."""
    cache = tmp_path / "cache"
    task = load_task("type_and_save")
    task["evaluator"] = {"func": "file_contains",
                         "result": {"type": "vm_file", "path": "/home/user/Desktop/notes.txt",
                                    "dest": "notes.txt"},
                         "expected": {"type": "rule", "rules": {"expected": ["hello world"]}}}
    typed = {0: "hello world", 1: "goodbye"}
    daemon = DaemonProcess(tmp_path, envs=2, evaluation={"cache_dir": str(cache)})
    try:
        daemon.start()
        for env in typed:
            assert daemon.post("/env/reset", {"env_idx": env, "task_config": task})[0] == 200
        for env, text in typed.items():
            for prediction in (f"Action: type(content='{text}')", SAVE):
                assert daemon.post("/env/step", {"env_idx": env, "prediction": prediction})[0] == 200
        scores = {env: daemon.post("/env/evaluate", {"env_idx": env}) for env in typed}
    finally:
        daemon.stop()
    assert scores == {0: (200, 1.0), 1: (200, 0.0)}
    folder = cache / "tasks" / task["id"]
    assert {env: (folder / f"env{env}" / "notes.txt").read_text() for env in typed} == typed
