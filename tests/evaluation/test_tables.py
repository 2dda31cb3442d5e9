"""compare_table (docs extra) against workbooks made here, and the rule types real task files use."""
from __future__ import annotations

from pathlib import Path

import pytest

openpyxl = pytest.importorskip("openpyxl", reason="the docs extra is not installed")
pytest.importorskip("pandas", reason="the docs extra is not installed")

from types import SimpleNamespace  # noqa: E402

from daemon.evaluation.admission import missing_capabilities  # noqa: E402
from daemon.evaluation.context import SetupError  # noqa: E402
from daemon.evaluation.formats.xlsx import read_cell_value  # noqa: E402
from daemon.evaluation.metrics.matching import value_matches  # noqa: E402
from daemon.evaluation.metrics.spreadsheet import (  # noqa: E402
    compare_conference_city_in_order,
    compare_table,
)
from daemon.evaluation.metrics.spreadsheet_features import pivots  # noqa: E402
from daemon.evaluation.registry import gaps  # noqa: E402

from .builders import (  # noqa: E402
    FUZZY_RULES,
    SETTINGS_RULES,
    cells_book,
    chart_book,
    cities_book,
    coloured_book,
    conditional_book,
    fuzzy_books,
    sheet_settings,
    styled_book,
    workbook,
)
from .osworld_tasks import tasks_scored_by  # noqa: E402


@pytest.fixture
def books(tmp_path):
    data = [["Name", "Total"], ["a", 1.00001], ["b", 2]]
    return {
        "expected": workbook(tmp_path / "expected.xlsx", {"Sheet1": data}),
        "same": workbook(tmp_path / "same.xlsx", {"Sheet1": [["Name", "Total"], ["a", 1.00002], ["b", 2]]}),
        "differs": workbook(tmp_path / "differs.xlsx", {"Sheet1": [["Name", "Total"], ["a", 1.5], ["b", 2]]}),
        "renamed": workbook(tmp_path / "renamed.xlsx", {"Data": data}),
        "two": workbook(tmp_path / "two.xlsx", {"Sheet1": data, "Sheet2": [["x"], [1]]}),
    }


SHEET_DATA = [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]


def test_sheet_data_compares_values_rounded_to_the_precision(books):
    assert compare_table(books["same"], books["expected"], rules=SHEET_DATA) == 1.0     # equal to 4 decimals
    strict = [{**SHEET_DATA[0], "precision": 6}]
    assert compare_table(books["same"], books["expected"], rules=strict) == 0.0
    assert compare_table(books["differs"], books["expected"], rules=SHEET_DATA) == 0.0


def test_sheet_indices_by_position_and_name(books):
    by_name = [{"type": "sheet_data", "sheet_idx0": "RNData", "sheet_idx1": "ENSheet1"}]
    assert compare_table(books["renamed"], books["expected"], rules=by_name) == 1.0
    missing = [{"type": "sheet_data", "sheet_idx0": "RNNope", "sheet_idx1": "ENSheet1"}]
    assert compare_table(books["renamed"], books["expected"], rules=missing) == 0.0
    out_of_range = [{"type": "sheet_data", "sheet_idx0": "RI5", "sheet_idx1": "EI0"}]
    assert compare_table(books["same"], books["expected"], rules=out_of_range) == 0.0


def test_sheet_name_rule_and_the_first_failing_rule_decides(books):
    names = [{"type": "sheet_name"}]
    assert compare_table(books["same"], books["expected"], rules=names) == 1.0
    assert compare_table(books["two"], books["expected"], rules=names) == 0.0
    assert compare_table(books["renamed"], books["expected"], rules=names + SHEET_DATA) == 0.0


def test_a_missing_or_unreadable_result_scores_zero(books, tmp_path):
    assert compare_table(None, books["expected"], rules=SHEET_DATA) == 0.0
    assert compare_table(str(tmp_path / "absent.xlsx"), books["expected"], rules=SHEET_DATA) == 0.0
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    assert compare_table(str(broken), books["expected"], rules=SHEET_DATA) == 0.0


