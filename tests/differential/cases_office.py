"""Inputs for compare_table and compare_pptx_files: the fixtures of tests/evaluation/test_tables.py and
test_slides.py, and each real task's rules (compare_table) or options (compare_pptx_files) applied to them."""
from __future__ import annotations

import json
import re

from tests.evaluation import builders as slides
from tests.evaluation.builders import (
    AUTOSAVE,
    BLANK,
    EXAMINED_EDITS,
    FUZZY_RULES,
    PRESENTER,
    SETTINGS_RULES,
    Deck,
    backgrounds,
    cells_book,
    chart_book,
    cities_book,
    coloured_book,
    conditional_book,
    dissolve,
    first_runs,
    fuzzy_books,
    portrait,
    presentation_with_master,
    registry,
    sheet_settings,
    solid_background,
    styled_book,
    workbook,
    write,
)
from tests.evaluation.osworld_tasks import TASKS

from .harness import case

DATA = [["Name", "Total"], ["a", 1.00001], ["b", 2]]
BOOKS = {"expected": {"Sheet1": DATA}, "same": {"Sheet1": [["Name", "Total"], ["a", 1.00002], ["b", 2]]},
         "differs": {"Sheet1": [["Name", "Total"], ["a", 1.5], ["b", 2]]}, "renamed": {"Data": DATA},
         "two": {"Sheet1": DATA, "Sheet2": [["x"], [1]]}}
SHEET_DATA = [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]
PRINT = [{"type": "sheet_print", "sheet_idx0": "RI0", "sheet_idx1": "EI0"}]


def books_case(label: str, result: str | None, rules: list, exports: dict | None = None):
    def build(tmp):
        paths = {name: workbook(tmp / f"{name}.xlsx", sheets) for name, sheets in BOOKS.items()}
        for name, content in (exports or {}).items():
            write(tmp / name, content)
        return [paths.get(result, result), paths["expected"]], {"rules": rules}
    return case("compare_table", label, build)


EXPORTS = {"same-Sheet1.csv": "Name,Total\na,1\n\n\n", "expected-Sheet1.csv": "name,total\na,1\n"}
TABLE_FIXTURES = [
    books_case("precision", "same", SHEET_DATA),
    books_case("precision-6", "same", [{**SHEET_DATA[0], "precision": 6}]),
    books_case("differs", "differs", SHEET_DATA),
    books_case("by-name", "renamed", [{"type": "sheet_data", "sheet_idx0": "RNData",
                                       "sheet_idx1": "ENSheet1"}]),
    books_case("missing-name", "renamed", [{"type": "sheet_data", "sheet_idx0": "RNNope",
                                            "sheet_idx1": "ENSheet1"}]),
    books_case("out-of-range", "same", [{"type": "sheet_data", "sheet_idx0": "RI5", "sheet_idx1": "EI0"}]),
    books_case("sheet-name", "same", [{"type": "sheet_name"}]),
    books_case("sheet-name-two", "two", [{"type": "sheet_name"}]),
    books_case("first-failing", "renamed", [{"type": "sheet_name"}] + SHEET_DATA),
    books_case("none", None, SHEET_DATA),
    books_case("print-no-exports", "same", PRINT),
    books_case("print-case", "same", PRINT, EXPORTS),
    books_case("print-ignore-case", "same", [{**PRINT[0], "ignore_case": True}], EXPORTS),
]


def real_tasks(metric: str):
    """(task id, options) of each use of `metric` in the real task files; none without the files."""
    if not TASKS.is_dir():
        return
    for path in sorted(TASKS.rglob("*.json")):
        evaluator = json.loads(path.read_text()).get("evaluator") or {}
        funcs = evaluator.get("func")
        funcs = funcs if isinstance(funcs, list) else [funcs]
        options = evaluator.get("options")
        options = options if isinstance(options, list) else [options] * len(funcs)
        for index, (func, option) in enumerate(zip(funcs, options)):
            if func == metric:
                yield path.stem[:8] + (f"-{index}" if len(funcs) > 1 else ""), option or {}


