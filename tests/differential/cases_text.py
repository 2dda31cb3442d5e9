"""Inputs for the general, text, JSON and archive metrics: the fixtures of tests/evaluation/test_evaluation.py
and test_text_files.py, built with the shared builders."""
from __future__ import annotations

import json

from tests.evaluation.builders import OPF, epub_of, pdf_bytes, tar_of, write, zip_of

from .harness import case


def text(name: str, content: str):
    """A builder: one text file under tmp_path, its path."""
    return lambda tmp: write(tmp / name, content)


def with_files(metric: str, label: str, files: dict, args: list, **options):
    """A case whose string args naming a key of `files` become the path of that file, built under tmp_path."""
    def build(tmp):
        paths = {name: maker(tmp) for name, maker in files.items()}
        def resolve(arg):
            return [resolve(a) for a in arg] if isinstance(arg, list) else paths.get(arg, arg) \
                if isinstance(arg, str) else arg
        return [resolve(a) for a in args], options
    return case(metric, label, build)


def values(metric: str, label: str, *args, **options):
    return case(metric, label, lambda tmp: (list(args), options))


INCLUDE = {"include": ["a", "b"], "exclude": ["z"]}
HELLO = {"a": text("a", "Hello\n  World"), "b": text("b", "hello world")}
LISTING = {"list": text("list.txt", "alpha.txt\nbeta.csv\n")}


def bom_csv(name: str, content: str):
    def build(tmp):
        (tmp / name).write_bytes(content.encode("utf-8"))
        return str(tmp / name)
    return build


CSVS = {"r": bom_csv("r.csv", "\ufeffA,B \n1,2\n"), "g": bom_csv("g.csv", "\ufeffa,b\n1,2\n"),
        "o": text("o.csv", "x\n"), "plain": text("p.csv", "a,b\n1,2\n")}
SETTINGS = {"s": text("settings.json", '{"editor.fontSize": 14, "files.autoSave": "afterDelay"}'),
            "broken": text("broken.json", "{broken")}
EXTENSIONS = "ms-python.python\nvscodevim.vim\n"

GENERAL = [
    values("exact_match", "equal", "yes", {"expected": "yes"}),
    values("exact_match", "newline", "yes\n", {"expected": "yes"}),
    values("check_include_exclude", "all-in", "a b c", INCLUDE),
    values("check_include_exclude", "one-missing", "a c", INCLUDE),
    values("check_include_exclude", "excluded", "a b z", INCLUDE),
    values("check_include_exclude", "none", None, INCLUDE),
    with_files("compare_text_file", "differs", HELLO, ["a", "b"]),
    with_files("compare_text_file", "blanks-case", HELLO, ["a", "b"], ignore_blanks=True, ignore_case=True),
    with_files("compare_text_file", "none", HELLO, [None, "b"]),
    values("literal_match", "case", "Ab", "ab", ignore_case=True),
    values("literal_match", "case-strict", "Ab", "ab"),
    values("literal_match", "list", ["A", "b"], ["a", "b"], ignore_case=True, type="list"),
    values("check_direct_json_object", "text", '{"x": 1, "y": 2}', {"expected": {"x": 1}}),
    values("check_direct_json_object", "differs", {"x": 2}, {"expected": {"x": 1}}),
    values("check_direct_json_object", "not-json", "not json", {"expected": {"x": 1}}),
    with_files("check_list", "expect-unexpect", LISTING, ["list", {"expect": [r"\.txt$"],
                                                                   "unexpect": [r"\.tmp$"]}]),
    with_files("check_list", "missing", LISTING, ["list", {"expect": [r"\.doc$"]}]),
    with_files("compare_csv", "bom-strict", CSVS, ["r", "g"]),
    with_files("compare_csv", "bom-loose", CSVS, ["r", "g"], strict=False, ignore_case=True),
    with_files("compare_csv", "several", CSVS, ["r", ["o", "g"]], strict=False, ignore_case=True),
    with_files("compare_csv", "one-bom", CSVS, ["r", "plain"], strict=False, ignore_case=True),
    with_files("compare_csv", "none", CSVS, [None, "g"]),
    with_files("check_json_settings", "equal", SETTINGS, ["s", {"expected": {"editor.fontSize": 14}}]),
    with_files("check_json_settings", "differs", SETTINGS, ["s", {"expected": {"editor.fontSize": 12}}]),
    with_files("check_json_settings", "missing-key", SETTINGS, ["s", {"expected": {"missing.key": 1}}]),
    with_files("check_json_settings", "broken", SETTINGS, ["broken", {"expected": {"editor.fontSize": 14}}]),
    values("is_extension_installed", "contain", EXTENSIONS, {"type": "contain",
                                                             "expected": "ms-python.python"}),
    values("is_extension_installed", "not-contain", EXTENSIONS, {"type": "not_contain",
                                                                 "expected": "vscodevim.vim"}),
    values("is_extension_installed", "empty", EXTENSIONS, {"type": "contain", "expected": ""}),
]

