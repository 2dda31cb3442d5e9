"""compare_htmls on HTML files it writes: structure, text, attributes, LibreOffice's sdnum, the real task."""
from __future__ import annotations

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.metrics.html import compare_htmls

from .osworld_tasks import tasks_using

pytest.importorskip("bs4", reason="the docs extra is not installed")

PAGE = ('<html><body><table><tr><td sdnum="1033;0;0.00" align="right">1.50</td><td>{text}</td></tr></table>'
        '</body></html>')


def write(path, html: str) -> str:
    path.write_text(html, encoding="utf-8")
    return str(path)


def test_compare_htmls(tmp_path):
    gold = write(tmp_path / "gold.html", PAGE.format(text="Total"))
    assert compare_htmls(write(tmp_path / "same.html", PAGE.format(text="Total")), gold) == 1.0
    assert compare_htmls(write(tmp_path / "text.html", PAGE.format(text="Sum")), gold) == 0.0
    other_format = write(tmp_path / "fmt.html", PAGE.format(text="Total").replace("0.00", "0.000"))
    assert compare_htmls(other_format, gold) == 0.0
    assert compare_htmls(other_format, gold, ignore_sdnum=True) == 1.0
    moved = write(tmp_path / "attr.html", PAGE.format(text="Total").replace("right", "left"))
    assert compare_htmls(moved, gold, ignore_sdnum=True) == 0.0
    assert compare_htmls(None, gold) == 0.0 and compare_htmls(str(tmp_path / "absent.html"), gold) == 0.0


def test_the_real_task_is_runnable():
    tasks = list(tasks_using("compare_htmls"))
    assert tasks and all(missing_capabilities(task) == [] for _, task in tasks)
