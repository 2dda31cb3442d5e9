"""compare_table for spreadsheets: the `docs` extra (pandas + openpyxl), imported only when a task needs it.

Behaviour follows OSWorld's compare_table (metrics/table.py): the result must open as a workbook; rules run in
order and the first failing rule scores 0.0. Sheets are named by index into the result (0), "RI<n>" /
"RN<name>" (result) or "EI<n>" / "EN<name>" (expected). Rules:
- `sheet_name`: the sheet name lists are equal; `sheet_data`: two sheets' values as pandas reads them, rounded
  to
  `precision` decimals (default 4); `sheet_print`: the CSV exports "<workbook without extension>-<sheet>.csv"
  that the task's postconfig made, their stripped lines from the last non-empty one backwards (optionally
  ignoring case);
- `sheet_fuzzy`: cell by cell over ranges (see matching); `check_cell`: one cell's value and styles against
  {"method", "ref"} rules; `zoom`: a sheet's zoom (100 when unset) against a rule; `freeze`: equal frozen
  panes;
  `data_validation`: every validation of a sheet matches one of `dv_props`, and there are at least as many;
- `chart`, `pivot_table`, `style`, `row_props`: the two sheets' charts, pivot tables, cell styles or row
  properties are equal (see spreadsheet_features).
Other rule types, properties and methods are refused by `rule_gaps`, so a task is never scored wrongly.
`compare_conference_city_in_order` (OSWorld's other workbook metric) checks C2:C22 of the active sheet in
order.
"""
from __future__ import annotations

import os

from ..errors import MalformedTask
from ..formats.text import read_lines
from ..formats.xlsx import read_cell_value
from ..registry import Need, metric
from . import matching
from . import spreadsheet_features as features

WORKBOOKS = Need("docs", ("pandas", "openpyxl"))
ONE_SHEET_RULES = {"check_cell", "zoom", "data_validation"}
VALIDATION_PROPS = {"ranges", "type", "formula1", "formula2", "operator", "allowBlank", "showDropDown",
                    "showInputMessage", "showErrorMessage", "error", "errorTitle", "errorStyle", "prompt",
                    "promptTitle", "imeMode"}


def rule_gaps(options: dict) -> list[str]:
    """What compare_table lacks for these options' rules (empty: runnable)."""
    gaps = []
    for rule in (options or {}).get("rules", []):
        kind = rule.get("type") if isinstance(rule, dict) else None
        if kind not in SUPPORTED_RULES:
            gaps.append(f"compare_table rule '{kind}' (not implemented)")
        elif kind in ("chart", "pivot_table", "style", "row_props"):
            gaps += features.prop_gaps(rule)
        elif kind == "sheet_fuzzy":
            gaps += matching.fuzzy_gaps(rule)
        elif kind in ONE_SHEET_RULES:
            gaps += _value_rule_gaps(rule)
    return list(dict.fromkeys(gaps))


def _value_rule_gaps(rule: dict) -> list[str]:
    if rule["type"] == "zoom":
        return matching.method_gaps(rule.get("method"))
    if rule["type"] == "check_cell":
        value_rules = list(rule.get("props", {}).values())
        return features.prop_gaps(rule) + [gap for value_rule in value_rules
                                           for gap in matching.method_gaps(value_rule.get("method"))]
    props = [(name, value_rule) for alternative in rule.get("dv_props", [])
             for name, value_rule in alternative.items()]
    return [f"compare_table data_validation property '{name}' (not implemented)"
            for name, _ in props if name not in VALIDATION_PROPS] + \
        [gap for _, value_rule in props for gap in matching.method_gaps(value_rule.get("method"))]


class Books:
    """The result and expected workbooks, by path, as pandas files and as openpyxl workbooks ("R" and "E")."""

    def __init__(self, result: str, expected: str | None):
        import openpyxl  # optional: docs extra
        import pandas as pd  # optional: docs extra
        self.paths = {"R": result, "E": expected}
        self.frames = {key: pd.ExcelFile(path) if path else None for key, path in self.paths.items()}
        self.workbooks = {key: openpyxl.load_workbook(path) if path else None
                          for key, path in self.paths.items()}

    def locate(self, index: int | str) -> tuple[str, str | None]:
        """Which workbook ("R" or "E") and which sheet an index names (None: no such position)."""
        if isinstance(index, int):
            return "R", self._by_position("R", index)
        where, kind = index[0], index[:2]
        if kind in ("RI", "EI"):
            return where, self._by_position(where, int(index[2:]))
        if kind in ("RN", "EN"):
            return where, index[2:]
        raise MalformedTask(f"unrecognized sheet index {index!r} (0, RI0, RNname, EI0 or ENname)")

    def _by_position(self, where: str, position: int) -> str | None:
        """Positions count worksheets only, as pandas lists them for OSWorld (chart sheets are skipped)."""
        book = self.workbooks[where]
        names = [sheet.title for sheet in book.worksheets] if book is not None else []
        return names[position] if 0 <= position < len(names) else None

    def sheet(self, index):
        """The openpyxl worksheet, or None when it does not exist."""
        where, name = self.locate(index)
        book = self.workbooks[where]
        return book[name] if book is not None and name in book.sheetnames else None

    def frame(self, index):
        """The sheet as a pandas frame, or None when it does not exist."""
        import pandas as pd  # optional: docs extra
        where, name = self.locate(index)
        if self.frames[where] is None or name is None:
            return None
        try:
            return pd.read_excel(self.frames[where], name)
        except (ValueError, KeyError, IndexError):
            return None

    def printed(self, index, ignore_case: bool) -> list[str] | None:
        where, name = self.locate(index)
        export = (f"{os.path.splitext(self.paths[where])[0]}-{name}.csv" if name and self.paths[where]
                  else None)
        if export is None or not os.path.exists(export):
            return None
        lines = [line.strip() for line in reversed(read_lines(export))]
        while lines and not lines[0]:
            lines.pop(0)
        return [line.lower() for line in lines] if ignore_case else lines

    def cell_source(self, index) -> tuple[str, str]:
        """(path, sheet name) for reading saved cell values."""
        where, name = self.locate(index)
        return self.paths[where], name or ""


