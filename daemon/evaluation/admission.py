"""Can this install run a task? Pure and fast, from the declarations alone (registry.py): reset answers 400
for `shape_problems` and 422 with the list of `capability_gaps` before any VM time is spent."""
from __future__ import annotations

from . import getters, metrics, registry, steps
from .task_shape import shape_problems

__all__ = ["missing_capabilities", "capability_gaps", "shape_problems", "metric_gaps", "rule_key_gaps",
           "DESKTOP_ENV_METRICS"]

# Importing the packages declares every step, getter and metric (each module registers its own).
DECLARING_PACKAGES = (steps, getters, metrics)
# What desktop-env may be asked to score: the OSWorld metrics we know of, never one that runs VM code.
DESKTOP_ENV_METRICS = frozenset(registry.names("metric") | set(registry.REFUSED["metric"])) \
    - registry.RUNS_VM_CODE


def rule_key_gaps(name: str, expected) -> list[str]:
    """The keys of a `rule` getter's rules that the metric does not read: a task passing them would be scored
    wrongly. Some metrics take a list of rule objects."""
    declared = registry.find("metric", name)
    rules = expected.get("rules") if isinstance(expected, dict) and expected.get("type") == "rule" else None
    each = rules if isinstance(rules, list) else [rules]
    if declared is None or declared.rule_keys is None or not all(isinstance(rule, dict) for rule in each):
        return []
    keys = set().union(*each)
    return [f"metric '{name}' rule '{key}' (not implemented)" for key in sorted(keys - declared.rule_keys)]


def metric_gaps(name, options, expected) -> list[str]:
    """What our own implementation of a metric lacks for these options and rules (empty: we score it here)."""
    return registry.gaps("metric", name, options) + rule_key_gaps(name, expected)


def desktop_env_configured(settings) -> bool:
    return bool(settings is not None and settings.evaluation.get("desktop_env_python"))


def missing_capabilities(task_config: dict, settings=None) -> list[str]:
    """The shape problems of a task, or else what this install lacks to run it: [] = runnable."""
    return shape_problems(task_config, settings) or capability_gaps(task_config, settings)


def capability_gaps(task_config: dict, settings=None) -> list[str]:
    """What this install lacks to run a task that passed `shape_problems` (HTTP has checked its shape)."""
    evaluator = task_config.get("evaluator") or {}
    steps_given = list(task_config.get("config") or []) + list(evaluator.get("postconfig") or [])
    missing = [gap for step in steps_given for gap in _declared_gaps("step", step, "parameters")]
    funcs = evaluator.get("func")
    if funcs is None:
        missing.append("evaluator.func is missing")
    elif funcs != "infeasible":
        missing += _metrics_gaps(evaluator, funcs, desktop_env_configured(settings))
        for key in ("result", "expected"):
            configs = _as_list(evaluator.get(key))
            missing += [gap for config in configs for gap in _declared_gaps("getter", config)]
    return sorted(set(missing), key=missing.index)


def _metrics_gaps(evaluator: dict, funcs, external: bool) -> list[str]:
    names = funcs if isinstance(funcs, list) else [funcs]
    options = evaluator.get("options")
    options = options if isinstance(options, list) else [options] * len(names)
    expecteds = evaluator.get("expected")
    expecteds = expecteds if isinstance(expecteds, list) else [expecteds] * len(names)
    padded = zip(names, options + [None] * len(names), expecteds + [None] * len(names))
    # With desktop-env configured, OSWorld's own metrics score what ours lack.
    return [gap for name, option, expected in padded if not external or name not in DESKTOP_ENV_METRICS
            for gap in metric_gaps(name, option, expected)]


def _declared_gaps(kind: str, given, parameters_key: str | None = None) -> list[str]:
    """A step's or getter's gaps: declared, its libraries here, its hook taking what the task gives."""
    name = given.get("type") if isinstance(given, dict) else None
    if parameters_key is not None and isinstance(given, dict):
        given = given.get(parameters_key)
    return registry.gaps(kind, name, given)


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
