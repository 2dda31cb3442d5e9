"""compare_docx_files (docs extra) against documents made here, and the options real task files use."""
from __future__ import annotations

import pytest

docx = pytest.importorskip("docx", reason="the docs extra is not installed")

import importlib.util  # noqa: E402

from daemon.evaluation.admission import missing_capabilities  # noqa: E402
from daemon.evaluation.metrics import writer, writer_formatting  # noqa: E402
from daemon.evaluation.metrics.writer import (  # noqa: E402
    compare_docx_files,
    compare_docx_files_and_ignore_new_lines,
    compare_docx_tables,
    compare_references,
    compare_unique_train_records,
    fuzzy_place_math,
)
from daemon.evaluation.registry import gaps  # noqa: E402

from .builders import (  # noqa: E402
    ODT_PARAGRAPHS,
    PLACES,
    REFERENCES,
    TRAIN_RECORDS,
    document,
    metrics_of,
    odt,
    table_document,
)
from .osworld_tasks import tasks_scored_by  # noqa: E402

WRITER_METRICS = {**metrics_of(writer), **metrics_of(writer_formatting)}


def test_blanks_case_order_and_empty_lines(tmp_path):
    gold = document(tmp_path / "gold.docx", "Hello  world", "Second line")
    spaced = document(tmp_path / "spaced.docx", "Hello world ", "Second   line")
    assert compare_docx_files(spaced, gold) == 1.0                              # ignore_blanks by default
    assert compare_docx_files(spaced, gold, ignore_blanks=False) == 0.0
    upper = document(tmp_path / "upper.docx", "HELLO world", "second line")
    assert compare_docx_files(upper, gold) == 0.0
    assert compare_docx_files(upper, gold, ignore_case=True) == 1.0
    swapped = document(tmp_path / "swapped.docx", "Second line", "Hello  world")
    assert compare_docx_files(swapped, gold, ignore_blanks=False) == 0.0
    assert compare_docx_files(swapped, gold, ignore_blanks=False, ignore_order=True) == 1.0
    gaps = document(tmp_path / "gaps.docx", "Hello  world", "", "Second line")
    assert compare_docx_files(gaps, gold, ignore_blanks=False) == 0.0
    assert compare_docx_files(gaps, gold, ignore_blanks=False, delete_empty_lines=True) == 1.0


def test_missing_wrong_type_or_broken_files_score_zero(tmp_path):
    gold = document(tmp_path / "gold.docx", "x")
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a document")
    assert compare_docx_files(None, gold) == 0.0
    assert compare_docx_files(str(broken), gold) == 0.0
    assert compare_docx_files(str(tmp_path / "a.odt"), str(tmp_path / "b.odt")) == 0.0


def test_every_real_writer_metric_task_is_runnable():
    checked = 0
    for name, task, evaluator in tasks_scored_by(*WRITER_METRICS):
        gaps = [m for m in missing_capabilities(task) if evaluator["func"] in m]
        assert gaps == [], (name, gaps)
        checked += 1
    assert checked >= 30


def test_capability_check_refuses_unknown_options_and_names_missing_libraries(monkeypatch):
    assert gaps("metric", "compare_docx_files", {"fuzzy_match": True, "ignore_case": True}) == []
    assert gaps("metric", "check_tabstops", {"word_number_split_by_tabstop": 3, "tolerance": 1}) == [
        "check_tabstops option 'tolerance' (not implemented)"]
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "rapidfuzz" else real_find_spec(name))
    assert gaps("metric", "compare_docx_files", {"content_only": True}) == [
        "metric 'compare_docx_files' fuzzy matching (needs rapidfuzz, needs the docs extra: "
        "pip install '.[docs]')"]
    assert gaps("metric", "compare_docx_files", {"ignore_blanks": True}) == []


def test_compare_docx_tables_cell_by_cell(tmp_path):
    def with_table(name, rows):
        return table_document(tmp_path / name, rows)
    gold = with_table("gold.docx", [["a", "b"], ["1", "2"]])
    assert compare_docx_tables(with_table("same.docx", [["a ", "b"], ["1", " 2"]]), gold) == 1.0
    assert compare_docx_tables(with_table("other.docx", [["a", "b"], ["1", "3"]]), gold) == 0.0
    assert compare_docx_tables(with_table("shape.docx", [["a", "b", "c"], ["1", "2", "3"]]), gold) == 0.0
    assert compare_docx_tables(None, gold) == 0.0


