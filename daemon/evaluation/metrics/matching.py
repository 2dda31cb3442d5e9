"""The value rules OSWorld's metrics match values with (spreadsheet cells, app settings, tags, PDF pages), and
the
`sheet_fuzzy` rule of compare_table.

Followed from OSWorld's metrics/utils.py: `value_matches` is `_match_value_to_rule` (re.<FLAGS>,
eq/ne/lt/le/gt/ge, approx:<tolerance>, spreadsheet_range, range.<xy>, str_list_eq, str_set_eq);
`fuzzy_cells_match` is the
`sheet_fuzzy` rule (exact_match, includes, included_by, fuzzy_match by rapidfuzz's ratio, after normalization,
trimming, ignored characters and case folding). `method_gaps` and `fuzzy_gaps` name what is not understood
here.
"""
from __future__ import annotations

import builtins
import functools
import operator
import re

from ..errors import MalformedTask
from ..formats.xlsx import read_sheet_values
from ..registry import Need

COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
FUZZY_TYPES = {"exact_match", "includes", "included_by", "fuzzy_match"}
FUZZY_KEYS = {"range", "type", "threshold", "ignore_case", "ignore_chars", "trim_leadings", "trim_trailings",
              "normalization"}
RAPIDFUZZ_HINT = "needs rapidfuzz from the docs extra: pip install '.[docs]'"


RAPIDFUZZ = Need("docs", ("rapidfuzz",))


def rapidfuzz_available() -> bool:
    return RAPIDFUZZ.missing() is None


def method_gaps(method) -> list[str]:
    """Why a value rule's method is not understood here (empty: it is)."""
    if not isinstance(method, str):
        return [f"value rule method {method!r} (not implemented)"]
    known = (method in COMPARISONS | {"spreadsheet_range", "str_list_eq", "str_set_eq"}
             or re.fullmatch(r"re(\.[A-Z]+)*", method) or re.fullmatch(r"range\.[te]{2}", method))
    if method.startswith("approx:"):
        try:
            float(method[7:])
            known = True
        except ValueError:
            pass
    return [] if known else [f"value rule method '{method}' (not implemented)"]


def value_matches(value, rule: dict) -> bool:
    """OSWorld's `_match_value_to_rule`: {"method": ..., "ref": ...} applied to a value."""
    method, ref = rule["method"], rule["ref"]
    if method.startswith("re"):
        flags = functools.reduce(operator.or_, (getattr(re, flag) for flag in method.split(".")[1:]),
                                 re.RegexFlag(0))
        return re.search(ref, value, flags) is not None
    if method in COMPARISONS:
        return getattr(operator, method)(value, ref)
    if method.startswith("approx:"):
        try:
            return abs(float(value) - ref) <= float(method[7:])
        except (TypeError, ValueError):
            return False
    if method == "spreadsheet_range":  # the ranges lie between ref[0] (at least) and ref[1] (at most)
        from openpyxl.worksheet.cell_range import MultiCellRange  # optional: docs extra
        return _within(MultiCellRange(ref[0]), value) and _within(value, MultiCellRange(ref[1]))
    if method.startswith("range."):                  # range.te [0, 2]: 0 < value <= 2
        return (getattr(operator, "l" + method[6])(ref[0], value)
                and getattr(operator, "l" + method[7])(value, ref[1]))
    if method in ("str_list_eq", "str_set_eq"):      # a list formula such as '"Pass,Fail"'
        container = getattr(builtins, method[4:-3])
        return container(value.strip("\"'").split(",")) == container(ref)
    raise MalformedTask(f"unknown value rule method {method!r}")


def _within(inner, outer) -> bool:
    return all(cell_range in outer for cell_range in inner)


def fuzzy_gaps(rule: dict) -> list[str]:
    gaps = []
    for check in rule.get("rules", []):
        if check.get("type") not in FUZZY_TYPES:
            gaps.append(f"compare_table sheet_fuzzy type '{check.get('type')}' (not implemented)")
        gaps += [f"compare_table sheet_fuzzy option '{key}' (not implemented)"
                 for key in sorted(set(check) - FUZZY_KEYS)]
        if check.get("type") == "fuzzy_match" and not rapidfuzz_available():
            gaps.append(f"compare_table sheet_fuzzy fuzzy_match ({RAPIDFUZZ_HINT})")
    return gaps


def fuzzy_cells_match(first: tuple[str, str], second: tuple[str, str], checks: list[dict]) -> bool:
    """Every cell of every check's ranges, read from (path, sheet) first and second, passes that check."""
    from openpyxl.utils import get_column_letter  # optional: docs extra
    from openpyxl.worksheet.cell_range import CellRange  # optional: docs extra
    sheets = [read_sheet_values(*sheet) for sheet in (first, second)]
    for check in checks:
        for cell_range in check["range"]:
            for row, column in CellRange(cell_range).cells:
                coordinate = f"{get_column_letter(column)}{row}"
                one, two = (_normalized(str(values.get(coordinate)), check) for values in sheets)
                if not _compare(one, two, check):
                    return False
    return True


def _normalized(text: str, check: dict) -> str:
    for old, new in check.get("normalization", []):
        text = text.replace(old, new)
    if "trim_leadings" in check:
        text = text.lstrip(check["trim_leadings"])
    if "trim_trailings" in check:
        text = text.rstrip(check["trim_trailings"])
    ignored = set(check.get("ignore_chars", ""))
    text = "".join(ch for ch in text if ch not in ignored)
    return text.lower() if check.get("ignore_case", False) else text


def _compare(one: str, two: str, check: dict) -> bool:
    kind = check["type"]
    if kind == "includes":
        return two in one
    if kind == "included_by":
        return one in two
    if kind == "fuzzy_match":
        from rapidfuzz import fuzz  # optional: docs extra
        return fuzz.ratio(one, two) >= check.get("threshold", 85.0)
    return one == two
