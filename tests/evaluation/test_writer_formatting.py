"""The Writer formatting metrics (docs extra) against documents made here."""
from __future__ import annotations

import pytest

docx = pytest.importorskip("docx", reason="the docs extra is not installed")

from docx.shared import Pt, RGBColor  # noqa: E402

from daemon.evaluation.metrics import writer_formatting as writer  # noqa: E402

from .builders import (  # noqa: E402
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
)


def test_line_spacing_after_the_text_matches(tmp_path):
    gold = saved(tmp_path / "gold.docx", "one", "two", build=spacing(2.0, 1.0))
    assert writer.compare_line_spacing(saved(tmp_path / "same.docx", "one", "two", build=spacing(2.0, 1.0)),
                                       gold) == 1
    assert writer.compare_line_spacing(saved(tmp_path / "single.docx", "one", "two", build=spacing(1.0, 1.0)),
                                       gold) == 0.0
    assert writer.compare_line_spacing(saved(tmp_path / "text.docx", "one!", "two", build=spacing(2.0, 1.0)),
                                       gold) == 0.0
    assert writer.compare_line_spacing(None, gold) == 0.0


def test_docx_images_compare_pixels(tmp_path):
    def picture(name, color):
        return picture_document(tmp_path, name, color)
    gold = picture("gold", "red")
    assert writer.compare_docx_images(picture("same", "red"), gold) == 1.0
    assert writer.compare_docx_images(picture("blue", "blue"), gold) == 0.0
    assert writer.compare_docx_images(saved(tmp_path / "none.docx", "x"), gold) == 0.0


def test_first_line_centered_and_page_numbers_in_footers(tmp_path):
    assert writer.is_first_line_centered(saved(tmp_path / "c.docx", "Title", "body", build=centered)) == 1.0
    assert writer.is_first_line_centered(saved(tmp_path / "l.docx", "Title", "body")) == 0.0
    assert writer.has_page_numbers_in_footers(saved(tmp_path / "n.docx", "x", build=footer("Page 1"))) == 1.0
    assert writer.has_page_numbers_in_footers(saved(tmp_path / "t.docx", "x", build=footer("Page"))) == 0.0


def test_font_names_subscripts_strike_through_and_italic_sizes(tmp_path):
    assert writer.compare_font_names(saved(tmp_path / "f.docx", "a", build=runs(name="Times New Roman")),
                                     {"font_name": "Times New Roman"}) == 1.0
    assert writer.compare_font_names(saved(tmp_path / "g.docx", "a", build=runs(name="Arial")),
                                     {"font_name": "Times New Roman"}) == 0.0
    sub = saved(tmp_path / "sub.docx", "H2O", build=runs(subscript=True))
    assert writer.compare_subscript_contains(sub, sub) == 1.0
    assert writer.compare_subscript_contains(saved(tmp_path / "plain.docx", "H2O"), sub) == 0.0
    gold = saved(tmp_path / "gold.docx", "intro", "last words")
    struck = saved(tmp_path / "struck.docx", "intro", "last words", build=runs(strike=True))
    assert writer.evaluate_strike_through_last_paragraph(struck, gold) == 1.0
    assert writer.evaluate_strike_through_last_paragraph(gold, gold) == 0.0
    italic14 = saved(tmp_path / "i14.docx", "intro", "last words", build=runs(italic=True, size=Pt(14)))
    italic12 = saved(tmp_path / "i12.docx", "intro", "last words", build=runs(italic=True, size=Pt(12)))
    assert writer.check_italic_font_size_14(italic14, gold) == 1.0
    assert writer.check_italic_font_size_14(italic12, gold) == 0.0


def test_tabstops_score_by_distance_and_words_before_the_tab(tmp_path):
    gold = tabbed(tmp_path / "gold.docx", 400)
    assert writer.check_tabstops(tabbed(tmp_path / "same.docx", 400), gold,
                                 word_number_split_by_tabstop=3) == 1.0
    assert 0.5 < writer.check_tabstops(tabbed(tmp_path / "near.docx", 380), gold) < 1.0
    assert writer.check_tabstops(tabbed(tmp_path / "same.docx", 400), gold,
                                 word_number_split_by_tabstop=2) == 0.0
    assert writer.check_tabstops(saved(tmp_path / "none.docx", "one two three\tthe rest"), gold) == 0.0


def test_page_breaks_and_default_font(tmp_path):
    assert writer.contains_page_break(saved(tmp_path / "b.docx", "x", build=page_breaks(2)),
                                      {"page_break_count": 2}) == 1
    assert writer.contains_page_break(saved(tmp_path / "c.docx", "x", build=page_breaks(1)),
                                      {"page_break_count": 2}) == 0
    assert writer.contains_page_break(saved(tmp_path / "d.docx", "x"), {}) == 0.0
    xcu = tmp_path / "registrymodifications.xcu"
    xcu.write_text(DEFAULT_FONT_XCU)
    assert writer.find_default_font(str(xcu), {"font_name": "Times New Roman"}) == 1.0
    assert writer.find_default_font(str(xcu), {"font_name": "Arial"}) == 0.0


def test_coloured_words_in_tables_and_ciede2000(tmp_path):
    assert writer.delta_e_ciede2000((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(
        2.0425, abs=1e-4)
    gold = words_table(tmp_path / "gold.docx", RGBColor(255, 0, 0))
    assert writer.evaluate_colored_words_in_tables(words_table(tmp_path / "near.docx", RGBColor(250, 2, 2)),
                                                   gold) == 1.0
    assert writer.evaluate_colored_words_in_tables(words_table(tmp_path / "blue.docx", RGBColor(0, 0, 255)),
                                                   gold) == 0.0