@metric(needs=(WORKBOOKS,), options={"rules"}, check=rule_gaps)
def compare_table(result: str | None, expected: str | None = None, rules: list | None = None,
                  **options) -> float:
    if result is None or not os.path.exists(result):
        return 0.0
    try:
        books = Books(result, expected)
    except Exception:                                  # noqa: BLE001  (any unreadable workbook: 0.0)
        return 0.0
    return float(all(RULES[rule["type"]](rule, books) for rule in rules or []))


def _sheet_data(rule: dict, books: Books) -> bool:
    first, second = books.frame(rule["sheet_idx0"]), books.frame(rule["sheet_idx1"])
    digits = rule.get("precision", 4)
    return first is not None and second is not None and first.round(digits).equals(second.round(digits))


def _sheet_print(rule: dict, books: Books) -> bool:
    first = books.printed(rule["sheet_idx0"], rule.get("ignore_case", False))
    return first is not None and first == books.printed(rule["sheet_idx1"], rule.get("ignore_case", False))


def _compared(loader, key: str = "props"):
    """A rule comparing what `loader` reads from two sheets (charts, pivot tables, styles, rows)."""
    def rule_check(rule: dict, books: Books) -> bool:
        return loader(books.sheet(rule["sheet_idx0"]), rule.get(key, [])) == \
            loader(books.sheet(rule["sheet_idx1"]), rule.get(key, []))
    return rule_check


def _freeze(rule: dict, books: Books) -> bool:
    first, second = books.sheet(rule["sheet_idx0"]), books.sheet(rule["sheet_idx1"])
    return first is not None and second is not None and first.freeze_panes == second.freeze_panes


def _zoom(rule: dict, books: Books) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    return sheet is not None and _matches(sheet.sheet_view.zoomScale or 100.0, rule)


def _check_cell(rule: dict, books: Books) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    if sheet is None:
        return False
    cell = sheet[rule["coordinate"]]
    for name, value_rule in rule["props"].items():
        value = read_cell_value(*books.cell_source(rule["sheet_idx"]), rule["coordinate"]) \
            if name == "value" else features.cell_style(name, cell)
        if not _matches(value, value_rule):
            return False
    return True


def _data_validation(rule: dict, books: Books) -> bool:
    sheet = books.sheet(rule["sheet_idx"])
    if sheet is None:
        return False
    validations = sheet.data_validations.dataValidation
    return len(validations) >= len(rule["dv_props"]) and all(
        any(all(_matches(getattr(validation, name), value_rule) for name, value_rule in alternative.items())
            for alternative in rule["dv_props"]) for validation in validations)


def _matches(value, value_rule: dict) -> bool:
    """A value rule; one that cannot apply to the value (e.g. comparing None with a number) fails, as in
    OSWorld."""
    try:
        return matching.value_matches(value, value_rule)
    except (TypeError, AttributeError):
        return False


RULES = {
    "sheet_name": lambda rule, books: books.workbooks["E"] is not None and
    books.frames["R"].sheet_names == books.frames["E"].sheet_names,
    "sheet_data": _sheet_data,
    "sheet_print": _sheet_print,
    "sheet_fuzzy": lambda rule, books: matching.fuzzy_cells_match(
        books.cell_source(rule["sheet_idx0"]), books.cell_source(rule["sheet_idx1"]), rule["rules"]),
    "chart": _compared(features.charts, "chart_props"),
    "pivot_table": _compared(features.pivots, "pivot_props"),
    "style": _compared(features.styles),
    "row_props": _compared(features.rows),
    "freeze": _freeze,
    "zoom": _zoom,
    "check_cell": _check_cell,
    "data_validation": _data_validation,
}
SUPPORTED_RULES = set(RULES)


@metric(needs=(WORKBOOKS,), rule_keys={"expected"})
def compare_conference_city_in_order(result: str | None, rules: dict, **options) -> float:
    """Cells C2:C22 of the active sheet, in order, contain the expected city (or one of a list of
    spellings)."""
    import openpyxl  # optional: docs extra
    try:
        sheet = openpyxl.load_workbook(result).active
        cities = [row[0].value for row in sheet["C2:C22"]]
        expected = rules["expected"]
        return float(all(any(name in city for name in ([wanted] if isinstance(wanted, str) else wanted))
                         for city, wanted in zip(cities, expected)) and len(expected) >= len(cities))
    except Exception:  # noqa: BLE001  (unreadable workbook or empty cell: 0.0)
        return 0.0