def sheet_names(rules: list) -> list[str]:
    """The sheets the rules name (RN<name>/EN<name>) or count to (an index, RI<n>/EI<n>), so the fixture has
    them."""
    names, count = ["Sheet1"], 1
    for rule in rules:
        for key, value in rule.items():
            if not key.startswith("sheet_idx"):
                continue
            if isinstance(value, str) and re.match("[RE]N", value) and value[2:] not in names:
                names.append(value[2:])
            position = re.fullmatch("[RE]I(\\d+)", str(value))
            count = max(count, 1 + (value if isinstance(value, int) else int(position[1]) if position else 0))
    return names + [f"Sheet{n}" for n in range(len(names) + 1, count + 1)]


def task_book(label: str, task: str, options: dict, edit: bool):
    """The real task's rules on a workbook with the sheets they name, against itself or one changed cell."""
    def build(tmp):
        sheets = {name: [["Item", "Qty", "Price"], ["pen", 3, 1.5], ["ink", 7, 2.25], ["pad", 1, 4.0]]
                  for name in sheet_names(options.get("rules", []))}
        gold = workbook(tmp / "gold.xlsx", sheets)
        if edit:
            first = next(iter(sheets))
            sheets[first] = [row[:] for row in sheets[first]]
            sheets[first][2][1] = 8
        result = workbook(tmp / "result.xlsx", sheets)
        for name in sheets:                   # sheet_print rules read the CSV exports beside each workbook
            for stem in ("gold", "result"):
                write(tmp / f"{stem}-{name}.csv", "Item,Qty\npen,3\n")
        return [result, gold], options
    return case("compare_table", f"task-{task}-{label}", build)


def eq(ref):
    return {"method": "eq", "ref": ref}


def cell_check(label: str, coordinate: str, sheet: str = "RNSheet1", **props):
    rule = {"type": "check_cell", "sheet_idx": sheet, "coordinate": coordinate, "props": props}
    return case("compare_table", f"cell-{label}", lambda tmp: ([cells_book(tmp / "cells.xlsx")],
                                                               {"rules": [rule]}))


FUZZY = {"type": "sheet_fuzzy", "sheet_idx0": "RNSheet1", "sheet_idx1": "ENSheet1", "rules": FUZZY_RULES}


def fuzzy_case(label: str, rule: dict):
    return case("compare_table", f"fuzzy-{label}", lambda tmp: (list(fuzzy_books(tmp))[::-1],
                                                                {"rules": [rule]}))


def chart_case(label: str, kind: str, title: str, direction: str = "col"):
    rule = {"type": "chart", "sheet_idx0": 0, "sheet_idx1": "EI0", "chart_props": ["type", "title",
                                                                                   "direction"]}
    def build(tmp):
        from openpyxl import chart
        return [chart_book(tmp / "r.xlsx", getattr(chart, kind), title, direction),
                chart_book(tmp / "g.xlsx", chart.BarChart, "Sales")], {"rules": [rule]}
    return case("compare_table", f"chart-{label}", build)


STYLE = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["font_color"]}


def settings_case(label: str, rules: list, **changes):
    def build(tmp):
        return [styled_book(tmp / "r.xlsx", lambda sheet: sheet_settings(sheet, **changes)),
                styled_book(tmp / "g.xlsx", sheet_settings)], {"rules": rules}
    return case("compare_table", f"settings-{label}", build)


CITIES = {"expected": ["Scottsdale", ["Montreal", "Montréal"]] + ["X"] * 19}


def cities_case(label: str, *values):
    return case("compare_conference_city_in_order", label,
                lambda tmp: ([cities_book(tmp / "c.xlsx", *values), CITIES], {}))


