"""Generic text, JSON/YAML, list and archive checks, written from OSWorld's `general.py`, `vscode.py`,
`others.py`,
`basic_os.py` and `compare_archive`.

Followed: check_json (`expect`/`unexpect` rules of {key path, method, ref}; `is_yaml`), diff_text_file (line
similarity ratio), file_contains, check_line_number (lines holding an HH:MM:SS time), is_in_list,
match_in_list, fuzzy_match (rapidfuzz's ratio against the expected text), compare_archive (unpack both
archives, same member names, then the member metric for `file_type`, averaged),
check_csv (records of a CSV file with a header against `expect`/`unexpect` patterns), check_moved_jpgs (a
directory tree's entries are the expected names), compare_python_pure_text (Python sources equal once blank
lines, trailing blanks, tabs and a leading shebang/coding header are set aside: upstream's newer version),
compare_result_files (equal text, or a number within 1e-4, or the expected number inside the result),
compare_zip_files (same member names, equal bytes, PDF members by text similarity: see pdf.py) and
compare_epub (OSWorld's epub flattening: the toc.ncx lines without navPoint, the content.opf lines without
dc:identifier, every top-level .html member re-serialised by lxml; files paired in name order and scored by
diff_text_file's ratio, averaged). Refused: rule methods other than `re[.FLAG...]`, eq/ne/lt/le/gt/ge and
`approx:T` (they raise ValueError), and compare_archive member types whose metric this install cannot score
(see `archive_gaps`). Where OSWorld's code would raise on a file the app did not write properly (undecodable
text, an epub without toc.ncx or with .html members in folders, which its flattening cannot write), the score
is 0.0.
"""
from __future__ import annotations

import csv
import difflib
import json
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import yaml

from .. import registry
from ..formats.text import read_text, readable_text
from ..host_policy import MAX_ZIP_BYTES, MAX_ZIP_MEMBERS, PolicyError, check_unpacked_size, check_zip
from ..registry import Need, metric
from .matching import RAPIDFUZZ, value_matches
from .pdf import PYPDF, similar_pdf_texts

TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)")
PYTHON_HEADER = ("#!", "# -*- coding:", "# coding:", "# coding=")     # skipped among a source's first 3 lines
# compare_archive's file_type -> the metric OSWorld compares each pair of member files with.
ARCHIVE_MEMBER_METRICS = {"text": "compare_text_file", "pdf": "compare_pdfs", "docx": "compare_docx_files",
                          "ppt": "compare_pptx_files", "image": "compare_images", "csv": "compare_csv",
                          "table": "compare_table", "audio": "compare_audios", "video": "compare_videos"}


def _lookup(data, keys: list):
    for key in keys:
        data = data[key]
    return data


@metric(options={"is_yaml"}, rule_keys={"expect", "unexpect"})
def check_json(result: str | None, rules: dict, is_yaml: bool = False, **options) -> float:
    """Each `expect` rule holds at its key path (a missing path scores 0); no `unexpect` rule holds (missing:
    None)."""
    if result is None or not Path(result).is_file():
        return 0.0
    if is_yaml:
        load, errors = yaml.safe_load, (ValueError, yaml.YAMLError)
    else:
        load, errors = json.loads, ValueError
    try:
        data = load(read_text(result))
    except errors:
        return 0.0
    if data is None:
        return 0.0
    try:
        for rule in rules.get("expect", []):
            try:
                value = _lookup(data, rule["key"])
            except (KeyError, IndexError, TypeError):
                return 0.0
            if not value_matches(value, rule):
                return 0.0
        for rule in rules.get("unexpect", []):
            try:
                value = _lookup(data, rule["key"])
            except (KeyError, IndexError, TypeError):
                value = None
            if value_matches(value, rule):
                return 0.0
    except (TypeError, re.error):  # OSWorld scores a rule that cannot be applied to the value as a failure
        return 0.0
    return 1.0


@metric()
def diff_text_file(result: str | None, expected: str | None, **options) -> float:
    """How alike the two files' lines are (difflib's ratio), not just whether they are equal."""
    ours, theirs = readable_text(result), readable_text(expected)
    if ours is None or theirs is None:
        return 0.0
    return difflib.SequenceMatcher(a=ours.splitlines(), b=theirs.splitlines()).ratio()


@metric(rule_keys={"expected"})
def file_contains(result: str | None, rules: dict, **options) -> float:
    text = readable_text(result)
    return float(text is not None and all(item in text for item in rules["expected"]))


