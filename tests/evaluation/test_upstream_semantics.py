"""OSWorld's controller semantics the daemon follows: `until` conditions combined with or, failed setup steps
(fail or continue, always named), getters whose guest request failed."""
from __future__ import annotations

import logging

import pytest

from daemon.evaluation.context import SetupError, TaskContext
from daemon.evaluation.evaluate import evaluate_task
from daemon.evaluation.steps import run_setup
from daemon.guest.client import GuestError

from .fake_guest import FakeGuest, ran

COMMAND_LINE = {"func": "exact_match", "result": {"type": "vm_command_line", "command": ["cat", "f"]},
                "expected": {"type": "rule", "rules": {"expected": "x"}}}


def context(tmp_path, **options) -> TaskContext:
    return TaskContext(task_id="t", cache_dir=tmp_path, step_timeout=5, log=logging.getLogger("test.setup"),
                       **options)


def test_until_conditions_are_combined_with_or(tmp_path):
    guest = FakeGuest(script=[ran(1, "starting"), ran(0, "starting")])
    step = {"type": "execute",
            "parameters": {"command": ["probe"], "until": {"returncode": 0, "stdout": "ready"}}}
    run_setup([step], guest, context(tmp_path))
    assert len(guest.commands) == 2                              # returncode 0 alone ends the wait


def test_a_failed_step_fails_the_setup_or_is_logged_and_skipped_by_setting(tmp_path, caplog):
    steps = [{"type": "execute", "parameters": {"command": ["a"]}},
             {"type": "execute", "parameters": {"command": ["b"]}},
             {"type": "execute", "parameters": {"command": ["c"]}}]
    failure = GuestError("guest answered HTTP 500: no such program", 500)
    with pytest.raises(SetupError, match=r"^setup step 1 \(execute\) failed: guest answered HTTP 500"):
        run_setup(steps, FakeGuest(script=[ran(), failure, ran()]), context(tmp_path))
    guest = FakeGuest(script=[ran(), failure, ran()])
    with caplog.at_level(logging.WARNING, "test.setup"):
        run_setup(steps, guest, context(tmp_path, on_setup_failure="continue"))
    assert guest.commands == [["a"], ["b"], ["c"]]
    assert [r.getMessage() for r in caplog.records] == \
        ["setup step 1 (execute) failed: guest answered HTTP 500: no such program; carrying on "
         "(evaluation.on_setup_failure: continue)"]
    with pytest.raises(SetupError, match=r"postconfig step 0 \(execute\) has bad parameters"):
        run_setup([{"type": "execute", "parameters": {}}], guest,
                  context(tmp_path, on_setup_failure="continue"), "postconfig")


def test_a_getter_the_guest_answered_with_an_error_scores_0_but_a_silent_guest_fails(tmp_path):
    task = {"evaluator": COMMAND_LINE}
    assert evaluate_task(task, FakeGuest(script=[ran(out="x")]), context(tmp_path), None) == 1.0
    assert evaluate_task(task, FakeGuest(script=[GuestError("HTTP 500", 500)]), context(tmp_path),
                         None) == 0.0
    with pytest.raises(GuestError):
        evaluate_task(task, FakeGuest(script=[GuestError("unreachable", None)]), context(tmp_path), None)
