"""OSWorld's PDF metrics, with the libraries OSWorld reads PDFs with (imported only when a task is scored).

- compare_pdfs: text similarity of PDF pairs. Each PDF's text is PyMuPDF's `page.get_text()` of every page,
  joined and stripped; a pair scores rapidfuzz's `fuzz.ratio` / 100, i.e. the Indel similarity 1 - (len(a) +
  len(b) - 2 * LCS) / (len(a) + len(b)), rebuilt here from a bit-parallel longest common subsequence; the
  score is the mean over the (result, expected) pairs, a pair that cannot be read adding 0.
- compare_pdf_images: the pictures embedded in each PDF (PyMuPDF's `get_images` of every page, in page order,
  as Pillow opens them; one Pillow cannot open is left out). Different counts score 0, none in either 1;
  otherwise the share of pairs whose perceptual hashes (imagehash's `phash`: 32x32 grayscale Lanczos, 2-D DCT,
  the 8x8 lowest frequencies above their median; rebuilt here with numpy) differ in at most 5 bits.
- check_pdf_pages: pypdf's page count compared to `ref_value` by the rule's `relation` (eq, ne, lt, le, gt,
  ge).
- similar_pdf_texts (compare_zip_files' PDF members): pypdf's `extract_text` of every page (OSWorld uses
  PyPDF2, which pypdf continues), difflib's ratio of the two texts at least 0.95.
The readers are part of the score (pypdf lays text out differently from PyMuPDF and gives other ratios), so
the capability check refuses a metric whose library is missing. A PDF that cannot be read scores 0.0.
"""
from __future__ import annotations

import difflib
import io

from ..errors import MalformedTask
from ..host_policy import pillow
from ..registry import Need, metric
from .matching import COMPARISONS, value_matches

PYMUPDF = Need("pdf", ("pymupdf",),
               "needs PyMuPDF, OSWorld's PDF reader, AGPL-licensed: pip install '.[pdf]'")
PYPDF = Need("docs", ("pypdf",), "needs pypdf, as OSWorld's PyPDF2: pip install '.[docs]'")
NUMPY = Need("docs", ("numpy",), "needs numpy: pip install '.[docs]'")
HASH_SIZE, HASH_SOURCE_SIZE, SAME_PICTURE_BITS = 8, 32, 5    # imagehash.phash's defaults, OSWorld's threshold
SIMILAR_TEXTS = 0.95  # compare_zip_files' difflib ratio for PDF members


@metric(needs=(PYMUPDF,))
def compare_pdfs(results, expecteds, **options) -> float:
    if results is None or expecteds is None:
        return 0.0
    if not isinstance(expecteds, list):
        results, expecteds = [results], [expecteds]
    total = 0.0
    for result, expected in zip(results, expecteds):
        try:
            total += text_similarity(pdf_text(result), pdf_text(expected))
        except Exception:  # noqa: BLE001  (an unreadable pair adds 0, as in OSWorld)
            continue
    return total / len(expecteds)


def pdf_text(path: str) -> str:
    import pymupdf  # optional: pdf extra
    with pymupdf.open(path) as document:
        return "".join(page.get_text() for page in document).strip()


def text_similarity(first: str, second: str) -> float:
    """rapidfuzz's fuzz.ratio(first, second) / 100: two empty texts are equal (1.0)."""
    total = len(first) + len(second)
    return 1.0 - (total - 2 * longest_common_subsequence(first, second)) / total if total else 1.0


def longest_common_subsequence(first: str, second: str) -> int:
    """Length of the LCS by the bit-parallel method (Allison-Dix / Hyyrö): one big-integer step per character
    of `second`, so long page texts take milliseconds rather than a quadratic table."""
    if not first or not second:
        return 0
    positions: dict[str, int] = {}
    for index, char in enumerate(first):
        positions[char] = positions.get(char, 0) | (1 << index)
    everything = (1 << len(first)) - 1
    row = everything  # a set bit: that position of `first` is not matched yet
    for char in second:
        matches = row & positions.get(char, 0)
        row = ((row + matches) | (row - matches)) & everything
    return len(first) - row.bit_count()


@metric(needs=(PYMUPDF, NUMPY))
def compare_pdf_images(result: str | None, expected: str | None, **options) -> float:
    if not result or not expected:
        return 0.0
    try:
        ours, theirs = embedded_pictures(result), embedded_pictures(expected)
    except Exception:  # noqa: BLE001  (an unreadable PDF scores 0, as in OSWorld)
        return 0.0
    if len(ours) != len(theirs):
        return 0.0
    if not ours:
        return 1.0
    try:
        same = sum(hash_distance(perceptual_hash(a), perceptual_hash(b)) <= SAME_PICTURE_BITS
                   for a, b in zip(ours, theirs))
    except Exception:  # noqa: BLE001  (a picture Pillow opened but cannot decode)
        return 0.0
    return same / len(ours)


def embedded_pictures(path: str) -> list:
    import pymupdf  # optional: pdf extra
    Image = pillow()
    pictures = []
    with pymupdf.open(path) as document:
        for page in document:
            for picture in page.get_images(full=True):
                data = document.extract_image(picture[0])["image"]
                try:
                    pictures.append(Image.open(io.BytesIO(data)))
                except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning):
                    continue                           # OSWorld logs it and goes on without it
    return pictures


def perceptual_hash(image):
    """imagehash.phash(image): which of the 8x8 lowest DCT-II frequencies of the 32x32 grayscale image lie
    above their median. scipy's unnormalised DCT is a product with a cosine matrix (its scale does not move
    the median)."""
    import numpy as np  # optional: docs extra
    lanczos = pillow().Resampling.LANCZOS
    pixels = np.asarray(image.convert("L").resize((HASH_SOURCE_SIZE,) * 2, lanczos), dtype=float)
    k, n = np.ogrid[:HASH_SIZE, :HASH_SOURCE_SIZE]
    cosines = 2 * np.cos(np.pi * k * (2 * n + 1) / (2 * HASH_SOURCE_SIZE))
    lowest = cosines @ pixels @ cosines.T
    return lowest > np.median(lowest)


def hash_distance(first, second) -> int:
    return int((first != second).sum())


@metric(needs=(PYPDF,), rule_keys={"relation", "ref_value"})
def check_pdf_pages(result: str | None, rules: dict, **options) -> float:
    relation = rules["relation"]
    if relation not in COMPARISONS:
        raise MalformedTask(f"check_pdf_pages: relation {relation!r} is not implemented")
    if result is None:
        return 0.0
    import pypdf  # optional: docs extra
    try:
        pages = len(pypdf.PdfReader(result).pages)
    except Exception:  # noqa: BLE001  (pypdf raises many kinds on a broken file)
        return 0.0
    return float(value_matches(pages, {"method": relation, "ref": rules["ref_value"]}))


def similar_pdf_texts(first: bytes, second: bytes) -> bool:
    """compare_zip_files' test for two PDF members: difflib's ratio of their pypdf texts reaches
    SIMILAR_TEXTS."""
    try:
        texts = [pypdf_text(data) for data in (first, second)]
    except Exception:                                  # noqa: BLE001  (an unreadable PDF is not similar)
        return False
    return difflib.SequenceMatcher(None, *texts).ratio() >= SIMILAR_TEXTS


def pypdf_text(data: bytes) -> str:
    import pypdf  # optional: docs extra
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
