"""Run one input through OSWorld's metric (reference venv, subprocess) and ours (in process), and compare.

A Case names a metric and builds its inputs (files under tmp_path, JSON-able values) as the getters would
hand them over. Outcomes are a score (compared to 1e-6), or "error" when the metric raised. Deliberate
differences are the rows of docs/differential.md's table: a documented case must show exactly the documented
pair of outcomes.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from daemon.evaluation.metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "differential.md"
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Case:
    id: str
    metric: str
    build: Callable[[Path], tuple]           # tmp_path -> (args, options)


def case(metric: str, label: str, build: Callable[[Path], tuple]) -> Case:
    return Case(f"{metric}-{label}", metric, build)


def outcome(call, errors: list) -> float | str:
    """The score, or "error" (its message kept in `errors` for the failure report)."""
    try:
        score = float(call())
    except Exception as exc:                   # noqa: BLE001  (a crash is an outcome to compare)
        errors.append(f"{type(exc).__name__}: {exc}"[:300])
        return "error"
    return "nan" if math.isnan(score) else score


def agree(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return abs(left - right) <= TOLERANCE
    return left == right


def documented_differences() -> dict[str, tuple]:
    """case id -> (OSWorld's outcome, ours), from the table rows
    `| case id | metric | input | osworld | ours | why |`."""
    rows = {}
    for line in TABLE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows[cells[0].strip("`")] = (parse(cells[3]), parse(cells[4]))
    return rows


def parse(text: str):
    return text if text in ("error", "nan") else float(text)


def check(case: Case, osworld, tmp_path: Path, differences: dict) -> None:
    args, options = case.build(tmp_path)
    json.dumps([args, options])                # what crosses to the reference process must be JSON
    errors: list[str] = []
    theirs = outcome(lambda: osworld.score(case.metric, args, options), errors)
    ours = outcome(lambda: METRICS[case.metric](*args, **options), errors)
    if case.id in differences:
        assert (theirs,
                ours) == differences[case.id], f"{case.id}: the documented difference changed {errors}"
    else:
        assert agree(theirs, ours), f"{case.id}: OSWorld {theirs}, ours {ours} {errors}"