@metric(rule_keys={"expected"})
def check_line_number(result: str | None, rules: dict, **options) -> float:
    """The number of lines holding a time of day (HH:MM:SS) equals `expected`."""
    if result is None or not Path(result).is_file():
        return 0.0
    try:
        count = sum(1 for line in read_text(result).splitlines() if TIME_OF_DAY.search(line))
        return float(count == int(rules["expected"]))
    except (OSError, ValueError):
        return 0.0


@metric(rule_keys={"expected"})
def is_in_list(result, rules: dict, **options) -> float:
    """The expected item is in the result (a list, or a text)."""
    try:
        return float(rules["expected"] in result)
    except TypeError:
        return 0.0


@metric(needs=(RAPIDFUZZ,), rule_keys={"expected"})
def fuzzy_match(result: str | None, rules: dict, **options) -> float:
    """rapidfuzz's similarity ratio of the result and the expected text, in [0, 1] (OSWorld's general.py)."""
    if result is None:
        return 0.0
    from rapidfuzz import fuzz  # optional: the docs extra (RAPIDFUZZ)
    return fuzz.ratio(result, rules["expected"]) / 100.0


@metric(rule_keys={"expected"})
def match_in_list(result, rules: dict, **options) -> float:
    """The result is one of the expected values."""
    return float(result in rules["expected"])


def archive_member(options) -> tuple[str | None, dict]:
    """(metric comparing each member, the options passed on to it) for compare_archive's options."""
    options = dict(options or {})
    options.pop("file_path", None)
    return ARCHIVE_MEMBER_METRICS.get(options.pop("file_type", "text")), options


def archive_gaps(options: dict) -> list[str]:
    """What compare_archive lacks for these options: the gaps of its member metric, with the options passed
    on."""
    name, member_options = archive_member(options)
    if name is None:
        return [f"metric 'compare_archive' file_type {options.get('file_type')!r} (not implemented)"]
    return registry.gaps("metric", name, member_options)


def _unpack(archive: str, folder: Path) -> None:
    """Unpack an archive that came from the VM without letting a member land outside the folder, within the
    host policy's member count and size (PolicyError beyond them)."""
    if zipfile.is_zipfile(archive):          # shutil's zip extraction already skips absolute and '..' names
        check_zip(archive, "compare_archive's archive")
        shutil.unpack_archive(archive, folder, format="zip")
    else:                                    # tar: the data filter refuses links and paths leaving the folder
        with tarfile.open(archive) as tar:
            members = _bounded_members(tar)
            tar.extractall(folder, members=members, filter="data")


def _member_folder(folder: str, file_path: str) -> Path:
    """`file_path` in an unpacked archive's folder, PolicyError when it leads out of it (`..`, an absolute
    path, a symlink)."""
    path = Path(folder) / file_path
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder)):
        raise PolicyError("compare_archive's file_path leads out of the unpacked archive")
    return path


def _bounded_members(tar: tarfile.TarFile) -> list:
    members, total = [], 0
    for member in tar:                       # reads headers only, stopping as soon as a bound is passed
        members.append(member)
        total += member.size
        if len(members) > MAX_ZIP_MEMBERS or total > MAX_ZIP_BYTES:
            raise PolicyError(f"compare_archive's archive holds more than {MAX_ZIP_MEMBERS} members or "
                              f"{MAX_ZIP_BYTES} bytes")
    return members


# Its other options go to the member metric, whose declaration checks them (archive_gaps).
@metric(options=registry.ANY_OPTIONS, check=archive_gaps)
def compare_archive(result: str | None, expected: str | None, file_path: str = "", **options) -> float:
    """Both archives hold the same file names under `file_path`; the score is the member metric's average."""
    if not result or not expected:
        return 0.0
    name, member_options = archive_member(options)
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        try:
            _unpack(result, Path(ours))
            _unpack(expected, Path(theirs))
            our_folder, their_folder = _member_folder(ours, file_path), _member_folder(theirs, file_path)
            names = sorted(p.name for p in our_folder.iterdir())
            gold = sorted(p.name for p in their_folder.iterdir())
        except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError, EOFError):
            return 0.0
        if names != gold or not names:
            return 0.0
        for member in names:                      # each member is sized up before its metric opens it
            check_unpacked_size(our_folder / member, "compare_archive's member")
            check_unpacked_size(their_folder / member, "compare_archive's member")
        member_metric = registry.METRICS[name]
        scores = [member_metric(str(our_folder / n), str(their_folder / n), **member_options) for n in names]
    return sum(scores) / len(scores)