TABLE_RULE_FIXTURES = [
    cell_check("styles", "A1", value=eq("Summary"), font_bold=eq(True), font_color=eq("FFFFFFFF"),
               bgcolor=eq("FF0000FF")),
    cell_check("not-bold", "A1", value=eq("Summary"), font_bold=eq(False)),
    cell_check("merged", "B1", merge=eq(True)),
    cell_check("top-left", "A1", merge=eq(True)),
    cell_check("approx", "E3", value={"method": "approx:0.001", "ref": 191.6667}),
    cell_check("approx-off", "E3", value={"method": "approx:0.001", "ref": 191.7}),
    cell_check("no-sheet", "A1", sheet="RNNope", value=eq("Summary")),
    fuzzy_case("forgiving", FUZZY),
    fuzzy_case("strict", {**FUZZY, "rules": [{"range": ["A1:A1"], "type": "exact_match"}]}),
    chart_case("same", "BarChart", "Sales"),
    chart_case("title", "BarChart", "Other"),
    chart_case("direction", "BarChart", "Sales", "bar"),
    chart_case("line", "LineChart", "Sales"),
    *[case("compare_table", f"style-{label}", lambda tmp, color=color: (
        [coloured_book(tmp / "r.xlsx", color), coloured_book(tmp / "g.xlsx", "FF00FF00")],
        {"rules": [STYLE]}))
      for label, color in (("same", "FF00FF00"), ("other", "FFFF0000"))],
    case("compare_table", "style-conditional", lambda tmp: (
        [conditional_book(tmp / "r.xlsx"), conditional_book(tmp / "g.xlsx")], {"rules": [STYLE]})),
    settings_case("same", SETTINGS_RULES),
    settings_case("shown", SETTINGS_RULES[:1], hidden=False),
    settings_case("freeze", SETTINGS_RULES[1:2], freeze="A2"),
    settings_case("zoom", SETTINGS_RULES[2:3], zoom=300),
    settings_case("choices", SETTINGS_RULES[3:], choices='"Pass,Fail"'),
    cities_case("ok", "Scottsdale, AZ", "Montréal", *["X"] * 19),
    cities_case("bad", "Scottsdale", "Toronto", *["X"] * 19),
    cities_case("gap", "Scottsdale"),
]

TABLE_TASKS = [task_book(label, task, options, label == "edited") for task,
               options in real_tasks("compare_table")
               for label in ("same", "edited")]


def retext(prs):
    first_runs(prs)[1].text = "there"


def add_slide(prs):
    prs.slides.add_slide(prs.slide_layouts[BLANK])


def deck_case(label: str, edits: tuple, **options):
    def build(tmp):
        deck = Deck(tmp)
        return [deck(*edits), deck()], options
    return case("compare_pptx_files", label, build)


def broken_deck(tmp):
    (tmp / "broken.pptx").write_bytes(b"not a presentation")
    return [str(tmp / "broken.pptx"), Deck(tmp)()], {}


DECK_EDITS = [("same", ()), ("retext", (retext,)), ("add-slide", (add_slide,))] + \
    [(option.removeprefix("examine_"), (edit,)) for option, edit in EXAMINED_EDITS]
SLIDE_FIXTURES = [deck_case(label, edits) for label, edits in DECK_EDITS] + [
    deck_case("add-slide-not-counted", (add_slide,), examine_number_of_slides=False),
    *[deck_case(f"{option.removeprefix('examine_')}-off", (edit,), **{option: False})
      for option, edit in EXAMINED_EDITS],
    case("compare_pptx_files", "broken", broken_deck),
    case("compare_pptx_files", "none", lambda tmp: ([None, Deck(tmp)()], {})),
]


def distinct_options(metric: str) -> dict[str, dict]:
    """One real task per distinct options object (by its first task id)."""
    seen = {}
    for task, options in real_tasks(metric):
        seen.setdefault(json.dumps(options, sort_keys=True), (task, options))
    return dict(seen.values())