def test_fuzzy_match_and_content_only_score_the_similarity(tmp_path):
    pytest.importorskip("rapidfuzz")
    gold = document(tmp_path / "gold.docx", "The quick brown fox", "jumps over the dog")
    near = document(tmp_path / "near.docx", "The quick brown fox", "jumps over a dog")
    assert compare_docx_files(near, gold) == 0.0
    similarity = compare_docx_files(near, gold, fuzzy_match=True)
    assert 0.9 < similarity < 1.0
    # as OSWorld: not read
    assert compare_docx_files(near, gold, fuzzy_match=True, fuzzy_match_threshold=0.99) == similarity
    assert compare_docx_files(near, gold, fuzzy_match=True, fuzzy_match_threshold=0.9) == similarity
    assert compare_docx_files(near, gold, content_only=True, ignore_blanks=False) == similarity
    per_paragraph = compare_docx_files(near, gold, fuzzy_match=True, ignore_blanks=False)
    assert 0.9 < per_paragraph < 1.0 and per_paragraph != similarity       # the mean of the paragraph ratios
    assert compare_docx_files(gold, gold, content_only=True) == 1.0


def test_odt_paragraphs_and_highlighted_words(tmp_path):
    from daemon.evaluation.metrics.writer_formatting import check_highlighted_words
    gold, plain, marked, other = (odt(tmp_path / f"{name}.odt", *ODT_PARAGRAPHS[name])
                                  for name in ("gold", "plain", "marked", "other"))
    assert compare_docx_files(plain, gold) == 1.0 and compare_docx_files(other, gold) == 0.0
    assert check_highlighted_words(plain, gold) == 1.0
    assert check_highlighted_words(marked, gold) == 0.0
    assert check_highlighted_words(other, gold) == 0.0
    assert compare_docx_files(plain, document(tmp_path / "mixed.docx", "Call Anna now")) == 0.0


def test_ignore_new_lines_references_and_train_records(tmp_path):
    gold = document(tmp_path / "gold.docx", "a  b", "c")
    assert compare_docx_files_and_ignore_new_lines(document(tmp_path / "gaps.docx", "a b", "", "c"),
                                                   gold) == 1.0
    assert compare_docx_files_and_ignore_new_lines(document(tmp_path / "gaps.docx", "a b", "", "c"), gold,
                                                   ignore_blanks=False) == 0.0
    pytest.importorskip("rapidfuzz")
    refs = document(tmp_path / "refs.docx", *REFERENCES["refs"])
    assert compare_references(refs, refs, reference_base_result=0.6) == 1.0
    wrong = document(tmp_path / "wrong.docx", *REFERENCES["wrong"])
    assert compare_references(wrong, refs, reference_base_result=0.6) < 0.5
    original, gold_records, kept, duplicated = (document(tmp_path / f"{name}.docx", *TRAIN_RECORDS[name])
                                                for name in ("orig", "gold", "kept", "dup"))
    assert compare_unique_train_records(kept, [gold_records, original]) == 1.0
    assert compare_unique_train_records(duplicated, [gold_records, original]) == 0.0
    assert compare_unique_train_records(kept, gold_records) == 0.0


def test_fuzzy_place_math_scores_three_words_against_the_answers(tmp_path):
    fuzz = pytest.importorskip("rapidfuzz.fuzz")
    answers = PLACES
    exact = document(tmp_path / "exact.docx", "福田区正义街1号", "福田区振兴路108号  福田区滨河大道2033号")
    assert fuzzy_place_math(exact, answers) == 1.0
    near = document(tmp_path / "near.docx", "福田区正义街1号", "福田区振兴路108号", "福田区滨河大道")
    assert fuzzy_place_math(near, answers) == pytest.approx(
        (2 + fuzz.ratio("福田区滨河大道", "福田区滨河大道2033号") / 100) / 3)
    four = document(tmp_path / "four.docx", *answers["expected"])
    assert fuzzy_place_math(four, answers) == 0.0                  # OSWorld's code wants exactly three words
    assert fuzzy_place_math(document(tmp_path / "other.docx", "a b c"), answers) == 0.0
    (tmp_path / "broken.docx").write_bytes(b"not a docx")
    assert fuzzy_place_math(str(tmp_path / "broken.docx"), answers) == 0.0
    assert fuzzy_place_math(None, answers) == 0.0
