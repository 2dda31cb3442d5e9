"""Inputs for the Writer formatting metrics: the fixtures of tests/evaluation/test_writer_formatting.py
(shared builders)."""
from __future__ import annotations

from tests.evaluation.builders import (
    DEFAULT_FONT_XCU,
    centered,
    footer,
    page_breaks,
    picture_document,
    runs,
    saved,
    spacing,
    tabbed,
    words_table,
    write,
)

from .cases_files import pair
from .harness import case


def doc(name: str, *paragraphs: str, build=None):
    return lambda tmp: saved(tmp / name, *paragraphs, build=build)


def rule_doc(metric: str, label: str, document, rules: dict):
    return case(metric, label, lambda tmp: ([document(tmp), rules], {}))


def font_runs(**font):
    from docx.shared import Pt
    return runs(**{name: Pt(value) if name == "size" else value for name, value in font.items()})


def coloured(name: str, rgb: tuple):
    from docx.shared import RGBColor
    return lambda tmp: words_table(tmp / name, RGBColor(*rgb))


GOLD_SPACING = doc("gold.docx", "one", "two", build=spacing(2.0, 1.0))
SUB = doc("sub.docx", "H2O", build=runs(subscript=True))
LAST = doc("gold.docx", "intro", "last words")
TAB_GOLD = lambda tmp: tabbed(tmp / "gold.docx", 400)                              # noqa: E731
XCU = lambda tmp: write(tmp / "registrymodifications.xcu", DEFAULT_FONT_XCU)        # noqa: E731

CASES = [
    pair("compare_line_spacing", "same", doc("same.docx", "one", "two", build=spacing(2.0, 1.0)),
         GOLD_SPACING),
    pair("compare_line_spacing", "single", doc("single.docx", "one", "two", build=spacing(1.0, 1.0)),
         GOLD_SPACING),
    pair("compare_line_spacing", "text", doc("text.docx", "one!", "two", build=spacing(2.0, 1.0)),
         GOLD_SPACING),
    pair("compare_line_spacing", "none", None, GOLD_SPACING),
    *[pair("compare_docx_images", name, lambda tmp, name=name, color=color: picture_document(tmp, name,
                                                                                             color),
           lambda tmp: picture_document(tmp, "gold", "red")) for name, color in (("same", "red"), ("blue",
                                                                                                   "blue"))],
    pair("compare_docx_images", "no-picture", doc("none.docx", "x"), lambda tmp: picture_document(tmp, "gold",
                                                                                                  "red")),
    case("is_first_line_centered", "centered", lambda tmp: ([doc("c.docx", "Title", "body",
                                                                 build=centered)(tmp)],
                                                            {})),
    case("is_first_line_centered", "left", lambda tmp: ([doc("l.docx", "Title", "body")(tmp)], {})),
    *[case("has_page_numbers_in_footers", label, lambda tmp, text=text: ([doc("f.docx", "x",
                                                                              build=footer(text))(tmp)],
                                                                         {}))
      for label, text in (("number", "Page 1"), ("word", "Page"))],
    rule_doc("compare_font_names", "same", doc("f.docx", "a", build=runs(name="Times New Roman")),
             {"font_name": "Times New Roman"}),
    rule_doc("compare_font_names", "other", doc("g.docx", "a", build=runs(name="Arial")),
             {"font_name": "Times New Roman"}),
    pair("compare_subscript_contains", "same", SUB, SUB),
    pair("compare_subscript_contains", "plain", doc("plain.docx", "H2O"), SUB),
    pair("evaluate_strike_through_last_paragraph", "struck", doc("s.docx", "intro", "last words",
                                                                 build=runs(strike=True)), LAST),
    pair("evaluate_strike_through_last_paragraph", "plain", LAST, LAST),
    pair("check_italic_font_size_14", "14", doc("i14.docx", "intro", "last words",
                                                build=font_runs(italic=True, size=14)), LAST),
    pair("check_italic_font_size_14", "12", doc("i12.docx", "intro", "last words",
                                                build=font_runs(italic=True, size=12)), LAST),
    pair("check_tabstops", "same-3", lambda tmp: tabbed(tmp / "same.docx", 400), TAB_GOLD,
         word_number_split_by_tabstop=3),
    pair("check_tabstops", "near", lambda tmp: tabbed(tmp / "near.docx", 380), TAB_GOLD),
    pair("check_tabstops", "same-2", lambda tmp: tabbed(tmp / "same.docx", 400), TAB_GOLD,
         word_number_split_by_tabstop=2),
    pair("check_tabstops", "no-tab", doc("none.docx", "one two three\tthe rest"), TAB_GOLD),
    rule_doc("contains_page_break", "two", doc("b.docx", "x", build=page_breaks(2)), {"page_break_count": 2}),
    rule_doc("contains_page_break", "one", doc("c.docx", "x", build=page_breaks(1)), {"page_break_count": 2}),
    rule_doc("contains_page_break", "no-count", doc("d.docx", "x"), {}),
    rule_doc("find_default_font", "same", XCU, {"font_name": "Times New Roman"}),
    rule_doc("find_default_font", "other", XCU, {"font_name": "Arial"}),
    pair("evaluate_colored_words_in_tables", "near", coloured("near.docx", (250, 2, 2)),
         coloured("gold.docx", (255, 0, 0))),
    pair("evaluate_colored_words_in_tables", "blue", coloured("blue.docx", (0, 0, 255)),
         coloured("gold.docx", (255, 0, 0))),
]
