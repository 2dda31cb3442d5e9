"""The opt-in desktop-env adapter, against a stand-in desktop_env package in a separate process."""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.context import TaskContext
from daemon.evaluation.evaluate import evaluate_task
from daemon.evaluation.external.adapter import DesktopEnvMetrics, ExternalMetricError
from tests.evaluation.fake_guest import FakeGuest

STAND_IN = '''
import sys
def compare_audios(result, expected, **options):
    return 1.0 if open(result).read() == open(expected).read() else 0.25
def explodes(*args, **options):
    raise RuntimeError("boom")
def imported_modules(*args, **options):
    return float("daemon" in sys.modules)
'''


@pytest.fixture
def desktop_env_path(tmp_path):
    package = tmp_path / "site" / "desktop_env" / "evaluators" / "metrics"
    package.mkdir(parents=True)
    for folder in (package.parent.parent, package.parent):
        (folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text(STAND_IN)
    return str(tmp_path / "site")


@pytest.fixture
def adapter(desktop_env_path):
    metrics = DesktopEnvMetrics(sys.executable, env={**os.environ, "PYTHONPATH": desktop_env_path},
                                allowed=frozenset({"compare_audios", "explodes", "imported_modules",
                                                  "no_such_metric"}))
    yield metrics
    metrics.close()


def test_scores_by_name_in_a_long_lived_process(adapter, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("x")
    b.write_text("x")
    assert adapter.score("compare_audios", [str(a), str(b)], {}) == 1.0
    pid = adapter.process.pid
    b.write_text("y")
    assert adapter.score("compare_audios", [str(a), str(b)], {}) == 0.25
    assert adapter.process.pid == pid                               # one process, reused
    assert adapter.score("imported_modules", [], {}) == 0.0        # the daemon is never imported over there


def test_errors_are_reported_clearly(adapter):
    with pytest.raises(ExternalMetricError, match="RuntimeError"):
        adapter.score("explodes", [], {})
    with pytest.raises(ExternalMetricError, match="no_such_metric"):
        adapter.score("no_such_metric", [], {})
    broken = DesktopEnvMetrics(sys.executable, env={**os.environ, "PYTHONPATH": ""})
    with pytest.raises(ExternalMetricError, match="exited|did not start"):
        broken.score("compare_audios", [], {})


def test_tasks_our_metrics_lack_become_runnable_and_score_through_it(adapter, tmp_path):
    task = {"evaluator": {"func": "compare_audios",
                          "result": {"type": "vm_file", "path": "/home/user/take.wav", "dest": "take.wav"},
                          "expected": {"type": "vm_file", "path": "/home/user/gold.wav", "dest": "gold.wav"}}}
    assert missing_capabilities(task) != []
    assert missing_capabilities(task,
                                SimpleNamespace(evaluation={"desktop_env_python": sys.executable})) == []
    guest = FakeGuest(files={"/home/user/take.wav": b"audio", "/home/user/gold.wav": b"audio"})
    ctx = TaskContext(task_id="deck", cache_dir=tmp_path / "cache", external_metric=adapter.score)
    assert evaluate_task(task, guest, ctx, "DONE") == 1.0
