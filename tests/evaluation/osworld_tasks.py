"""The real OSWorld task files (../shared/data/osworld_tasks beside the checkout), for checks against real
usage."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "osworld_tasks"


def all_tasks():
    """(file name, task) of every real task file; skips without the files."""
    if not TASKS.is_dir():
        pytest.skip(f"OSWorld task files not found at {TASKS}")
    for path in sorted(TASKS.rglob("*.json")):
        yield path.name, json.loads(path.read_text())


def tasks_scored_by(*metrics: str):
    """(file name, task, evaluator) of every task whose single metric is one of these; skips without the
    files."""
    for name, task in all_tasks():
        evaluator = task.get("evaluator") if isinstance(task, dict) else None
        if isinstance(evaluator, dict) and evaluator.get("func") in metrics:
            yield name, task, evaluator


def tasks_using(*metrics: str):
    """(file name, task) of every task that scores with one of these metrics, alone or among others."""
    for name, task in all_tasks():
        funcs = (task.get("evaluator") or {}).get("func") if isinstance(task, dict) else None
        if set(funcs if isinstance(funcs, list) else [funcs]) & set(metrics):
            yield name, task
