"""Writer formatting metrics (docs extra: python-docx, Pillow), written from OSWorld's metrics/docs.py.

Several first require compare_docx_files with its defaults to pass (the text was not changed):
compare_line_spacing (then every paragraph's line spacing equals the gold's),
evaluate_strike_through_last_paragraph (every run of the last paragraph struck through),
check_italic_font_size_14 (every italic run 14 pt), evaluate_colored_words_in_tables (table words starting
with a vowel red, others blue, within CIEDE2000 `threshold`, default 3.5) and check_highlighted_words (.odt:
no span style with a #ffff00 background). The others: compare_docx_images (the same images, pixel for pixel,
in relationship order), is_first_line_centered, has_page_numbers_in_footers (every section's first footer
paragraph has a digit), compare_font_names (every body run in the rule's font), compare_subscript_contains
(some aligned pair of runs both subscript), check_tabstops (same tab stops, score reduced by their distance,
optionally the first `word_number_split_by_tabstop` words before the tab at `index`), contains_page_break
(page breaks exist, `page_break_count` of them if given) and find_default_font (Writer's default font in
registrymodifications.xcu). Where OSWorld would raise on a damaged result, these score 0.
"""
from __future__ import annotations

import io
import math
import re
from xml.etree import ElementTree

from ..formats.office import registry_values
from ..host_policy import pillow
from ..registry import metric
from .writer import DOCX, ODF, blanks_folded, compare_docx_files, odf_parts, open_docx

WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _unchanged_text(result: str | None, gold: str | None) -> tuple:
    """The result's and gold's Documents when both are .docx files whose blank-folded paragraph texts are
    equal (as compare_docx_files' defaults require; an .odt never opens as a Document), else (None, None)."""
    if not (result and gold and result.endswith(".docx") and gold.endswith(".docx")):
        return None, None
    documents = open_docx(result), open_docx(gold)
    if None in documents:
        return None, None
    first, second = (blanks_folded([p.text for p in document.paragraphs]) for document in documents)
    return documents if first == second else (None, None)


@metric(needs=(DOCX,))
def compare_line_spacing(result: str | None, gold: str | None, **options) -> float:
    first, second = _unchanged_text(result, gold)
    if first is None or len(first.paragraphs) != len(second.paragraphs):
        return 0.0
    return float(all(a.paragraph_format.line_spacing == b.paragraph_format.line_spacing
                     for a, b in zip(first.paragraphs, second.paragraphs)))


@metric(needs=(DOCX,))
def compare_docx_images(result: str | None, gold: str | None, **options) -> float:
    Image = pillow()
    documents = [open_docx(result), open_docx(gold)]
    if None in documents:
        return 0.0
    first, second = ([rel.target_part.blob for rel in document.part.rels.values() if "image" in rel.reltype]
                     for document in documents)
    try:
        return float(len(first) == len(second) and all(
            Image.open(io.BytesIO(a)).tobytes() == Image.open(io.BytesIO(b)).tobytes()
            for a, b in zip(first, second)))
    except OSError:                                    # an image Pillow cannot decode
        return 0.0


@metric(needs=(DOCX,))
def is_first_line_centered(result: str | None, **options) -> float:
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT  # optional: docs extra
    document = open_docx(result)
    return float(document is not None and bool(document.paragraphs) and
                 document.paragraphs[0].paragraph_format.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER)


@metric(needs=(DOCX,))
def has_page_numbers_in_footers(result: str | None, **options) -> float:
    document = open_docx(result)
    if document is None:
        return 0.0
    footers = [section.footer.paragraphs for section in document.sections]
    return float(all(any(ch.isdigit() for ch in (paragraphs[0].text if paragraphs else ""))
                     for paragraphs in footers))


@metric(needs=(DOCX,), rule_keys={"font_name"})
def compare_font_names(result: str | None, rules: dict, **options) -> float:
    document = open_docx(result)
    return float(document is not None and all(run.font.name == rules["font_name"]
                                               for paragraph in document.paragraphs
                                              for run in paragraph.runs))