def test_capability_check_accepts_only_the_rule_types_built():
    def task(*kinds):
        return {"evaluator": {"func": "compare_table",
                              "result": {"type": "vm_file", "path": "/a", "dest": "a"},
                              "expected": {"type": "cloud_file", "path": "http://x/b", "dest": "b"},
                              "options": {"rules": [{"type": kind} for kind in kinds]}}}
    assert missing_capabilities(task("sheet_data", "sheet_name", "sheet_print")) == []
    assert missing_capabilities(task("sheet_data", "sparkline")) == [
        "compare_table rule 'sparkline' (not implemented)"]


def test_every_real_compare_table_task_is_runnable():
    checked = 0
    for name, task, evaluator in tasks_scored_by("compare_table"):
        rules = evaluator.get("options", {}).get("rules", [])
        assert [m for m in missing_capabilities(task) if "compare_table" in m] == [], name
        for rule in rules:
            if rule["type"] == "sheet_data":          # every index form real tasks use is understood
                for index in (rule["sheet_idx0"], rule["sheet_idx1"]):
                    assert isinstance(index, int) or index[:2] in ("RI", "RN", "EI", "EN"), (name, index)
        checked += 1
    assert checked >= 50


def test_a_spreadsheet_task_scores_through_the_getters(books, tmp_path):
    from daemon.evaluation.context import TaskContext
    from daemon.evaluation.evaluate import evaluate_task
    from daemon.evaluation.host_policy import HostPolicy
    from tests.evaluation.fake_guest import FakeGuest
    guest = FakeGuest(files={"/home/user/report.xlsx": Path(books["same"]).read_bytes()})
    task = {"evaluator": {"func": "compare_table",
                          "result": {"type": "vm_file", "path": "/home/user/report.xlsx",
                                     "dest": "report.xlsx"},
                          "expected": {"type": "cloud_file", "path": Path(books["expected"]).as_uri(),
                                       "dest": "gold.xlsx"},
                          "options": {"rules": SHEET_DATA}}}
    policy = HostPolicy(file_url_roots=(str(Path(books["expected"]).parent),))
    ctx = TaskContext(task_id="calc", cache_dir=tmp_path / "cache", policy=policy)
    assert evaluate_task(task, guest, ctx, "DONE") == 1.0
    guest.files["/home/user/report.xlsx"] = Path(books["differs"]).read_bytes()
    assert evaluate_task(task, guest,
                         TaskContext(task_id="calc2", cache_dir=tmp_path / "cache", policy=policy),
                         "DONE") == 0.0


def test_sheet_print_compares_the_csv_exports_beside_each_workbook(books, tmp_path):
    rules = [{"type": "sheet_print", "sheet_idx0": "RI0", "sheet_idx1": "EI0"}]
    assert compare_table(books["same"], books["expected"], rules=rules) == 0.0        # no exports yet
    (tmp_path / "same-Sheet1.csv").write_text("Name,Total\na,1\n\n\n")
    (tmp_path / "expected-Sheet1.csv").write_text("name,total\na,1\n")
    assert compare_table(books["same"], books["expected"], rules=rules) == 0.0
    assert compare_table(books["same"], books["expected"], rules=[{**rules[0], "ignore_case": True}]) == 1.0


def test_saved_cell_values_are_read_as_osworld_reads_them(tmp_path):
    def build(sheet):
        sheet["A1"], sheet["A2"], sheet["A3"] = "text", 3, 2.5
    path = styled_book(tmp_path / "values.xlsx", build)
    assert read_cell_value(path, "Sheet1", "A1") == "text"
    assert (read_cell_value(path, "Sheet1", "A2") == 3.0
            and isinstance(read_cell_value(path, "Sheet1", "A2"), float))
    assert read_cell_value(path, "Sheet1", "B9") is None
    assert read_cell_value(path, "Nope", "A1") is None


