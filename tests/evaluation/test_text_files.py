"""Generic text/JSON/archive metrics (metrics/text.py), check_direct_json_object's expect_in_result, and the
options and rules real task files pass them."""
from __future__ import annotations

import json
import tempfile

import pytest

from daemon.evaluation import registry
from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.host_policy import PolicyError
from daemon.evaluation.metrics import METRICS
from daemon.evaluation.metrics.general import check_direct_json_object
from daemon.evaluation.metrics.matching import value_matches
from daemon.evaluation.metrics.text import (
    archive_gaps,
    archive_member,
    check_csv,
    check_json,
    check_line_number,
    check_moved_jpgs,
    compare_archive,
    compare_epub,
    compare_python_pure_text,
    compare_result_files,
    compare_zip_files,
    diff_text_file,
    file_contains,
    is_in_list,
    match_in_list,
)

from .builders import OPF, epub_of, pdf_bytes, tar_of, write, zip_of
from .osworld_tasks import tasks_scored_by, tasks_using


def test_value_rule_methods_the_text_metrics_use():
    assert value_matches("a smart b", {"method": "re", "ref": r"\bsmart\b"})
    assert not value_matches("smarter", {"method": "re", "ref": r"\bsmart\b"})
    assert value_matches("Anonym\nXYZ Lab", {"method": "re.S", "ref": "Anonym.XYZ"})
    assert not value_matches("Anonym\nXYZ Lab", {"method": "re", "ref": "Anonym.XYZ"})
    assert value_matches(3, {"method": "ge", "ref": 2}) and not value_matches(3, {"method": "lt", "ref": 2})
    assert value_matches("2.05", {"method": "approx:0.1", "ref": 2})
    assert not value_matches("x", {"method": "approx:1", "ref": 2})
    with pytest.raises(ValueError):
        value_matches(1, {"method": "fuzzy", "ref": 1})


def test_check_json_paths_yaml_and_unexpect(tmp_path):
    data = {"name": "happy", "browser_action": {"default_icon": {"64": "i"}}}
    manifest = write(tmp_path / "m.json", json.dumps(data))
    rules = {"expect": [{"key": ["name"], "method": "eq", "ref": "happy"},
                        {"key": ["browser_action", "default_icon"], "method": "eq", "ref": {"64": "i"}}]}
    assert check_json(manifest, rules) == 1.0
    assert check_json(manifest, {"expect": [{"key": ["name", "deeper"], "method": "eq", "ref": 1}]}) == 0.0
    assert check_json(manifest, {"expect": [{"key": ["version"], "method": "eq", "ref": "1"}]}) == 0.0
    assert check_json(manifest, {**rules,
                                 "unexpect": [{"key": ["name"], "method": "re", "ref": "hap"}]}) == 0.0
    assert check_json(manifest, {**rules, "unexpect": [{"key": ["gone"], "method": "eq", "ref": "x"}]}) == 1.0
    config = write(tmp_path / "c.yml", "name: Test Account\nauthor:\n  email: Test@gmail.com\n")
    yaml_rules = {"expect": [{"key": ["author", "email"], "method": "eq", "ref": "Test@gmail.com"}]}
    assert check_json(config, yaml_rules, is_yaml=True) == 1.0
    assert check_json(config, yaml_rules) == 0.0                                  # not JSON
    assert check_json(None, yaml_rules) == 0.0 and check_json(str(tmp_path / "none"), yaml_rules) == 0.0


def test_line_checks(tmp_path):
    ours = write(tmp_path / "a.tex", "one\ntwo\nthree\nfour\n")
    theirs = write(tmp_path / "b.tex", "one\ntwo\nTHREE\nfour\n")
    assert diff_text_file(ours, ours) == 1.0
    assert diff_text_file(ours, theirs) == pytest.approx(0.75)
    assert diff_text_file(None, theirs) == 0.0
    report = write(tmp_path / "r.txt", "CPU %user %idle\n10:00:01 all 1\n10:00:02 all 2\nAverage: 3\n")
    assert file_contains(report, {"expected": ["CPU", "%idle"]}) == 1.0
    assert file_contains(report, {"expected": ["CPU", "%steal"]}) == 0.0
    assert check_line_number(report, {"expected": "2"}) == 1.0
    assert check_line_number(report, {"expected": "3"}) == 0.0


