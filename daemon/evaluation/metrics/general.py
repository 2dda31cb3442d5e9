"""The general metrics, which need only the standard library.

Each metric is written from OSWorld's documented behaviour; the app- and format-specific ones live in their
own modules (their optional libraries are imported only when a task that uses them is scored). Each takes the
result (and the expected value when the task has one) plus the task's options and returns OSWorld's score, in
[0, 1] for all but compare_images (raw SSIM). A result of None (nothing to score) scores 0.0.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import MalformedTask
from ..formats.text import read_lines, read_text
from ..registry import metric


@metric(rule_keys={"expected"})
def exact_match(result, rules: dict, **options) -> float:
    return float(result == rules["expected"])


@metric(rule_keys={"include", "exclude"})
def check_include_exclude(result, rules: dict, **options) -> float:
    if result is None:
        return 0.0
    included = all(item in result for item in rules.get("include", []))
    excluded = not any(item in result for item in rules.get("exclude", []))
    return float(included and excluded)


@metric(options={"ignore_blanks", "ignore_case"})
def compare_text_file(actual: str | None, expected: str | None, ignore_blanks: bool = False,
                      ignore_case: bool = False, **options) -> float:
    if actual is None or expected is None:
        return 0.0
    left, right = read_text(actual), read_text(expected)
    if ignore_blanks:
        left, right = re.sub(r"[\t\n]", " ", left).strip(), re.sub(r"[\t\n]", " ", right).strip()
        left, right = re.sub(r"\s+", " ", left), re.sub(r"\s+", " ", right)
    if ignore_case:
        left, right = left.lower(), right.lower()
    return float(left == right)


@metric(options={"ignore_case", "type"})
def literal_match(result, expected, ignore_case: bool = False, type: str = "str", **options) -> float:
    if type == "list":
        return float([str(r).lower() if ignore_case else r for r in result or []] ==
                     [str(e).lower() if ignore_case else e for e in expected])
    left, right = str(result), str(expected)
    return float((left.lower() == right.lower()) if ignore_case else left == right)


def _found_in(actual, wanted) -> bool:
    """`expect_in_result`: a list holds accepted values (one equals a text result or is in a list result); a
    text must be contained in the result."""
    if isinstance(wanted, list):
        return any((isinstance(actual, list) and item in actual)
                   or (isinstance(actual, str) and item == actual)
                   for item in wanted)
    try:
        return isinstance(wanted, str) and wanted in actual
    except TypeError:
        return False


EVALUATION_FAILED = "__EVALUATION_FAILED__"


# OSWorld does not read result_not_list either.
@metric(rule_keys={"expected", "expect_in_result", "ignore_list_order", "result_not_list"})
def check_direct_json_object(result, rules: dict, **options) -> float:
    if isinstance(result, str):
        try:
            # as OSWorld: Python-style quotes read as JSON
            result = json.loads(result.strip().replace("'", '"'))
        except ValueError:
            return 0.0
    expected = rules.get("expected", {})
    if not isinstance(result, dict) or EVALUATION_FAILED in expected.values():
        return 0.0                                    # an expected getter that could not read its page
    if rules.get("expect_in_result"):
        return float(all(_found_in(result.get(key), value) for key, value in expected.items()))
    if rules.get("ignore_list_order"):
        try:
            return float(all(sorted(result.get(key)) == sorted(value) for key, value in expected.items()))
        except TypeError:                             # a value that is not a list: OSWorld's comparison fails
            return 0.0
    return float(all(result.get(key) == value for key, value in expected.items()))


@metric(options={"strict", "ignore_case"})
def compare_csv(result: str | None, expected, strict: bool = True, ignore_case: bool = False,
                **options) -> float:
    """Line-by-line equality with any of the expected files; strict=False strips each line."""
    if result is None or not Path(result).exists():
        return 0.0
    def normalized(lines: list[str]) -> list[str]:
        lines = lines if strict else [line.strip() for line in lines]
        return [line.lower() for line in lines] if ignore_case else lines
    wanted = normalized(read_lines(result))
    for path in expected if isinstance(expected, list) else [expected]:
        if path and Path(path).exists() and normalized(read_lines(path)) == wanted:
            return 1.0
    return 0.0


@metric(rule_keys={"expected"})
def check_json_settings(actual: str | None, expected: dict, **options) -> float:
    """Every expected top-level key is in the settings file with the expected value."""
    if not actual:
        return 0.0
    try:
        data = json.loads(Path(actual).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    return float(isinstance(data, dict) and all(key in data and data[key] == value
                                                for key, value in expected["expected"].items()))


@metric(rule_keys={"type", "expected"})
def is_extension_installed(actual: str | None, rules: dict, **options) -> float:
    """`contain`: the expected text is in the result (e.g. `code --list-extensions`); `not_contain`: it is
    not. As OSWorld, an empty expected text is contained in any result."""
    wanted = rules.get("expected")
    if not isinstance(wanted, str) or actual is None:
        return 0.0
    if rules.get("type") == "contain":
        return float(wanted in actual)
    if rules.get("type") == "not_contain":
        return float(wanted not in actual)
    raise MalformedTask(f"is_extension_installed: unknown rule type {rules.get('type')!r}")


@metric(rule_keys={"expect", "unexpect"})
def check_list(result: str | None, rules: dict, **options) -> float:
    """Each line of the result file: every `expect` pattern matches some line, no `unexpect` pattern matches
    any."""
    if result is None:
        return 0.0
    lines = read_text(result).splitlines()
    expect = [re.compile(p) for p in rules.get("expect", [])]
    unexpect = [re.compile(p) for p in rules.get("unexpect", [])]
    found = all(any(p.search(line) for line in lines) for p in expect)
    clean = not any(p.search(line) for p in unexpect for line in lines)
    return float(found and clean)
