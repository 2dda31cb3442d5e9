"""OSWorld's evaluation skeleton: postconfig, infeasible, last-action FAIL, getters, metrics combined by conj.

A getter that finds nothing to score (ResultMissing) or whose guest request the guest answered with an error
(its controller gives None there) scores its metric 0.0, as OSWorld does. A guest that does not answer at all
is not a getter's failure: that still fails the evaluation.

What escapes evaluate_task: the daemon's own errors (OWN_ERRORS, PolicyError), MalformedTask (the task's
evaluator is written wrongly) or EvaluatorFault (anything else a getter, metric or postconfig step raised).
The worker's Environment.evaluate turns each into its answer (docs/architecture.md, "Faults").
"""
from __future__ import annotations

import logging
import os
import traceback

from ..guest.client import GuestError
from ..guest.devtools import DevToolsError
from .admission import metric_gaps
from .context import SetupError, TaskContext
from .errors import MalformedTask
from .external.adapter import ExternalMetricError
from .getters import GETTERS, ResultMissing
from .host_policy import PolicyError, names_host_file_outside
from .metrics import METRICS
from .steps import run_setup


class GetterFailed(ResultMissing):
    """The guest answered a getter's request with an error."""


# The daemon's own errors: their messages say what happened without quoting files or host paths.
OWN_ERRORS = (SetupError, GuestError, DevToolsError, ExternalMetricError, ResultMissing)
# What the skeleton raises reading an evaluator the task-shape check let through (e.g. an unknown getter).
SKELETON_MALFORMED = (KeyError, TypeError, ValueError)


class EvaluatorFault(Exception):
    """A getter, metric or postconfig step raised. Its text may quote file contents or host paths, so the
    answer names only which one and the exception type; `detail` (for the worker log) has the text and the
    traceback.
    `kind`: "malformed" (MalformedTask, raised on purpose: the task's fault), "io" (OSError: the host could
    not read or write a file) or "bug" (anything else, ValueError and IndexError included: our bug)."""

    def __init__(self, where: str, exc: Exception):
        super().__init__(f"{where} raised {type(exc).__name__}")
        self.kind = "malformed" if isinstance(exc, MalformedTask) else \
            "io" if isinstance(exc, OSError) else "bug"
        self.detail = f"{where}: {type(exc).__name__}: {exc}"[:1000].replace("\n", " ") + "\n" + \
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _guarded(where: str, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except OWN_ERRORS:
        raise
    except Exception as exc:                      # noqa: BLE001  (any error becomes an answer, never a crash)
        raise EvaluatorFault(where, exc) from exc


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def evaluate_task(task_config: dict, guest, ctx: TaskContext, last_action: str | None) -> float:
    try:
        return _evaluate(task_config, guest, ctx, last_action)
    except (*OWN_ERRORS, MalformedTask, EvaluatorFault):
        raise
    except SKELETON_MALFORMED as exc:
        raise MalformedTask(f"the task's evaluator is malformed ({type(exc).__name__}: {exc}); check its "
                            "getters and options") from exc
    except Exception as exc:                      # noqa: BLE001  (a bug in the skeleton: an evaluator's bug)
        raise EvaluatorFault("the evaluator", exc) from exc


def _evaluate(task_config: dict, guest, ctx: TaskContext, last_action: str | None) -> float:
    evaluator = task_config.get("evaluator") or {}
    _guarded("postconfig", run_setup, evaluator.get("postconfig", []), guest, ctx, "postconfig")
    funcs = evaluator.get("func")
    if funcs == "infeasible":
        return 1.0 if last_action == "FAIL" else 0.0
    if last_action == "FAIL":
        return 0.0
    names = _as_list(funcs)
    results = _as_list(evaluator.get("result")) if "result" in evaluator else [None] * len(names)
    expecteds = _as_list(evaluator.get("expected")) if "expected" in evaluator else [None] * len(names)
    options = (_as_list(evaluator.get("options") or {}) if isinstance(funcs, list)
               else [evaluator.get("options") or {}])
    options = options + [{}] * (len(names) - len(options))
    conj = evaluator.get("conj", "and")
    scores = []
    for name, result, expected, option in zip(names, results, expecteds, options):
        score = _score(name, result, expected, option or {}, guest, ctx)
        if conj == "and" and score == 0.0:
            return 0.0
        if conj == "or" and score == 1.0:
            return 1.0
        scores.append(score)
    if not scores:                                 # no metric named (the reset-time check refuses that)
        return 0.0
    return sum(scores) / len(scores) if conj == "and" else max(scores)


def _score(name: str, result_config, expected_config, options: dict, guest, ctx: TaskContext) -> float:
    try:
        result = _get(result_config, guest, ctx)
        args = [result] if expected_config is None else [result, _get(expected_config, guest, ctx)]
    except ResultMissing as exc:
        ctx.log.log(logging.WARNING if isinstance(exc, GetterFailed) else logging.INFO,
                    "metric %s scores 0.0: %s", name, exc)
        return 0.0
    if names_host_file_outside([args, options], (os.path.realpath(ctx.task_dir),)):
        raise PolicyError(f"metric {name!r} was given a host path outside the task's cache folder")
    gaps = metric_gaps(name, options, expected_config)
    if not gaps:
        return float(_guarded(f"metric {name!r}", METRICS[name], *args, **options))
    if ctx.external_metric is None:
        raise SetupError(f"metric {name!r} cannot be scored here: {gaps}")
    return ctx.external_metric(name, args, options)


def _get(config, guest, ctx: TaskContext):
    if config is None:
        return None
    try:
        return _guarded(f"getter {config.get('type')!r}", GETTERS[config["type"]], guest, ctx, config)
    except GuestError as exc:
        if exc.status is None:
            raise
        raise GetterFailed(
            f"getter {config['type']} failed (OSWorld's getter gives None here): {exc}") from exc
