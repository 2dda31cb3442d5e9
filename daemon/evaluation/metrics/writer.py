"""Writer text metrics: the `docs` extra (python-docx, rapidfuzz), imported only when a task needs them.

Behaviour follows OSWorld's metrics/docs.py:
- compare_docx_files (.docx pairs via python-docx, .odt pairs via their XML as odfpy reads them: every text:p
  of content.xml then styles.xml, with its own text and its spans' own text): paragraph texts, optionally
  sorted (ignore_order) and without empty ones (delete_empty_lines). content_only scores rapidfuzz's ratio of
  the blank-folded texts; with ignore_blanks (the default) the blank-folded texts must be equal, or with
  fuzzy_match score their ratio (OSWorld reads no threshold option: fuzzy_match_threshold is accepted and, as
  there, ignored); otherwise every paragraph must be equal, or with fuzzy_match the mean ratio of paragraph
  pairs counts.
- compare_docx_tables, compare_docx_files_and_ignore_new_lines, compare_references (fuzzy mean over the
  paragraphs after the "References" one, rescaled above reference_base_result), compare_unique_train_records.
- fuzzy_place_math (general.py): every whitespace-separated word of the paragraphs takes its best ratio
  against the accepted answers; as in OSWorld's code, anything but exactly three words scores 0, else their
  mean.
Each declares the options it reads (others are refused) and the libraries it needs.
"""
from __future__ import annotations

import re
import zipfile
from xml.etree import ElementTree

from ..registry import Need, metric
from .matching import RAPIDFUZZ

EXTRA_HINT = "needs the docs extra: pip install '.[docs]'"
ODF = {"office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
       "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"}
DOCX = Need("docs", ("docx",))                          # python-docx
PLACES_EXPECTED = 3  # fuzzy_place_math's word count, fixed in OSWorld's code


def fuzzy_matching_gaps(metric: str, when=lambda options: True):
    """A check: rapidfuzz is needed when the metric matches fuzzily, for some options (`when`) or always."""
    def check(options: dict) -> list[str]:
        if when(options) and RAPIDFUZZ.missing():
            return [f"metric '{metric}' fuzzy matching (needs rapidfuzz, {EXTRA_HINT})"]
        return []
    return check


def open_docx(path: str | None):
    """The python-docx Document, or None when there is no file or Writer did not save a readable one."""
    import docx  # optional: docs extra
    if not path:
        return None
    try:
        return docx.Document(path)
    except Exception:                                  # noqa: BLE001  (any unreadable file scores 0)
        return None


def paragraph_texts(path: str) -> list[str] | None:
    """A .docx or .odt file's paragraph texts (None: unreadable or another type)."""
    if path.endswith(".docx"):
        document = open_docx(path)
        return None if document is None else [p.text for p in document.paragraphs]
    parts = odf_parts(path) if path.endswith(".odt") else None
    return None if parts is None else [_own_text(p) for part in parts
                                       for p in part.iter(f"{{{ODF['text']}}}p")]


def odf_parts(path: str) -> list | None:
    """An OpenDocument file's parsed content.xml and styles.xml (those it has; None: unreadable)."""
    try:
        with zipfile.ZipFile(path) as odt:
            return [ElementTree.fromstring(odt.read(name)) for name in ("content.xml", "styles.xml")
                    if name in odt.namelist()]
    except (OSError, zipfile.BadZipFile, ElementTree.ParseError):
        return None


def _own_text(paragraph) -> str:
    """The paragraph's direct text and its spans' direct text (odfpy-based OSWorld skips deeper nesting)."""
    pieces = [paragraph.text or ""]
    for child in paragraph:
        if child.tag == f"{{{ODF['text']}}}span":
            pieces += [child.text or ""] + [grandchild.tail or "" for grandchild in child]
        pieces.append(child.tail or "")
    return "".join(pieces)


@metric(needs=(DOCX,), options={"ignore_blanks", "ignore_case", "ignore_order", "delete_empty_lines",
                                "content_only", "fuzzy_match", "fuzzy_match_threshold"},
        check=fuzzy_matching_gaps("compare_docx_files",
                                  lambda options: options.get("fuzzy_match") or options.get("content_only")))
def compare_docx_files(file1: str | None, file2: str | None, ignore_blanks: bool = True,
                       ignore_case: bool = False,
                       ignore_order: bool = False, delete_empty_lines: bool = False,
                       content_only: bool = False,
                       fuzzy_match: bool = False, **options) -> float:
    if not (file1 and file2
            and any(file1.endswith(kind) and file2.endswith(kind) for kind in (".docx", ".odt"))):
        return 0.0
    first, second = paragraph_texts(file1), paragraph_texts(file2)
    if first is None or second is None:
        return 0.0
    if ignore_order:
        first, second = sorted(first), sorted(second)
    if delete_empty_lines:
        first, second = [p for p in first if p.strip()], [p for p in second if p.strip()]
    fold = str.lower if ignore_case else (lambda text: text)
    if content_only or ignore_blanks:
        one, two = fold(blanks_folded(first)), fold(blanks_folded(second))
        if not (content_only or fuzzy_match):
            return float(one == two)
        return _ratio(one, two)
    if len(first) != len(second):
        return 0.0
    if not fuzzy_match:
        return float(all(fold(a) == fold(b) for a, b in zip(first, second)))
    if not first:
        return 1.0
    return sum(_ratio(fold(a), fold(b)) for a, b in zip(first, second)) / len(first)