def edits_for(options: dict) -> list:
    """The base edits, plus each edit whose option the task's options set (the ones whose verdict they
    change)."""
    return DECK_EDITS[:3] + [(label, edits) for label,
                             edits in DECK_EDITS[3:] if f"examine_{label}" in options]


SLIDE_TASKS = [deck_case(f"task-{task}-{label}", edits, **options)
               for task, options in distinct_options("compare_pptx_files").items()
               for label, edits in edits_for(options)]

CASES = TABLE_FIXTURES + TABLE_RULE_FIXTURES + TABLE_TASKS + SLIDE_FIXTURES + SLIDE_TASKS


def deck_rule(metric: str, label: str, edits: tuple, rules: dict | None, slides: int = 2):
    """One of the other Impress metrics on a deck of `slides` slides with these edits (and rules when it has
    them)."""
    def build(tmp):
        path = Deck(tmp, slides=slides)(*edits)
        return [path] + ([rules] if rules is not None else []), {}
    return case(metric, label, build)


def rgb(*value):
    from pptx.dml.color import RGBColor
    return RGBColor(*value)


FILL = {"rgb": [0, 0, 255], "original_rgb": [255, 255, 255]}
OTHER_IMPRESS = [
    deck_rule("check_transition", "dissolve", (dissolve,), {"slide_idx": 0, "transition_type": "dissolve"}),
    deck_rule("check_transition", "fade", (dissolve,), {"slide_idx": 0, "transition_type": "fade"}),
    deck_rule("check_transition", "other-slide", (dissolve,), {"slide_idx": 1,
                                                               "transition_type": "dissolve"}),
    deck_rule("check_slide_orientation_Portrait", "portrait", (portrait,), None),
    deck_rule("check_slide_orientation_Portrait", "landscape", (), None),
    deck_rule("evaluate_presentation_fill_to_rgb_distance", "blue", (lambda prs: backgrounds(rgb(0, 0,
                                                                                                 255))(prs),),
              FILL),
    deck_rule("evaluate_presentation_fill_to_rgb_distance", "half",
              (lambda prs: solid_background(prs.slides[0], rgb(0, 0, 255)),), FILL),
    deck_rule("evaluate_presentation_fill_to_rgb_distance", "white",
              (lambda prs: backgrounds(rgb(255, 255, 255))(prs),), FILL),
    *[case("check_page_number_colors", label, lambda tmp, colors=colors: (
        [presentation_with_master(tmp, *colors), {"color": "red"}], {}))
      for label, colors in (("red", ("000000", "FF0000", "FFFFFF")), ("blue", ("FF0000", "0000FF", "FFFFFF")),
                            ("one-fill", ("FF0000",)))],
    *[case("check_presenter_console_disable", value, lambda tmp, value=value: (
        [registry(tmp, *PRESENTER, value)], {})) for value in ("false", "true")],
    *[case("check_auto_saving_time", value, lambda tmp, value=value: (
        [registry(tmp, *AUTOSAVE, value), {"minutes": 3}], {})) for value in ("3", "10")],
    *[case("check_left_panel", name.lower().replace(" ", "-"), lambda tmp, name=name: (
        [f'<desktop-frame><document-frame name="{name}"/></desktop-frame>'], {})) for name in ("Slides View",
                                                                                               "Outline")],
]

CASES += OTHER_IMPRESS


def decks(label: str, result: tuple, gold: tuple, slide_count: int = 1, **options):
    """compare_pptx_files on two decks built from the base deck with these edits (functions of prs, or of
    (prs, tmp_path) when wrapped by `with_tmp`)."""
    def build(tmp):
        deck = Deck(tmp, slides=slide_count)
        def edits(names):
            return [edit(tmp) if getattr(edit, "needs_tmp", False) else edit for edit in names]
        return [deck(*edits(result)), deck(*edits(gold))], options
    return case("compare_pptx_files", label, build)


def with_tmp(make):
    make.needs_tmp = True
    return make


