"""Cell values as OSWorld's compare_table reads them, straight from the xlsx XML (OSWorld's metrics/utils.py):
numbers as floats, shared/inline/formula strings as text, errors as their code, anything else None; the sheet
part is found by its sheetId as OSWorld does."""
from __future__ import annotations

import zipfile
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def read_cell_value(path: str, sheet_name: str, coordinate: str):
    """The value saved in a cell, or None (no such file, sheet or cell, or a type OSWorld does not read)."""
    return read_sheet_values(path, sheet_name).get(coordinate)


def read_sheet_values(path: str, sheet_name: str) -> dict:
    """Every cell's saved value by coordinate, as read_cell_value reads it (empty: no such file or sheet)."""
    try:
        with zipfile.ZipFile(path) as book:
            shared = _shared_strings(book)
            workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
            sheet_ids = {sheet.get("name"): sheet.get("sheetId") for sheet in workbook.iter(f"{MAIN}sheet")}
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