def test_list_membership():
    assert is_in_list(["/a", "/home/user/Desktop/hello"], {"expected": "/home/user/Desktop/hello"}) == 1.0
    assert is_in_list(["/a"], {"expected": "/b"}) == 0.0 and is_in_list(None, {"expected": "/b"}) == 0.0
    assert match_in_list("Bing", {"expected": ["Microsoft Bing", "Bing"]}) == 1.0
    assert match_in_list("Google", {"expected": ["Microsoft Bing", "Bing"]}) == 0.0


def test_compare_archive_members_and_folders(tmp_path):
    gold = zip_of(tmp_path / "gold.zip", {"slides/a.txt": "A", "slides/b.txt": "B"})
    assert compare_archive(zip_of(tmp_path / "same.zip", {"slides/a.txt": "A", "slides/b.txt": "B"}), gold,
                           file_path="slides") == 1.0
    assert compare_archive(zip_of(tmp_path / "half.zip", {"slides/a.txt": "A", "slides/b.txt": "X"}), gold,
                           file_path="slides", file_type="text") == 0.5
    assert compare_archive(zip_of(tmp_path / "fewer.zip", {"slides/a.txt": "A"}), gold,
                           file_path="slides") == 0.0
    tar_gold = tar_of(tmp_path / "gold.tar.gz", {"a.csv": "x,y\n", "b.csv": "1,2\n"})
    assert compare_archive(tar_of(tmp_path / "ours.tar.gz", {"a.csv": "x,y\n", "b.csv": "1,2\n"}), tar_gold,
                           file_type="csv") == 1.0
    (tmp_path / "broken.zip").write_bytes(b"not an archive")
    assert compare_archive(str(tmp_path / "broken.zip"), gold) == 0.0
    assert compare_archive(None, gold) == 0.0


def test_compare_archive_refuses_members_leaving_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # archives unpack in folders under tmp_path
    evil = tar_of(tmp_path / "evil.tar.gz", {"../escaped.txt": "x"})
    assert compare_archive(evil, tar_of(tmp_path / "gold.tar.gz", {"escaped.txt": "x"})) == 0.0
    assert not (tmp_path / "escaped.txt").exists()