def _strict_text(path: str) -> str | None:
    """The file's UTF-8 text, None when it cannot be read as such (OSWorld's read would raise)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@metric(rule_keys={"expect", "unexpect"})
def check_csv(result: str | None, rules: dict, **options) -> float:
    """Each `expect` pattern matches some record, no `unexpect` pattern matches any; a pattern ({column:
    text}) matches a record holding every one of its pairs."""
    if result is None:
        return 0.0
    try:
        with open(result, encoding="utf-8") as file:       # universal newlines, as OSWorld opens it
            records = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError, csv.Error):
        return 0.0
    def matched(pattern: dict) -> bool:
        return any(all(key in record and record[key] == value for key, value in pattern.items())
                   for record in records)
    return float(all(matched(p) for p in rules.get("expect", [])) and
                 not any(matched(p) for p in rules.get("unexpect", [])))


@metric(rule_keys={"expected"})
def check_moved_jpgs(result, rules: dict, **options) -> float:
    """The directory tree's entries (its children's names, not deeper) are exactly the expected names."""
    if not isinstance(result, dict) or not isinstance(result.get("children"), list):
        return 0.0
    names = [child.get("name") for child in result["children"]]
    return float(len(names) == len(rules["expected"]) and set(names) == set(rules["expected"]))


def _python_lines(source: str) -> list[str]:
    lines = source.splitlines()
    start = 0
    while start < min(3, len(lines)) and lines[start].strip().startswith(PYTHON_HEADER):
        start += 1
    return [line.expandtabs(4).rstrip() for line in lines[start:] if line.strip()]


@metric()
def compare_python_pure_text(result: str | None, expected: str | None, **options) -> float:
    if not result or not expected:
        return 0.0
    ours, theirs = _strict_text(result), _strict_text(expected)
    return float(ours is not None and theirs is not None and _python_lines(ours) == _python_lines(theirs))


@metric()
def compare_result_files(result: str | None, expected: str | None, **options) -> float:
    """Equal stripped texts; when the expected text is a number, also the result holding it or equal within
    1e-4."""
    if not result or not expected:
        return 0.0
    ours, theirs = _strict_text(result), _strict_text(expected)
    if ours is None or theirs is None:
        return 0.0
    ours, theirs = ours.strip(), theirs.strip()
    try:
        target = float(theirs)
    except ValueError:
        return float(ours == theirs)
    if theirs in ours:                                   # a sentence around the number is accepted
        return 1.0
    try:
        return float(abs(float(ours) - target) < 1e-4)
    except ValueError:
        return 0.0


@metric(needs=(PYPDF,))
def compare_zip_files(result: str | None, expected: str | None, **options) -> float:
    """Both archives hold the same names; each PDF member's text is similar, every other member equal byte for
    byte."""
    if not result or not expected:
        return 0.0
    try:
        with zipfile.ZipFile(result) as ours, zipfile.ZipFile(expected) as gold:
            names = set(ours.namelist())
            if names != set(gold.namelist()):
                return 0.0
            for name in names:
                mine, theirs = ours.read(name), gold.read(name)
                if not (similar_pdf_texts(mine, theirs) if name.lower().endswith(".pdf") else mine == theirs):
                    return 0.0
    # RuntimeError: encrypted member
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError):
        return 0.0
    return 1.0


def epub_files(path: str) -> list[list[str]] | None:
    """The lines of each file OSWorld's epub flattening writes, in its (name) order: toc.ncx and content.opf
    when present, less their ids, and each HTML file; [] for a file that is not a zip archive (OSWorld's
    answer), None where its flattening would raise."""
    import lxml.etree  # optional: docs extra
    import lxml.html  # optional: docs extra
    try:
        with zipfile.ZipFile(path) as book:
            names = book.namelist()
            files = {name: [line for line in book.read(name).decode().splitlines() if dropped not in line]
                     for name, dropped in (("toc.ncx", "navPoint"), ("content.opf", "dc:identifier"))
                     if name in names}
            for name in (n for n in book.namelist() if n.endswith(".html")):
                if "/" in name:                            # OSWorld writes it into a folder it never made
                    return None
                markup = book.read(name).decode().replace("\n", "").replace("\r", "")
                files[name] = lxml.html.tostring(lxml.html.fromstring(markup.encode()), pretty_print=True,
                                                 encoding="unicode").splitlines()
    except zipfile.BadZipFile:
        return []
    except (OSError, KeyError, UnicodeDecodeError, ValueError, lxml.etree.LxmlError):
        return None
    return [files[name] for name in sorted(files)]


@metric(needs=(Need("docs", ("lxml",)),))
def compare_epub(result: str | None, expected: str | None, **options) -> float:
    if result is None or expected is None:
        return 0.0
    ours, theirs = epub_files(result), epub_files(expected)
    if not ours or theirs is None:
        return 0.0
    ratios = [difflib.SequenceMatcher(a=mine, b=gold).ratio() for mine, gold in zip(ours, theirs)]
    return sum(ratios) / len(ours)
