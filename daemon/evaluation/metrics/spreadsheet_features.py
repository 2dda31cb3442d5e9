"""What compare_table compares beyond values, read with openpyxl as OSWorld's metrics/utils.py loaders do.

`charts` (load_charts): each chart keyed by its series' value and category references, with the chosen
chart_props (title, legend, width, height, type, direction, xtitle/ytitle/ztitle). `pivots`
(load_pivot_tables): each pivot table keyed by its source range (trimmed of unused fields) with the chosen
pivot_props. `styles` (load_xlsx_styles): each cell's chosen style properties (`cell_style`, also used by
check_cell). `rows` (load_rows_or_cols): each row dimension's chosen properties. A sheet that does not exist
has none of these. Refused: the chart `anchor` and the `hyperlink` style (OSWorld reads them inconsistently),
and conditional formatting, which OSWorld evaluates with a formula engine: a compared sheet that has any
raises SetupError instead of a score.
"""
from __future__ import annotations

from ..context import SetupError

CHART_PROPS = {"title", "legend", "width", "height", "type", "direction", "xtitle", "ytitle", "ztitle"}
PIVOT_PROPS = {"name", "show_total", "show_empty_row", "show_empty_col", "show_headers", "location",
               "selection",
               "filter", "ordered", "col_fields", "row_fields", "data_fields", "data_fields_name",
               "ignore_special_fields"}
STYLE_PROPS = {"number_format", "font_name", "font_family", "font_color", "font_bold", "font_italic",
               "font_underline", "font_size", "fill_type", "bgcolor", "fgcolor", "merge"}
ROW_PROPS = {"hidden", "collapsed", "height"}


def prop_gaps(rule: dict) -> list[str]:
    """The properties a chart/pivot_table/style/row_props/check_cell rule asks for that are not read here."""
    kind = rule.get("type")
    key, known = {"chart": ("chart_props", CHART_PROPS), "pivot_table": ("pivot_props", PIVOT_PROPS),
                  "style": ("props", STYLE_PROPS), "row_props": ("props", ROW_PROPS),
                  "check_cell": ("props", STYLE_PROPS | {"value"})}[kind]
    return [f"compare_table {kind} property '{name}' (not implemented)"
            for name in sorted(set(rule.get(key, [])) - known, key=str)]


def charts(sheet, props: list[str]) -> dict:
    found = {}
    for chart in sheet._charts if sheet is not None else []:
        key = ";".join(f"{_reference(series.val)},{_reference(series.cat)}" for series in chart.series)
        # Each reader takes the chart rather than closing over the loop variable (all run in this iteration).
        readers = {"title": lambda chart: _title_text(chart.title),
                   "legend": lambda chart: chart.legend.position if chart.legend is not None else None,
                   "width": lambda chart: chart.width, "height": lambda chart: chart.height,
                   "type": lambda chart: chart.tagname,
                   "direction": lambda chart: getattr(chart, "barDir", None),
                   "xtitle": lambda chart: _axis_title(chart, "x_axis"),
                   "ytitle": lambda chart: _axis_title(chart, "y_axis"),
                   "ztitle": lambda chart: _axis_title(chart, "z_axis")}
        found[key] = {name: readers[name](chart) for name in props}
    return found


def _reference(data) -> str:
    """A series' data reference formula, numeric or text ("" when it has none)."""
    for kind in ("numRef", "strRef"):
        formula = getattr(getattr(data, kind, None), "f", None)
        if formula is not None:
            return formula
    return ""


def _title_text(title):
    try:
        return title.tx.rich.p[0].r[0].t
    except (AttributeError, IndexError, TypeError):
        return None


def _axis_title(chart, axis: str):
    return _title_text(getattr(getattr(chart, axis, None), "title", None))


def pivots(sheet, props: list[str]) -> dict:
    from openpyxl.utils import coordinate_to_tuple  # optional: docs extra
    found, props = {}, set(props)
    for pivot in sheet._pivots if sheet is not None else []:
        selections = [[(item.h, item.x) for item in field.items if item.x is not None]
                      for field in pivot.pivotFields]
        left = next((i for i, chosen in enumerate(selections) if chosen), len(selections))   # unused fields
        right = next((i for i, chosen in enumerate(reversed(selections[left:])) if chosen),
                     len(selections) - left)
        selections = selections[left:len(selections) - right]
        source = pivot.cache.cacheSource
        start, end = (coordinate_to_tuple(corner) for corner in source.worksheetSource.ref.split(":"))
        key = (source.type, (start[0], start[1] + left), (end[0], end[1] - right),
               source.worksheetSource.sheet)
        found[key] = _pivot_info(pivot, props, selections, left)
    return found


def _pivot_info(pivot, props: set, selections: list, left: int) -> dict:
    info = {}
    for name, attribute in (("name", "name"), ("show_total", "visualTotals"),
                            ("show_empty_row", "showEmptyRow"),
                            ("show_empty_col", "showEmptyCol"), ("show_headers", "showHeaders"),
                            ("location", "location")):
        if name in props:
            info[name] = getattr(pivot, attribute)
    if props & {"filter", "selection"}:
        info["selection"] = selections if "ordered" in props else [set(chosen) for chosen in selections]
    if "filter" in props:
        info["filter_fields"] = {field.fld for field in pivot.pageFields}
    for name, fields in (("col_fields", pivot.colFields), ("row_fields", pivot.rowFields)):
        if name in props:
            indices = [field.x - left for field in fields]
            info[name] = [i for i in indices if i >= 0] if "ignore_special_fields" in props else indices
    if "data_fields" in props:
        info["data_fields"] = [f"{field.fld - left};{field.name if 'data_fields_name' in props else ''};"
                               f"{field.subtotal};{field.showDataAs}" for field in pivot.dataFields]
    return info


def styles(sheet, props: list[str]) -> dict:
    if sheet is None:
        return {}
    if any(formatting.rules for formatting in sheet.conditional_formatting):
        raise SetupError(f"sheet {sheet.title!r} has conditional formatting, which OSWorld's style rule "
                         "evaluates "
                         "with a formula engine this daemon does not include")
    return {cell.coordinate: [cell_style(name, cell) for name in props] for column in sheet.iter_cols()
            for cell in column}


def cell_style(name: str, cell):
    """One style property of a cell as OSWorld's `_read_cell_style` reads it (None for empty cells' fonts)."""
    from openpyxl.cell.cell import MergedCell  # optional: docs extra
    if name == "merge":
        return isinstance(cell, MergedCell)           # True for every merged cell but the top-left one
    if name in ("fill_type", "bgcolor", "fgcolor"):
        try:
            return cell.fill.tagname if name == "fill_type" else cell.fill.fgColor.rgb
        except AttributeError:
            return None
    if cell.value is None:
        return None
    if name == "number_format":
        return cell.number_format if cell.data_type == "n" else None
    if name == "font_color":
        return cell.font.color.rgb if cell.font.color is not None else None
    return getattr(cell.font, {"font_name": "name", "font_family": "family", "font_bold": "bold",
                               "font_italic": "italic", "font_underline": "underline",
                               "font_size": "size"}[name])


def rows(sheet, props: list[str]) -> dict:
    if sheet is None:
        return {}
    return {index: {name: getattr(dimension, name) for name in props}
            for index, dimension in sheet.row_dimensions.items()}