def test_compare_archive_refuses_a_file_path_leaving_the_folder(tmp_path, monkeypatch):
    """A `..` file_path would list and score a host folder (here, next to the unpacked archives)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "host").mkdir()
    write(tmp_path / "host" / "a.txt", "host text")
    archive = zip_of(tmp_path / "any.zip", {"a.txt": "A"})
    for file_path in ("../host", str(tmp_path / "host")):
        with pytest.raises(PolicyError, match="file_path"):
            compare_archive(archive, archive, file_path=file_path)


def test_archive_gaps_are_the_member_metric_gaps():
    assert archive_gaps({"file_type": "text"}) == []
    assert archive_member({"file_type": "pdf"}) == ("compare_pdfs", {})
    assert archive_gaps({"file_type": "rar"})
    assert archive_gaps({"file_type": "csv", "strict": False}) == []             # compare_csv reads strict
    assert archive_gaps({"file_type": "csv", "tolerance": 1}) == [
        "compare_csv option 'tolerance' (not implemented)"]


def test_check_direct_json_object_expect_in_result():
    rules = {"expected": {"fromStation": ["BOM"], "toStation": ["STO", "ARN"], "q": "coffee"},
             "expect_in_result": True}
    assert check_direct_json_object({"fromStation": "BOM", "toStation": ["ARN"], "q": "drip coffee maker"},
                                    rules) == 1
    assert check_direct_json_object({"fromStation": "BOM", "toStation": "OSL", "q": "drip coffee"},
                                    rules) == 0.0
    assert check_direct_json_object({"fromStation": "BOM", "toStation": "STO"}, rules) == 0.0  # q missing
    assert check_direct_json_object({"q": "drip coffee maker"}, {"expected": {"q": "coffee"}}) == 0.0  # exact
    # OSWorld's quotes
    assert check_direct_json_object("{'q': 'coffee'}", {"expected": {"q": "coffee"}}) == 1.0
    assert check_direct_json_object("[1]", {"expected": {"q": "coffee"}}) == 0.0


def test_real_tasks_are_runnable():
    metrics = ("check_json", "diff_text_file", "file_contains", "compare_archive", "is_in_list",
               "match_in_list")
    checked = 0
    for name, task, evaluator in tasks_scored_by(*metrics):
        gaps = [gap for gap in missing_capabilities(task) if evaluator["func"] in gap]
        assert gaps == [] or gaps == registry.gaps("metric", "compare_pdfs", {}), (name, gaps)
        checked += 1
    assert checked >= 8


def test_check_csv_expect_and_unexpect_records(tmp_path):
    accounts = write(tmp_path / "accounts.csv", "url,user,password\n"
                                                "imap://outlook.office365.com,anonym-x2024@outlook.com,x\n"
                                                "smtp://smtp.gmail.com,someone@gmail.com,y\n")
    removed = {"unexpect": [{"url": "imap://outlook.office365.com", "user": "anonym-x2024@outlook.com"}]}
    assert check_csv(accounts, removed) == 0.0
    assert check_csv(accounts, {"expect": [{"user": "someone@gmail.com"}],
                                "unexpect": [{"user": "nobody"}]}) == 1.0
    assert check_csv(accounts, {"expect": [{"user": "someone@gmail.com", "url": "imap://x"}]}) == 0.0
    assert check_csv(write(tmp_path / "empty.csv", "url,user,password\n"), removed) == 1.0
    assert check_csv(str(tmp_path / "missing.csv"), removed) == 0.0
    assert check_csv(None, removed) == 0.0


def test_check_moved_jpgs_compares_the_directory_entries():
    rules = {"expected": ["a.jpg", "b.jpg"]}
    tree = {"name": "cpjpg", "type": "directory", "children": [{"name": "b.jpg", "type": "file"},
                                                               {"name": "a.jpg", "type": "file"}]}
    assert check_moved_jpgs(tree, rules) == 1.0
    assert check_moved_jpgs({**tree, "children": tree["children"] * 2}, rules) == 0.0  # duplicates counted
    assert check_moved_jpgs({**tree, "children": [{"name": "a.jpg"}, {"name": "c.jpg"}]}, rules) == 0.0
    assert check_moved_jpgs({"name": "x.jpg", "type": "file"}, rules) == 0.0
    assert check_moved_jpgs(None, rules) == 0.0


def test_compare_python_pure_text_sets_aside_layout_and_headers(tmp_path):
    gold = write(tmp_path / "gold.py",
                 "import torch\n\n# hyperparameters\nfor i in range(3):\n    print(i)\n")
    ours = write(tmp_path / "ours.py", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport torch   \n"
                                       "# hyperparameters\n\n\nfor i in range(3):\n\tprint(i)\n")
    assert compare_python_pure_text(ours, gold) == 1.0
    assert compare_python_pure_text(write(tmp_path / "md.py",
                                          "# Building a GPT\nimport torch\n# hyperparameters\n"
                                          "for i in range(3):\n    print(i)\n"), gold) == 0.0
    assert compare_python_pure_text(write(tmp_path / "indent.py", "import torch\n# hyperparameters\n"
                                          "for i in range(3):\n  print(i)\n"), gold) == 0.0
    late_header = write(tmp_path / "late.py",
                        "\n#!/usr/bin/env python\n" + (tmp_path / "gold.py").read_text())
    assert compare_python_pure_text(late_header, gold) == 0.0             # only a leading header is skipped
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    assert compare_python_pure_text(str(tmp_path / "latin.py"), gold) == 0.0
    assert compare_python_pure_text(None, gold) == 0.0


def test_compare_result_files_numbers_and_text(tmp_path):
    gold = write(tmp_path / "gold.txt", "25.5\n")
    assert compare_result_files(write(tmp_path / "a.txt", "25.50001"), gold) == 1.0
    assert compare_result_files(write(tmp_path / "b.txt", "The median price is 25.5"), gold) == 1.0
    assert compare_result_files(write(tmp_path / "c.txt", "25.6"), gold) == 0.0
    assert compare_result_files(write(tmp_path / "d.txt", "about twenty-five"), gold) == 0.0
    word_gold = write(tmp_path / "word.txt", " yes ")
    assert compare_result_files(write(tmp_path / "e.txt", "yes\n"), word_gold) == 1.0
    assert compare_result_files(write(tmp_path / "f.txt", "yes indeed"), word_gold) == 0.0
    assert compare_result_files(None, gold) == 0.0


def test_compare_zip_files_members_and_pdf_text(tmp_path):
    pytest.importorskip("pypdf")
    essay = "Recruitment and retention of health professionals across Europe"
    gold = zip_of(tmp_path / "gold.zip", {"essay.docx": b"docx", "essay.pdf": pdf_bytes(essay)})
    assert compare_zip_files(zip_of(tmp_path / "same.zip",
                                    {"essay.docx": b"docx", "essay.pdf": pdf_bytes(essay)}), gold) == 1.0
    assert compare_zip_files(zip_of(tmp_path / "bytes.zip",
                                    {"essay.docx": b"DOCX", "essay.pdf": pdf_bytes(essay)}), gold) == 0.0
    assert compare_zip_files(zip_of(tmp_path / "text.zip",
                                    {"essay.docx": b"docx", "essay.pdf": pdf_bytes("Other")}), gold) == 0.0
    assert compare_zip_files(zip_of(tmp_path / "names.zip", {"essay.docx": b"docx"}), gold) == 0.0
    assert compare_zip_files(write(tmp_path / "broken.zip", "not a zip"), gold) == 0.0
    assert compare_zip_files(None, gold) == 0.0


def test_compare_epub_flattens_as_osworld(tmp_path):
    pytest.importorskip("lxml")
    chapters = {"index_split_000.html": "<html><body>\n<h1>Chapter 1</h1>\n<p>It began.</p></body></html>",
                "index_split_001.html": "<html><body><h1>Chapter 2</h1><p>It went on.</p></body></html>"}
    gold = epub_of(tmp_path / "gold.epub", chapters)
    assert compare_epub(epub_of(tmp_path / "same.epub", chapters, "uuid-2"), gold) == 1.0    # ids set aside
    rewritten = {**chapters,
                 "index_split_001.html": "<html><body><h1>Chapter 2</h1><p>Changed.</p></body></html>"}
    assert 0.5 < compare_epub(epub_of(tmp_path / "edit.epub", rewritten), gold) < 1.0
    assert compare_epub(epub_of(tmp_path / "nested.epub", {"text/ch1.html": "<p>x</p>"}), gold) == 0.0
    no_toc = zip_of(tmp_path / "no_toc.epub", {"content.opf": OPF})  # OSWorld pairs the files in name order:
    assert compare_epub(no_toc, gold) == 1.0  # its lone content.opf matches the gold one
    assert compare_epub(write(tmp_path / "broken.epub", "not a zip"), gold) == 0.0
    assert compare_epub(None, gold) == 0.0


def test_real_tasks_using_the_file_format_metrics_are_runnable():
    metrics = ("check_csv", "check_moved_jpgs", "compare_python_pure_text", "compare_result_files",
               "compare_zip_files", "compare_epub")
    checked = 0
    for name, task in tasks_using(*metrics):
        assert [gap for gap in missing_capabilities(task) if any(m in gap for m in metrics)] == [], name
        checked += 1
    assert checked == 6


def test_fuzzy_match_is_declared_in_its_one_file_and_admitted():
    """The worked example of docs/architecture.md: a metric added in metrics/text.py alone is scored and
    admitted."""
    assert METRICS["fuzzy_match"]("hello wrld", {"expected": "hello world"}) == pytest.approx(20 / 21)
    assert METRICS["fuzzy_match"](None, {"expected": "x"}) == 0.0
    task = {"id": "fuzzy", "instruction": "type", "config": [], "evaluator": {
        "func": "fuzzy_match", "result": {"type": "vm_command_line", "command": ["cat", "f"]},
        "expected": {"type": "rule", "rules": {"expected": "hello", "threshold": 0.5}}}}
    assert missing_capabilities(task) == ["metric 'fuzzy_match' rule 'threshold' (not implemented)"]