MANIFEST = {"m": text("m.json", json.dumps({"name": "happy",
                                            "browser_action": {"default_icon": {"64": "i"}}})),
            "c": text("c.yml", "name: Test Account\nauthor:\n  email: Test@gmail.com\n")}
MANIFEST_RULES = {"expect": [{"key": ["name"], "method": "eq", "ref": "happy"},
                             {"key": ["browser_action", "default_icon"], "method": "eq", "ref": {"64": "i"}}]}
YAML_RULES = {"expect": [{"key": ["author", "email"], "method": "eq", "ref": "Test@gmail.com"}]}
TEX = {"ours": text("a.tex", "one\ntwo\nthree\nfour\n"), "theirs": text("b.tex", "one\ntwo\nTHREE\nfour\n"),
       "report": text("r.txt", "CPU %user %idle\n10:00:01 all 1\n10:00:02 all 2\nAverage: 3\n")}
ACCOUNTS = {"accounts": text("accounts.csv",
                             "url,user,password\nimap://outlook.office365.com,anonym-x2024@outlook.com,"
                                             "x\nsmtp://smtp.gmail.com,someone@gmail.com,y\n"),
            "empty": text("empty.csv", "url,user,password\n")}
REMOVED = {"unexpect": [{"url": "imap://outlook.office365.com", "user": "anonym-x2024@outlook.com"}]}
JPGS = {"name": "cpjpg", "type": "directory", "children": [{"name": "b.jpg", "type": "file"},
                                                           {"name": "a.jpg", "type": "file"}]}
GOLD_PY = "import torch\n\n# hyperparameters\nfor i in range(3):\n    print(i)\n"


def latin(tmp):
    (tmp / "latin.py").write_bytes(b"x = '\xe9'\n")
    return str(tmp / "latin.py")


PYTHON = {"gold": text("gold.py", GOLD_PY),
          "ours": text("ours.py", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport torch   \n"
                                  "# hyperparameters\n\n\nfor i in range(3):\n\tprint(i)\n"),
          "md": text("md.py",
                     "# Building a GPT\nimport torch\n# hyperparameters\nfor i in range(3):\n    print(i)\n"),
          "indent": text("indent.py", "import torch\n# hyperparameters\nfor i in range(3):\n  print(i)\n"),
          "late": text("late.py", "\n#!/usr/bin/env python\n" + GOLD_PY), "latin": latin}
RESULTS = {"gold": text("gold.txt", "25.5\n"), "a": text("a.txt", "25.50001"),
           "b": text("b.txt", "The median price is 25.5"), "c": text("c.txt", "25.6"),
           "d": text("d.txt", "about twenty-five"), "word": text("word.txt", " yes "), "e": text("e.txt",
                                                                                                 "yes\n"),
           "f": text("f.txt", "yes indeed")}
ESSAY = "Recruitment and retention of health professionals across Europe"


def zipped(name: str, members: dict):
    return lambda tmp: zip_of(tmp / name, {k: (v() if callable(v) else v) for k, v in members.items()})


ZIPS = {"gold": zipped("gold.zip", {"essay.docx": b"docx", "essay.pdf": lambda: pdf_bytes(ESSAY)}),
        "same": zipped("same.zip", {"essay.docx": b"docx", "essay.pdf": lambda: pdf_bytes(ESSAY)}),
        "bytes": zipped("bytes.zip", {"essay.docx": b"DOCX", "essay.pdf": lambda: pdf_bytes(ESSAY)}),
        "text": zipped("text.zip", {"essay.docx": b"docx", "essay.pdf": lambda: pdf_bytes("Other")}),
        "names": zipped("names.zip", {"essay.docx": b"docx"}), "broken": text("broken.zip", "not a zip")}
