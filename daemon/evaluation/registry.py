"""The one registry of setup steps, getters and metrics. Each is declared where it is defined:

    @metric(needs=(Need("docs", ("bs4", "lxml")),), options={"ignore_sdnum"})
    def compare_htmls(result, expected, ignore_sdnum=False, **options) -> float: ...

A declaration names the step, getter or metric as OSWorld's tasks spell it and says what it needs: the
libraries it imports when it runs (and the extra that brings them), the options it reads (a metric's
`evaluator.options`, passed as keyword arguments), the keys of a `rule` getter's rules it reads, and, where
what it supports depends on the task, one hook `check(given) -> list[str]` (given: a metric's options, a
getter's config, a step's parameters). `gaps` answers from the declarations alone what this install lacks to
run one; admission.py walks a task with it. This module imports nothing of the project: every declaring
module imports it, so it closes no import cycle.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

LABELS = {"step": "setup step", "getter": "getter", "metric": "metric"}
ANY_OPTIONS = None              # options=ANY_OPTIONS: its hook checks them (e.g. passed on to another metric)


@dataclass(frozen=True)
class Need:
    """Libraries (import names) that come with an extra; `hint` says how to get them when one is absent."""
    extra: str
    libraries: tuple[str, ...]
    hint: str = ""

    def missing(self) -> str | None:
        """Why this install lacks them, or None. Found, not imported: the reset-time check stays cheap."""
        if all(importlib.util.find_spec(name) is not None for name in self.libraries):
            return None
        return self.hint or f"needs the {self.extra} extra: pip install '.[{self.extra}]'"


@dataclass(frozen=True)
class Declaration:
    kind: str                                           # step | getter | metric
    name: str                                           # as OSWorld's task files spell it
    run: Callable
    needs: tuple[Need, ...] = ()
    options: frozenset[str] | None = frozenset()        # the options a metric reads; others are refused
    rule_keys: frozenset[str] | None = None             # the rule keys it reads; None: rules are free data
    check: Callable[[dict], list[str]] | None = None    # what it lacks for these options, config, parameters


DECLARED: dict[str, dict[str, Declaration]] = {kind: {} for kind in LABELS}
REFUSED: dict[str, dict[str, str]] = {kind: {} for kind in LABELS}      # OSWorld's, not run here: why
RUNS_VM_CODE: set[str] = set()          # refused even when desktop-env's own metrics are configured


def _declare(kind: str, name: str | None, **fields) -> Callable:
    def register(run: Callable) -> Callable:
        declared = name or run.__name__
        if declared in DECLARED[kind]:
            raise ValueError(f"{LABELS[kind]} {declared!r} is declared twice")
        options = fields.pop("options", frozenset())
        rule_keys = fields.pop("rule_keys", None)
        DECLARED[kind][declared] = Declaration(
            kind, declared, run, options=None if options is ANY_OPTIONS else frozenset(options),
            rule_keys=None if rule_keys is None else frozenset(rule_keys), **fields)
        return run
    return register


def step(name: str | None = None, *, needs: tuple[Need, ...] = ()) -> Callable:
    """Declare a setup step, run as step(guest, ctx, parameters)."""
    return _declare("step", name, needs=needs)


def getter(name: str | None = None, *, needs: tuple[Need, ...] = (), check=None) -> Callable:
    """Declare a getter, run as getter(guest, ctx, config); `check(config)`: configurations it cannot read."""
    return _declare("getter", name, needs=needs, check=check)


def metric(name: str | None = None, *, needs: tuple[Need, ...] = (), options=frozenset(), rule_keys=None,
           check=None) -> Callable:
    """Declare a metric, run as metric(result[, expected], **options) -> score."""
    return _declare("metric", name, needs=needs, options=options, rule_keys=rule_keys, check=check)


def refuse(kind: str, name: str, reason: str, runs_vm_code: bool = False) -> None:
    """Declare one of OSWorld's steps, getters or metrics that this daemon does not run, and why."""
    REFUSED[kind][name] = reason
    if runs_vm_code:
        RUNS_VM_CODE.add(name)


def find(kind: str, name) -> Declaration | None:
    return DECLARED[kind].get(name) if isinstance(name, str) else None


def names(kind: str) -> frozenset[str]:
    return frozenset(DECLARED[kind])


def gaps(kind: str, name, given) -> list[str]:
    """What this install lacks to run a step, getter or metric with `given` (its options, config or
    parameters); [] means runnable. The same for each: declared at all, its libraries, hook and options."""
    declared = find(kind, name)
    label = f"{LABELS[kind]} '{name}'"
    if declared is None:
        reason = REFUSED[kind].get(name, "not implemented") if isinstance(name, str) else "not implemented"
        return [f"{label} ({reason})"]
    given = given if isinstance(given, dict) else {}
    missing = [f"{label} ({why})" for why in dict.fromkeys(need.missing() for need in declared.needs) if why]
    if declared.check is not None:
        missing += declared.check(given)
    if kind == "metric" and declared.options is not ANY_OPTIONS:
        unread = sorted(set(given) - declared.options)
        missing += [f"{name} option '{option}' (not implemented)" for option in unread]
    return missing


class Runs(Mapping):
    """The declared functions of one kind by name, e.g. METRICS["exact_match"](result, rules): a live view;
    KeyError for a name nobody declared (the admission check refuses those first)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __getitem__(self, name: str) -> Callable:
        return DECLARED[self.kind][name].run

    def __iter__(self):
        return iter(DECLARED[self.kind])

    def __len__(self) -> int:
        return len(DECLARED[self.kind])


STEPS, GETTERS, METRICS = Runs("step"), Runs("getter"), Runs("metric")
