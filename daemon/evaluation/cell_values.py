"""Cell values as OSWorld's compare_table reads them, the value rules it matches them with, and `sheet_fuzzy`.

Followed from OSWorld's metrics/utils.py: `read_cell_value` reads the cached value straight from the xlsx XML (numbers
as floats, shared/inline/formula strings as text, errors as their code, anything else None), finding the sheet part
by its sheetId as OSWorld does; `value_matches` is `_match_value_to_rule` (re.<FLAGS>, eq/ne/lt/le/gt/ge,
approx:<tolerance>, spreadsheet_range, range.<xy>, str_list_eq, str_set_eq); `fuzzy_cells_match` is the
`sheet_fuzzy` rule (exact_match, includes, included_by, fuzzy_match by rapidfuzz's ratio, after normalization,
trimming, ignored characters and case folding). `method_gaps` and `fuzzy_gaps` name what is not understood here.
"""
from __future__ import annotations

import builtins
import functools
import importlib.util
import operator
import re
import zipfile
from xml.etree import ElementTree

from .errors import MalformedTask

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
FUZZY_TYPES = {"exact_match", "includes", "included_by", "fuzzy_match"}
FUZZY_KEYS = {"range", "type", "threshold", "ignore_case", "ignore_chars", "trim_leadings", "trim_trailings",
              "normalization"}
RAPIDFUZZ_HINT = "needs rapidfuzz from the docs extra: pip install '.[docs]'"


def rapidfuzz_available() -> bool:
    return importlib.util.find_spec("rapidfuzz") is not None


def read_cell_value(path: str, sheet_name: str, coordinate: str):
    """The value saved in a cell, or None (no such file, sheet or cell, or a type OSWorld does not read)."""
    return read_sheet_values(path, sheet_name).get(coordinate)


def read_sheet_values(path: str, sheet_name: str) -> dict:
    """Every cell's saved value by coordinate, as read_cell_value reads it (empty: no such file or sheet)."""
    try:
        with zipfile.ZipFile(path) as book:
            shared = _shared_strings(book)
            sheet_ids = {sheet.get("name"): sheet.get("sheetId")
                         for sheet in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{MAIN}sheet")}
            sheet = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet_ids[sheet_name]}.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}
    values = {}
    for cell in sheet.iter(f"{MAIN}c"):                # the first cell with a coordinate wins, as in OSWorld
        if cell.get("r") not in values:
            values[cell.get("r")] = _cell_value(cell, shared)
    return values


def _cell_value(cell, shared: list[str]):
    kind, value = cell.get("t", "n"), cell.find(f"{MAIN}v")
    try:
        if kind == "n":
            return float(value.text)
        if kind == "s":
            return shared[int(value.text)]
        if kind in ("str", "e"):
            return _stripped(value.text)       # OSWorld reads these through xmltodict, which strips text
        if kind == "inlineStr":
            return _stripped(cell.find(f"{MAIN}is/{MAIN}t").text)
    except (AttributeError, TypeError, ValueError, IndexError):
        return None
    return None


def _shared_strings(book: zipfile.ZipFile) -> list[str]:
    try:
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
    except (KeyError, ElementTree.ParseError):
        return []
    return ["".join(t.text or "" for t in item.iter(f"{MAIN}t")) for item in root.findall(f"{MAIN}si")]


def _stripped(text: str | None) -> str | None:
    return text.strip() if text is not None else None


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
        flags = functools.reduce(operator.or_, (getattr(re, flag) for flag in method.split(".")[1:]), re.RegexFlag(0))
        return re.search(ref, value, flags) is not None
    if method in COMPARISONS:
        return getattr(operator, method)(value, ref)
    if method.startswith("approx:"):
        try:
            return abs(float(value) - ref) <= float(method[7:])
        except (TypeError, ValueError):
            return False
    if method == "spreadsheet_range":                # the ranges lie between ref[0] (at least) and ref[1] (at most)
        from openpyxl.worksheet.cell_range import MultiCellRange
        return _within(MultiCellRange(ref[0]), value) and _within(value, MultiCellRange(ref[1]))
    if method.startswith("range."):                  # range.te [0, 2]: 0 < value <= 2
        return getattr(operator, "l" + method[6])(ref[0], value) and getattr(operator, "l" + method[7])(value, ref[1])
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
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import CellRange
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
        from rapidfuzz import fuzz
        return fuzz.ratio(one, two) >= check.get("threshold", 85.0)
    return one == two
