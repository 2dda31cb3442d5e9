"""check_mp3_meta against MP3 files tagged here with mutagen, and the real task's verdict."""
from __future__ import annotations

import importlib.util

import pytest

from daemon.evaluation.admission import missing_capabilities
from daemon.evaluation.metrics.audio import check_mp3_meta
from daemon.evaluation.registry import gaps

from .builders import mp3
from .osworld_tasks import tasks_using

RULES = {"title": {"method": "eq", "ref": "Missing You"}, "artist": {"method": "eq", "ref": "Cheng Xiang"}}
def test_tags_against_rules(tmp_path):
    pytest.importorskip("mutagen")
    assert check_mp3_meta(mp3(tmp_path / "a.mp3", title="Missing You", artist="Cheng Xiang"), RULES) == 1.0
    assert check_mp3_meta(mp3(tmp_path / "b.mp3", title="Missing You", artist="Han Baoyi"), RULES) == 0.0
    assert check_mp3_meta(mp3(tmp_path / "c.mp3", title="Missing You"), RULES) == 0.0  # artist reads ""
    both = mp3(tmp_path / "d.mp3", title="Missing You", artist=["Cheng Xiang", "Zhou Xuan"])
    assert check_mp3_meta(both, {"artist": {"method": "eq", "ref": "Cheng Xiang,Zhou Xuan"}}) == 1.0
    assert check_mp3_meta(both, {"artist": {"method": "re", "ref": "^Cheng"}}) == 1.0
    assert check_mp3_meta(mp3(tmp_path / "blank.mp3"), RULES) == 0.0                             # no ID3 tag
    assert check_mp3_meta(str(tmp_path / "missing.mp3"), RULES) == 0.0
    assert check_mp3_meta(None, RULES) == 0.0


def test_real_task_is_runnable_exactly_when_mutagen_is_installed():
    installed = importlib.util.find_spec("mutagen") is not None
    tasks = list(tasks_using("check_mp3_meta"))
    assert len(tasks) == 1
    assert missing_capabilities(tasks[0][1]) == ([] if installed else gaps("metric", "check_mp3_meta", None))
    assert gaps("metric", "check_mp3_meta", {"strict": True})[-1] == (
        "check_mp3_meta option 'strict' (not implemented)")