def _ratio(one: str, two: str) -> float:
    from rapidfuzz import fuzz  # optional: docs extra
    return fuzz.ratio(one, two) / 100.0


def blanks_folded(paragraphs: list[str]) -> str:
    return re.sub(r"\s+", " ", "\n".join(paragraphs)).strip()


@metric(needs=(DOCX,))
def compare_docx_tables(file1: str | None, file2: str | None, **options) -> float:
    """Same number of tables, each of the same shape, every cell's text equal once stripped."""
    first, second = open_docx(file1), open_docx(file2)
    if first is None or second is None or len(first.tables) != len(second.tables):
        return 0.0
    for a, b in zip(first.tables, second.tables):
        if (len(a.rows), len(a.columns)) != (len(b.rows), len(b.columns)):
            return 0.0
        for i in range(len(a.rows)):
            for j in range(len(a.columns)):
                if a.cell(i, j).text.strip() != b.cell(i, j).text.strip():
                    return 0.0
    return 1.0


def _docx_texts(file1: str | None, file2: str | None) -> tuple[list[str], list[str]] | None:
    """Both .docx files' paragraph texts (None: either is missing, of another type or unreadable)."""
    if not (file1 and file2 and file1.endswith(".docx") and file2.endswith(".docx")):
        return None
    texts = paragraph_texts(file1), paragraph_texts(file2)
    return None if None in texts else texts


@metric(needs=(DOCX,), options={"ignore_blanks"})
def compare_docx_files_and_ignore_new_lines(file1: str | None, file2: str | None, ignore_blanks: bool = True,
                                            **options) -> float:
    """Like compare_docx_files on .docx files once paragraphs with no text at all are dropped."""
    texts = _docx_texts(file1, file2)
    if texts is None:
        return 0.0
    first, second = ([p for p in paragraphs if p != ""] for paragraphs in texts)
    return float(blanks_folded(first) == blanks_folded(second) if ignore_blanks else first == second)


# content_only is accepted and, as in OSWorld, not read.
@metric(needs=(DOCX,), options={"content_only", "reference_indicator", "reference_base_result"},
        check=fuzzy_matching_gaps("compare_references"))
def compare_references(file1: str | None, file2: str | None, reference_indicator: str = "References",
                       reference_base_result: float = 0.5, **options) -> float:
    """The non-empty paragraphs after the `reference_indicator` one: mean fuzzy ratio, rescaled above the
    base."""
    texts = _docx_texts(file1, file2)
    if texts is None:
        return 0.0
    first, second = texts
    if reference_indicator not in first and reference_indicator not in second:
        return 1.0
    if reference_indicator not in first or reference_indicator not in second:
        return 0.0
    ours, theirs = ([p for p in texts[texts.index(reference_indicator) + 1:] if p.strip()]
                    for texts in (first, second))
    if len(ours) != len(theirs):
        return 0.0
    if not ours:
        return 0.0                                     # OSWorld divides by zero here: no score
    result = sum(_ratio(a, b) for a, b in zip(ours, theirs)) / len(ours)
    return ((result - reference_base_result) / (1 - reference_base_result)
            if result >= reference_base_result + 0.01 else 0.0)


@metric(needs=(DOCX,))
def compare_unique_train_records(processed: str | None, expected: list | None, **options) -> float:
    """expected = [gold, original]: lines kept from the original, one per train id, the gold's ids and
    count."""
    if not processed or not isinstance(expected, list) or len(expected) < 2 or not all(expected[:2]):
        return 0.0
    records = [_train_records(path) for path in (processed, expected[0], expected[1])]
    if any(record is None for record in records):
        return 0.0
    (lines, ids), (gold_lines, gold_ids), (original_lines, _) = records
    return float(set(lines) <= set(original_lines) and len(ids) == len(set(ids)) and set(ids) == set(gold_ids)
                 and len(lines) == len(gold_lines))


@metric(needs=(DOCX,), rule_keys={"expected"}, check=fuzzy_matching_gaps("fuzzy_place_math"))
def fuzzy_place_math(result: str | None, rules: dict, **options) -> float:
    document = open_docx(result)
    if document is None:
        return 0.0
    words = [word for paragraph in document.paragraphs for word in paragraph.text.split()]
    if len(words) != PLACES_EXPECTED:
        return 0.0
    return sum(max((_ratio(word, answer) for answer in rules["expected"]), default=0.0)
               for word in words) / len(words)


def _train_records(path: str) -> tuple[list[str], list[str]] | None:
    """Non-empty stripped lines, and the train id (second field) of those with exactly four comma-separated
    fields."""
    document = open_docx(path)
    if document is None:
        return None
    lines = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    return lines, [line.split(",")[1].strip() for line in lines if len(line.split(",")) == 4]