def test_value_rule_methods():
    assert value_matches("Pass", {"method": "re.I", "ref": "^pass$"})
    assert not value_matches("Passed", {"method": "re", "ref": "^Pass$"})
    assert (value_matches(150, {"method": "lt", "ref": 260})
            and not value_matches(300, {"method": "lt", "ref": 260}))
    assert (value_matches(2, {"method": "range.te", "ref": [0, 2]})
            and not value_matches(0, {"method": "range.te", "ref": [0, 2]}))
    assert value_matches('"Held,Pass,Fail"', {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]})
    assert not value_matches('"Held,Pass"', {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]})
    from openpyxl.worksheet.cell_range import MultiCellRange
    limits = {"method": "spreadsheet_range", "ref": ["D2:D29", "D1:D1048576"]}
    assert (value_matches(MultiCellRange("D2:D40"), limits)
            and not value_matches(MultiCellRange("D5:D9"), limits))


def test_check_cell_reads_values_and_styles(tmp_path):
    path = cells_book(tmp_path / "cells.xlsx")
    def check(coordinate, **props):
        rule = {"type": "check_cell", "sheet_idx": "RNSheet1", "coordinate": coordinate, "props": props}
        return compare_table(path, rules=[rule])
    eq = lambda ref: {"method": "eq", "ref": ref}                          # noqa: E731
    assert check("A1", value=eq("Summary"), font_bold=eq(True), font_color=eq("FFFFFFFF"),
                 bgcolor=eq("FF0000FF")) == 1
    assert check("A1", value=eq("Summary"), font_bold=eq(False)) == 0.0
    assert check("B1", merge=eq(True)) == 1.0 and check("A1", merge=eq(True)) == 0.0  # top-left is not merged
    assert check("E3", value={"method": "approx:0.001", "ref": 191.6667}) == 1.0
    assert check("E3", value={"method": "approx:0.001", "ref": 191.7}) == 0.0
    assert compare_table(path, rules=[{"type": "check_cell", "sheet_idx": "RNNope", "coordinate": "A1",
                                       "props": {"value": eq("Summary")}}]) == 0.0


def test_sheet_fuzzy_normalizes_then_compares_cell_by_cell(tmp_path):
    gold, close = fuzzy_books(tmp_path)
    rule = {"type": "sheet_fuzzy", "sheet_idx0": "RNSheet1", "sheet_idx1": "ENSheet1", "rules": FUZZY_RULES}
    assert compare_table(close, gold, rules=[rule]) == 1.0
    strict = {**rule, "rules": [{"range": ["A1:A1"], "type": "exact_match"}]}
    assert compare_table(close, gold, rules=[strict]) == 0.0


def test_chart_rule_compares_series_type_title_and_direction(tmp_path):
    from openpyxl.chart import BarChart, LineChart
    def with_chart(name, kind, title, direction="col"):
        return chart_book(tmp_path / name, kind, title, direction)
    gold = with_chart("gold.xlsx", BarChart, "Sales")
    rule = {"type": "chart", "sheet_idx0": 0, "sheet_idx1": "EI0",
            "chart_props": ["type", "title", "direction"]}
    assert compare_table(with_chart("same.xlsx", BarChart, "Sales"), gold, rules=[rule]) == 1.0
    assert compare_table(with_chart("title.xlsx", BarChart, "Other"), gold, rules=[rule]) == 0.0
    assert compare_table(with_chart("bar.xlsx", BarChart, "Sales", "bar"), gold, rules=[rule]) == 0.0
    assert compare_table(with_chart("line.xlsx", LineChart, "Sales"), gold, rules=[rule]) == 0.0


