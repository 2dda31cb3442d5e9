"""PDF metrics: compare_pdfs' Indel ratio against rapidfuzz's, the perceptual hash against scipy's DCT, PDFs
made here with PyMuPDF, and the real tasks' verdicts."""
from __future__ import annotations

import importlib.util
import random

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.metrics.pdf import (
    check_pdf_pages,
    compare_pdf_images,
    compare_pdfs,
    hash_distance,
    longest_common_subsequence,
    perceptual_hash,
    text_similarity,
)

from .builders import pdf, pdf_with_pictures, picture
from .osworld_tasks import tasks_scored_by, tasks_using


def test_text_similarity_is_the_indel_ratio():
    assert text_similarity("kitten", "sitting") == pytest.approx(8 / 13)      # LCS "ittn"
    assert text_similarity("same", "same") == 1.0
    assert text_similarity("", "") == 1.0
    assert text_similarity("abc", "") == 0.0
    assert longest_common_subsequence("ABCBDAB", "BDCABA") == 4


def test_text_similarity_matches_rapidfuzz():
    fuzz = pytest.importorskip("rapidfuzz.fuzz")
    rng = random.Random(7)
    for _ in range(200):
        first = "".join(rng.choice("abcé \n") for _ in range(rng.randint(0, 80)))
        second = "".join(rng.choice("abcé \n") for _ in range(rng.randint(0, 80)))
        assert text_similarity(first, second) == pytest.approx(fuzz.ratio(first, second) / 100, abs=1e-12)


def test_long_texts_with_a_small_edit_are_similar():
    rng = random.Random(3)
    first = "".join(rng.choice("abcdefgh ") for _ in range(20000))
    second = first[:9000] + "inserted text" + first[9500:]
    assert 0.9 < text_similarity(first, second) < 1.0


def test_compare_pdfs(tmp_path):
    gold = pdf(tmp_path / "gold.pdf", "Invoice 243729", "Total: 100 EUR")
    assert compare_pdfs(pdf(tmp_path / "same.pdf", "Invoice 243729", "Total: 100 EUR"), gold) == 1.0
    other = pdf(tmp_path / "other.pdf", "Invoice 243729", "Total: 999 USD")
    assert 0.5 < compare_pdfs(other, gold) < 1.0
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nothing here")
    assert compare_pdfs([gold, str(broken)], [gold, gold]) == pytest.approx(0.5)
    assert compare_pdfs(None, gold) == 0.0


def test_real_tasks_runnable_exactly_when_pymupdf_is_installed():
    installed = importlib.util.find_spec("pymupdf") is not None
    checked = 0
    for name, task, _evaluator in tasks_scored_by("compare_pdfs"):
        gaps = [m for m in missing_capabilities(task) if "compare_pdfs" in m]
        assert len(gaps) == (0 if installed else 1) and all("PyMuPDF" in m for m in gaps), name
        checked += 1
    assert checked >= 5


def test_perceptual_hash_is_imagehash_phash():
    np = pytest.importorskip("numpy")
    fftpack = pytest.importorskip("scipy.fftpack")
    from PIL import Image
    for seed in range(5):
        image = picture(seed)
        pixels = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS))
        low = fftpack.dct(fftpack.dct(pixels, axis=0), axis=1)[:8, :8]
        assert (perceptual_hash(image) == (low > np.median(low))).all()
    assert hash_distance(perceptual_hash(picture(0)), perceptual_hash(picture(0).resize((48, 32)))) <= 5
    assert hash_distance(perceptual_hash(picture(0)), perceptual_hash(picture(1).rotate(180))) > 5


def test_compare_pdf_images(tmp_path):
    gold = pdf_with_pictures(tmp_path / "gold.pdf", picture(0), picture(1))
    assert compare_pdf_images(pdf_with_pictures(tmp_path / "same.pdf", picture(0), picture(1)), gold) == 1.0
    one_changed = pdf_with_pictures(tmp_path / "half.pdf", picture(0), picture(2).rotate(180))
    assert compare_pdf_images(one_changed, gold) == 0.5
    assert compare_pdf_images(pdf_with_pictures(tmp_path / "one.pdf", picture(0)), gold) == 0.0
    text_only = pdf(tmp_path / "text.pdf", "no pictures")
    assert compare_pdf_images(text_only, pdf(tmp_path / "text2.pdf", "none either")) == 1.0
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    assert compare_pdf_images(str(tmp_path / "broken.pdf"), gold) == 0.0
    assert compare_pdf_images(str(tmp_path / "missing.pdf"), gold) == 0.0
    assert compare_pdf_images(None, gold) == 0.0


def test_check_pdf_pages(tmp_path):
    pytest.importorskip("pypdf")
    one, two = pdf(tmp_path / "one.pdf", "a"), pdf(tmp_path / "two.pdf", "a", "b")
    assert check_pdf_pages(one, {"relation": "eq", "ref_value": 1}) == 1.0
    assert check_pdf_pages(two, {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(two, {"relation": "gt", "ref_value": 1}) == 1.0
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf")
    assert check_pdf_pages(str(tmp_path / "broken.pdf"), {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(None, {"relation": "eq", "ref_value": 1}) == 0.0
    with pytest.raises(ValueError):
        check_pdf_pages(one, {"relation": "contains", "ref_value": 1})


def test_real_tasks_with_pdf_pictures_and_page_counts_are_runnable():
    tasks = list(tasks_using("compare_pdf_images", "check_pdf_pages"))
    assert len(tasks) == 2
    installed = all(importlib.util.find_spec(library) for library in ("pymupdf", "pypdf", "numpy"))
    for name, task in tasks:
        assert (missing_capabilities(task) == []) == installed, name