CHAPTERS = {"index_split_000.html": "<html><body>\n<h1>Chapter 1</h1>\n<p>It began.</p></body></html>",
            "index_split_001.html": "<html><body><h1>Chapter 2</h1><p>It went on.</p></body></html>"}
EPUBS = {"gold": lambda tmp: epub_of(tmp / "gold.epub", CHAPTERS),
         "same": lambda tmp: epub_of(tmp / "same.epub", CHAPTERS, "uuid-2"),
         "edit": lambda tmp: epub_of(tmp / "edit.epub", {**CHAPTERS, "index_split_001.html":
                                     "<html><body><h1>Chapter 2</h1><p>Changed.</p></body></html>"}),
         "nested": lambda tmp: epub_of(tmp / "nested.epub", {"text/ch1.html": "<p>x</p>"}),
         "no_toc": zipped("no_toc.epub", {"content.opf": OPF}), "broken": text("broken.epub", "not a zip")}
SLIDES = {"slides/a.txt": "A", "slides/b.txt": "B"}
ARCHIVES = {"gold": zipped("gold.zip", SLIDES), "same": zipped("same.zip", SLIDES),
            "half": zipped("half.zip", {"slides/a.txt": "A", "slides/b.txt": "X"}),
            "fewer": zipped("fewer.zip", {"slides/a.txt": "A"}),
            "tgold": lambda tmp: tar_of(tmp / "gold.tar.gz", {"a.csv": "x,y\n", "b.csv": "1,2\n"}),
            "tours": lambda tmp: tar_of(tmp / "ours.tar.gz", {"a.csv": "x,y\n", "b.csv": "1,2\n"}),
            "broken": text("broken.zip", "not an archive")}
STATIONS = {"expected": {"fromStation": ["BOM"], "toStation": ["STO", "ARN"], "q": "coffee"},
            "expect_in_result": True}