def test_pivot_tables_are_keyed_by_their_source_without_unused_fields():
    def pivot(rows, data_field):
        field = lambda *chosen: SimpleNamespace(  # noqa: E731
            items=[SimpleNamespace(h=None, x=i) for i in chosen])
        return SimpleNamespace(
            pivotFields=[field(), field(0, 1), field(0), field()], pageFields=[], colFields=[],
            rowFields=[SimpleNamespace(x=x) for x in rows], dataFields=[
                SimpleNamespace(fld=data_field, name="Sum", subtotal="sum", showDataAs=None)],
            cache=SimpleNamespace(cacheSource=SimpleNamespace(
                type="worksheet", worksheetSource=SimpleNamespace(ref="A1:D9", sheet="Sheet1"))))
    props = ["col_fields", "filter", "row_fields", "data_fields"]
    found = pivots(SimpleNamespace(_pivots=[pivot([1], 2)]), props)
    assert found == {("worksheet", (1, 2), (9, 3), "Sheet1"): {
        "selection": [{(None, 0), (None, 1)}, {(None, 0)}], "filter_fields": set(), "col_fields": [],
        "row_fields": [0], "data_fields": ["1;;sum;None"]}}
    assert pivots(SimpleNamespace(_pivots=[pivot([2], 2)]), props) != found
    assert pivots(None, props) == {}


def test_style_rule_compares_cell_styles_and_refuses_conditional_formatting(tmp_path):
    def coloured(name, color):
        return coloured_book(tmp_path / name, color)
    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_color"]}
    gold = coloured("gold.xlsx", "FF00FF00")
    assert compare_table(coloured("same.xlsx", "FF00FF00"), gold, rules=[rule]) == 1.0
    assert compare_table(coloured("other.xlsx", "FFFF0000"), gold, rules=[rule]) == 0.0
    with pytest.raises(SetupError, match="conditional formatting"):
        compare_table(conditional_book(tmp_path / "cf.xlsx"), gold, rules=[rule])


def test_row_props_freeze_zoom_and_data_validation(tmp_path):
    def build(**changes):
        return lambda sheet: sheet_settings(sheet, **changes)
    gold = styled_book(tmp_path / "gold.xlsx", build())
    rows, freeze, zoom, validation = SETTINGS_RULES
    same = styled_book(tmp_path / "same.xlsx", build())
    assert compare_table(same, gold, rules=[rows, freeze, zoom, validation]) == 1.0
    assert compare_table(styled_book(tmp_path / "a.xlsx", build(hidden=False)), gold, rules=[rows]) == 0.0
    assert compare_table(styled_book(tmp_path / "b.xlsx", build(freeze="A2")), gold, rules=[freeze]) == 0.0
    assert compare_table(styled_book(tmp_path / "c.xlsx", build(zoom=300)), gold, rules=[zoom]) == 0.0
    assert compare_table(styled_book(tmp_path / "d.xlsx", build(choices='"Pass,Fail"')), gold,
                         rules=[validation]) == 0.0


def test_capability_check_refuses_unknown_properties_and_methods():
    assert gaps("metric", "compare_table",
                {"rules": [{"type": "chart", "chart_props": ["type", "anchor"]}]}) == [
        "compare_table chart property 'anchor' (not implemented)"]
    assert gaps("metric", "compare_table",
                {"rules": [{"type": "check_cell", "props": {"value": {"method": "fuzzy", "ref": 1}}}]}) == [
        "value rule method 'fuzzy' (not implemented)"]
    assert gaps("metric", "compare_table",
                {"rules": [{"type": "sheet_fuzzy", "rules": [{"type": "regex", "range": ["A1"]}]}]}) == [
        "compare_table sheet_fuzzy type 'regex' (not implemented)"]
    assert gaps("metric", "compare_table", {"rules": [{"type": "zoom", "method": "approx:0.5"},
                                                      {"type": "style", "props": ["bgcolor"]}]}) == []


def test_conference_cities_in_order(tmp_path):
    def cities(name, *values):
        return cities_book(tmp_path / name, *values)
    rules = {"expected": ["Scottsdale", ["Montreal", "Montréal"]] + ["X"] * 19}
    assert compare_conference_city_in_order(cities("ok.xlsx", "Scottsdale, AZ", "Montréal", *["X"] * 19),
                                            rules) == 1
    assert compare_conference_city_in_order(cities("bad.xlsx", "Scottsdale", "Toronto", *["X"] * 19),
                                            rules) == 0.0
    assert compare_conference_city_in_order(cities("gap.xlsx", "Scottsdale"), rules) == 0.0     # empty cells
