"""What the daemon's and the tunnel's configs share: a key's Setting (default, check, description), the
checks, merging a file over the defaults, and the exit code of a configuration error.

A leaf module (PyYAML-free, no daemon imports), so the tunnel and every entry point can import it.
"""
from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass
from typing import Any, Callable

CONFIG_ERROR = 78                       # EX_CONFIG: supervisord does not restart a program that exits with it

Check = Callable[[Any], "str | None"]   # None: the value is fine; else what it must be ("must be a string")


@dataclass(frozen=True)
class Setting:
    """One config key: its default, the check every value (the default too) must pass, and what it is for."""

    default: Any
    check: Check
    doc: str


Schema = dict                           # key -> Setting, or key -> Schema for a section


def defaults_of(schema: Schema) -> dict:
    """The plain mapping of default values a schema declares, section by section."""
    return {key: defaults_of(entry) if isinstance(entry, dict) else entry.default
            for key, entry in schema.items()}


def merge_with_defaults(path: str, defaults: dict, given: dict, where: tuple = (), error=None) -> dict:
    """Defaults overlaid with the file's values; an unknown key or a misplaced mapping is an error naming it.

    An empty section (`server:` with every key commented out) keeps its defaults."""
    error = error or ConfigError
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        name = ".".join(where + (str(key),))
        if key not in defaults:
            raise error(f"{path}: unknown key '{name}'")
        if isinstance(defaults[key], dict) and value is not None:
            if not isinstance(value, dict):
                raise error(f"{path}: '{name}' must be a mapping")
            out[key] = merge_with_defaults(path, defaults[key], value, where + (key,), error)
        elif not isinstance(defaults[key], dict):
            out[key] = value
    return out


def check_settings(path: str, schema: Schema, values: dict, where: tuple = (), error=None) -> None:
    """Every key of `values` (merged over the schema's defaults) passes its check, else `error` names it."""
    for key, entry in schema.items():
        name = ".".join(where + (key,))
        if isinstance(entry, dict):
            check_settings(path, entry, values[key], where + (key,), error)
            continue
        problem = entry.check(values[key])
        if problem:
            raise (error or ConfigError)(f"{path}: '{name}' {problem}")


class ConfigError(Exception):
    """A configuration problem; the message names the file and the key."""


# The checks. Each factory returns a Check; `what` says what a value must be; the error adds the value given.

def rule(ok: Callable[[Any], bool], what: str, show_value: bool = True) -> Check:
    """A check from a predicate; the value is left out of the error when it may be a secret."""
    def check(value: Any) -> str | None:
        if ok(value):
            return None
        return f"{what}, got {value!r}" if show_value else what
    return check


def optional(check: Check, what: str) -> Check:
    """None passes (it means "the default behaviour"); anything else must pass `check` (its error: `what`)."""
    return lambda value: None if value is None or check(value) is None else f"{what}, got {value!r}"


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(minimum: float = 0.0) -> Check:
    return rule(lambda v: is_number(v) and v >= minimum, f"must be a number >= {minimum}")


def positive_number() -> Check:
    return rule(lambda v: is_number(v) and v > 0, "must be a number > 0")


def integer(minimum: int, maximum: int | None = None, what: str | None = None) -> Check:
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
    return rule(lambda v: is_integer(v) and v >= minimum and (maximum is None or v <= maximum),
                what or f"must be an integer {bounds}")


def port() -> Check:
    return integer(1, 65535, "must be a TCP port (1-65535)")


def flag() -> Check:
    return rule(lambda v: isinstance(v, bool), "must be true or false")


def text(what: str = "must be a non-empty string") -> Check:
    return rule(lambda v: isinstance(v, str) and bool(v), what)


def a_path() -> Check:
    return text("must be a path")


def one_of(*choices: str, what: str | None = None) -> Check:
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    return rule(lambda v: isinstance(v, str) and v in choices, what or f"must be {listed}")


def list_of(item_ok: Callable[[Any], bool], what: str, non_empty: bool = False) -> Check:
    return rule(lambda v: isinstance(v, list) and (bool(v) or not non_empty) and all(map(item_ok, v)), what)


def is_ipv4(value: Any) -> bool:
    try:
        return isinstance(value, str) and ipaddress.ip_address(value).version == 4
    except ValueError:
        return False


def is_ip_network(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return False


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level() -> Check:
    return one_of(*LOG_LEVELS)