TEXT_FILES = [
    with_files("check_json", "paths", MANIFEST, ["m", MANIFEST_RULES]),
    with_files("check_json", "deeper", MANIFEST, ["m", {"expect": [{"key": ["name", "deeper"], "method": "eq",
                                                                    "ref": 1}]}]),
    with_files("check_json", "absent", MANIFEST, ["m", {"expect": [{"key": ["version"], "method": "eq",
                                                                    "ref": "1"}]}]),
    with_files("check_json", "unexpect-hit", MANIFEST,
               ["m", {**MANIFEST_RULES, "unexpect": [{"key": ["name"], "method": "re", "ref": "hap"}]}]),
    with_files("check_json", "unexpect-miss", MANIFEST,
               ["m", {**MANIFEST_RULES, "unexpect": [{"key": ["gone"], "method": "eq", "ref": "x"}]}]),
    with_files("check_json", "yaml", MANIFEST, ["c", YAML_RULES], is_yaml=True),
    with_files("check_json", "yaml-as-json", MANIFEST, ["c", YAML_RULES]),
    with_files("check_json", "none", MANIFEST, [None, YAML_RULES]),
    with_files("diff_text_file", "same", TEX, ["ours", "ours"]),
    with_files("diff_text_file", "one-line", TEX, ["ours", "theirs"]),
    with_files("diff_text_file", "none", TEX, [None, "theirs"]),
    with_files("file_contains", "all", TEX, ["report", {"expected": ["CPU", "%idle"]}]),
    with_files("file_contains", "missing", TEX, ["report", {"expected": ["CPU", "%steal"]}]),
    with_files("check_line_number", "two", TEX, ["report", {"expected": "2"}]),
    with_files("check_line_number", "three", TEX, ["report", {"expected": "3"}]),
    values("is_in_list", "in", ["/a", "/home/user/Desktop/hello"], {"expected": "/home/user/Desktop/hello"}),
    values("is_in_list", "out", ["/a"], {"expected": "/b"}),
    values("match_in_list", "in", "Bing", {"expected": ["Microsoft Bing", "Bing"]}),
    values("match_in_list", "out", "Google", {"expected": ["Microsoft Bing", "Bing"]}),
    values("fuzzy_match", "close", "hello wrld", {"expected": "hello world"}),
    values("fuzzy_match", "equal", "Total: 42", {"expected": "Total: 42"}),
    with_files("compare_archive", "folder", ARCHIVES, ["same", "gold"], file_path="slides"),
    with_files("compare_archive", "half", ARCHIVES, ["half", "gold"], file_path="slides", file_type="text"),
    with_files("compare_archive", "fewer", ARCHIVES, ["fewer", "gold"], file_path="slides"),
    with_files("compare_archive", "tar-csv", ARCHIVES, ["tours", "tgold"], file_type="csv"),
    with_files("compare_archive", "broken", ARCHIVES, ["broken", "gold"]),
    with_files("compare_archive", "none", ARCHIVES, [None, "gold"]),
    values("check_direct_json_object", "in-result", {"fromStation": "BOM", "toStation": ["ARN"],
                                                     "q": "drip coffee maker"}, STATIONS),
    values("check_direct_json_object", "in-result-other", {"fromStation": "BOM", "toStation": "OSL",
                                                           "q": "drip coffee"}, STATIONS),
    values("check_direct_json_object", "in-result-missing", {"fromStation": "BOM", "toStation": "STO"},
           STATIONS),
    values("check_direct_json_object", "exact-text", {"q": "drip coffee maker"},
           {"expected": {"q": "coffee"}}),
    values("check_direct_json_object", "python-quotes", "{'q': 'coffee'}", {"expected": {"q": "coffee"}}),
    values("check_direct_json_object", "list", "[1]", {"expected": {"q": "coffee"}}),
    with_files("check_csv", "removed", ACCOUNTS, ["accounts", REMOVED]),
    with_files("check_csv", "expect", ACCOUNTS, ["accounts", {"expect": [{"user": "someone@gmail.com"}],
                                                             "unexpect": [{"user": "nobody"}]}]),
    with_files("check_csv", "expect-miss", ACCOUNTS, ["accounts", {"expect": [{"user": "someone@gmail.com",
                                                                               "url": "imap://x"}]}]),
    with_files("check_csv", "empty", ACCOUNTS, ["empty", REMOVED]),
    with_files("check_csv", "none", ACCOUNTS, [None, REMOVED]),
    values("check_moved_jpgs", "same", JPGS, {"expected": ["a.jpg", "b.jpg"]}),
    values("check_moved_jpgs", "duplicates", {**JPGS, "children": JPGS["children"] * 2},
           {"expected": ["a.jpg", "b.jpg"]}),
    values("check_moved_jpgs", "other", {**JPGS, "children": [{"name": "a.jpg"}, {"name": "c.jpg"}]},
           {"expected": ["a.jpg", "b.jpg"]}),
    values("check_moved_jpgs", "file", {"name": "x.jpg", "type": "file"}, {"expected": ["a.jpg", "b.jpg"]}),
    values("check_moved_jpgs", "none", None, {"expected": ["a.jpg", "b.jpg"]}),
    *[with_files("compare_python_pure_text", name, PYTHON, [name, "gold"]) for name in
      ("ours", "md", "indent", "late", "latin")],
    with_files("compare_python_pure_text", "none", PYTHON, [None, "gold"]),
    *[with_files("compare_result_files", name, RESULTS, [name, "gold"]) for name in "abcd"],
    *[with_files("compare_result_files", name, RESULTS, [name, "word"]) for name in "ef"],
    with_files("compare_result_files", "none", RESULTS, [None, "gold"]),
    *[with_files("compare_zip_files", name, ZIPS, [name, "gold"]) for name in ("same", "bytes", "text",
                                                                               "names",
                                                                               "broken")],
    with_files("compare_zip_files", "none", ZIPS, [None, "gold"]),
    *[with_files("compare_epub", name, EPUBS, [name, "gold"]) for name in ("same", "edit", "nested", "no_toc",
                                                                           "broken")],
    with_files("compare_epub", "none", EPUBS, [None, "gold"]),
]

CASES = GENERAL + TEXT_FILES