@metric(needs=(DOCX,))
def compare_subscript_contains(result: str | None, gold: str | None, **options) -> float:
    first, second = open_docx(result), open_docx(gold)
    if first is None or second is None:
        return 0.0
    return float(any(a.font.subscript and b.font.subscript
                     for p, q in zip(first.paragraphs, second.paragraphs)
                     for a, b in zip(p.runs, q.runs)))


@metric(needs=(DOCX,), options={"word_number_split_by_tabstop", "index"})
def check_tabstops(result: str | None, gold: str | None, word_number_split_by_tabstop: int | None = None,
                   index: int = 0, **options) -> float:
    from docx.enum.text import WD_TAB_ALIGNMENT  # optional: docs extra
    first, second = open_docx(result), open_docx(gold)
    if first is None or second is None:
        return 0.0
    ours, theirs = ([p for p in document.paragraphs if p.text.strip()] for document in (first, second))
    if len(ours) != len(theirs) or not ours:
        return 0.0
    if word_number_split_by_tabstop is not None:
        for paragraph in ours:
            fields = paragraph.text.split("\t")
            if index >= len(fields) or len([w for w in re.split(r"\s", fields[index]) if w.strip()]) \
                    != word_number_split_by_tabstop:
                return 0.0
    section = second.sections[0]
    width = section.page_width - section.left_margin - section.right_margin

    def stops(paragraph):                              # without cleared stops and the default left stop at 0
        return [stop for stop in paragraph.paragraph_format.tab_stops
                if stop.alignment != WD_TAB_ALIGNMENT.CLEAR
                and not (stop.alignment == WD_TAB_ALIGNMENT.LEFT and stop.position == 0)]
    penalty = 0.0
    for a, b in zip(ours, theirs):
        mine, gold_stops = stops(a), stops(b)
        if len(mine) != len(gold_stops) or any(s.alignment != t.alignment for s, t in zip(mine, gold_stops)):
            return 0.0
        penalty += sum(abs(s.position - t.position) for s, t in zip(mine, gold_stops)) / width
    return 1 - penalty / len(ours)


@metric(needs=(DOCX,))
def evaluate_strike_through_last_paragraph(result: str | None, gold: str | None, **options) -> float:
    document, _ = _unchanged_text(result, gold)
    return float(document is not None and bool(document.paragraphs) and
                 all(run.font.strike for run in document.paragraphs[-1].runs))


@metric(needs=(DOCX,))
def check_italic_font_size_14(result: str | None, gold: str | None, **options) -> float:
    document, _ = _unchanged_text(result, gold)
    return float(document is not None and all(run.font.size is not None and run.font.size.pt == 14
                                              for p in document.paragraphs for run in p.runs if run.italic))


@metric(needs=(DOCX,), rule_keys={"page_break_count"})
def contains_page_break(result: str | None, rules: dict, **options) -> float:
    document = open_docx(result)
    if document is None:
        return 0.0
    breaks = sum(1 for paragraph in document.paragraphs for run in paragraph.runs
                 for br in run.element.iter(f"{WORD}br") if br.get(f"{WORD}type") == "page")
    wanted = (rules or {}).get("page_break_count")
    return float(breaks > 0 and (wanted is None or breaks == wanted))


@metric(needs=(DOCX,), options={"threshold"})
def evaluate_colored_words_in_tables(result: str | None, gold: str | None, threshold: float = 3.5,
                                     **options) -> float:
    document, _ = _unchanged_text(result, gold)
    if document is None:
        return 0.0
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for run in (run for paragraph in cell.paragraphs for run in paragraph.runs if run.text):
                    color = run.font.color.rgb
                    wanted = (255, 0, 0) if run.text[0].lower() in "aeiou" else (0, 0, 255)
                    if color is None or delta_e_ciede2000(_lab(tuple(color)), _lab(wanted)) > threshold:
                        return 0.0
    return 1.0