def picture_at(top: float, height: float = 1):
    return with_tmp(lambda tmp: slides.placed_picture(slides.red_picture(tmp), top, height))


def colour(*value):
    return slides.font_colour(rgb(*value))


TABLE_AB = slides.slide_table([["a", "b"], ["1", "2"]])
DECK_FIXTURES = [
    decks("black-black", (colour(0, 0, 0),), (colour(0, 0, 0),)),
    decks("red-black", (colour(255, 0, 0),), (colour(0, 0, 0),)),
    decks("red-black-off", (colour(255, 0, 0),), (colour(0, 0, 0),), examine_color_rgb=False),
    decks("unset-black", (), (colour(0, 0, 0),)),
    decks("explicit-defaults", (slides.explicit_defaults,), ()),
    decks("theme-colour", (slides.theme_colour,), ()),
    decks("nudge", (slides.moved_by(emu=3000),), ()),
    decks("shift", (slides.moved_by(1.05),), ()),
    decks("shift-tolerance", (slides.moved_by(1.05),), (), approximately_tolerance=0.1),
    decks("empty-box-moved", (slides.empty_box(5),), (slides.empty_box(1),)),
    decks("merged-runs", (slides.merged_runs,), ()),
    decks("merged-runs-off", (slides.merged_runs,), (), examine_run_count=False),
    decks("bullet", (slides.bullet,), ()),
    decks("bullet-off", (slides.bullet,), (), examine_bullets=False),
    decks("empty-text-element", (slides.empty_text_element,), (slides.empty_gold_run,)),
    decks("table-same", (TABLE_AB,), (TABLE_AB,)),
    decks("table-text", (slides.slide_table([["x", "y"], ["1", "2"]]),), (TABLE_AB,)),
    decks("table-text-no-bullets", (slides.slide_table([["x", "y"], ["1", "2"]]),), (TABLE_AB,),
          examine_bullets=False),
    decks("table-shape", (slides.slide_table([["a", "b", "c"], ["1", "2", "3"]]),), (TABLE_AB,)),
    decks("table-bold", (slides.slide_table([["a", "b"], ["1", "2"]], bold=True),), (TABLE_AB,)),
    decks("table-bold-off", (slides.slide_table([["a", "b"], ["1", "2"]], bold=True),), (TABLE_AB,),
          examine_font_bold=False),
    decks("group-same", (slides.grouped("inside"),), (slides.grouped("inside"),)),
    decks("group-changed", (slides.grouped("changed"),), (slides.grouped("inside"),)),
    decks("group-changed-no-alignment", (slides.grouped("changed"),), (slides.grouped("inside"),),
          examine_alignment=False),
    decks("group-changed-no-bullets", (slides.grouped("changed"),), (slides.grouped("inside"),),
          examine_bullets=False),
    decks("group-changed-neither", (slides.grouped("changed"),), (slides.grouped("inside"),),
          examine_alignment=False,
          examine_bullets=False),
    decks("groups-split", (slides.grouped("a"), slides.grouped("b")), (slides.grouped("ab"),),
          examine_shape=False),
    *[decks(f"picture-{top}-{height}-{option}", (picture_at(top, height),), (picture_at(3),), 2,
            examine_shape=False,
            **{f"examine_{option}": True})
      for option in ("top_position", "image_size", "modify_height") for top, height in ((1, 1), (3, 1), (3,
                                                                                                         2))],
]



def stretch_case(label: str, result: tuple):
    def build(tmp):
        picture = slides.red_picture(tmp)
        deck = Deck(tmp)
        made = [edit(picture) for edit in result]
        return [deck(*made), deck(slides.small_picture(picture))], {}
    return case("check_image_stretch_and_center", label, build)


DECK_FIXTURES += [stretch_case("full", (slides.full_slide_picture,)),
                  stretch_case("original", (slides.small_picture,)), stretch_case("no-picture", ())]

CASES += DECK_FIXTURES