def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (0-255) to CIE L*a*b* under D65, as scikit-image's rgb2lab computes it."""
    linear = [((c / 255 + 0.055) / 1.055) ** 2.4 if c / 255 > 0.04045 else c / 255 / 12.92 for c in rgb]
    matrix = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
    x, y, z = (sum(m * c for m, c in zip(row, linear)) / white
               for row, white in zip(matrix, (0.95047, 1.0, 1.08883)))
    fx, fy, fz = (v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in (x, y, z))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e_ciede2000(lab1, lab2) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation, unit weights)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    mean_c7 = ((math.hypot(a1, b1) + math.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - math.sqrt(mean_c7 / (mean_c7 + 25 ** 7)))
    c1, c2 = math.hypot(a1 * (1 + g), b1), math.hypot(a2 * (1 + g), b2)
    h1, h2 = (math.atan2(b, a * (1 + g)) % (2 * math.pi) for a, b in ((a1, b1), (a2, b2)))
    dh = h2 - h1
    dh = (0.0 if c1 * c2 == 0 else dh - 2 * math.pi if dh > math.pi
          else dh + 2 * math.pi if dh < -math.pi else dh)
    big_dh = 2 * math.sqrt(c1 * c2) * math.sin(dh / 2)
    mean_l, mean_c = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        mean_h = h1 + h2
    elif abs(h1 - h2) <= math.pi:
        mean_h = (h1 + h2) / 2
    else:
        mean_h = (h1 + h2 + 2 * math.pi) / 2 if h1 + h2 < 2 * math.pi else (h1 + h2 - 2 * math.pi) / 2
    t = (1 - 0.17 * math.cos(mean_h - math.radians(30)) + 0.24 * math.cos(2 * mean_h)
         + 0.32 * math.cos(3 * mean_h + math.radians(6)) - 0.20 * math.cos(4 * mean_h - math.radians(63)))
    rotation = math.radians(30) * math.exp(-((math.degrees(mean_h) - 275) / 25) ** 2)
    r_c = 2 * math.sqrt(mean_c ** 7 / (mean_c ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (mean_l - 50) ** 2 / math.sqrt(20 + (mean_l - 50) ** 2)
    s_c, s_h = 1 + 0.045 * mean_c, 1 + 0.015 * mean_c * t
    dl, dc, dh_term = (l2 - l1) / s_l, (c2 - c1) / s_c, big_dh / s_h
    return math.sqrt(dl ** 2 + dc ** 2 + dh_term ** 2 - math.sin(2 * rotation) * r_c * dc * dh_term)


@metric()
def check_highlighted_words(result: str | None, gold: str | None, **options) -> float:
    """.odt: the text matches the gold's and no span uses an automatic style with a yellow (#ffff00)
    background."""
    if not (result and gold) or compare_docx_files(result, gold) != 1.0:
        return 0.0
    parts = odf_parts(result)
    if parts is None:
        return 0.0
    yellow = {style.get(f"{{{ODF['style']}}}name") for part in parts
              for style in part.iterfind("office:automatic-styles/*", ODF)
              if any(child.get(f"{{{ODF['fo']}}}background-color") == "#ffff00" for child in style)}
    spans = (span.get(f"{{{ODF['text']}}}style-name") for part in parts
             for span in part.iter(f"{{{ODF['text']}}}span"))
    return float(not any(name in yellow for name in spans if name))


@metric(rule_keys={"font_name"})
def find_default_font(config: str | None, rules: dict, **options) -> float:
    """The Standard font of /org.openoffice.Office.Writer/DefaultFont in registrymodifications.xcu (the last
    set)."""
    if not config:
        return 0.0
    try:
        fonts = registry_values(config, "/org.openoffice.Office.Writer/DefaultFont", "Standard")
    except (OSError, ElementTree.ParseError):
        return 0.0
    return float(next((font for font in reversed(fonts) if font is not None), None) == rules["font_name"])
