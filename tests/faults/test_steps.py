"""A step that fails leaves the episode exactly as before it; a retried step then applies once. (A setup that
raises: tests/faults/test_evaluator_bugs.py. A non-ASCII paste that typed twice: tests/serving/
test_fidelity.py, the same fix landed there.)"""
from __future__ import annotations

from daemon.simulator import set_faults

from .helpers import history, reset, step

TWO_ACTIONS = "Action: click(start_box='(100,200)')\n\ntype(content='hello world')"


def test_a_failed_step_changes_nothing_and_its_retry_applies_once(daemon):
    _, first = reset(daemon, 0)
    before = history(daemon, 0)
    set_faults(daemon.home, vm=0, execute_500=1)          # the first of its two actions fails in the guest
    status, answer = step(daemon, 0, TWO_ACTIONS, episode_id=first["episode_id"], step_idx=0)
    assert (status, answer["error"]["code"]) == (502, "guest_failed")
    assert history(daemon, 0) == before                  # no assistant message left behind
    assert daemon.env_health(0)["steps"] == 0
    status, answer = step(daemon, 0, TWO_ACTIONS, episode_id=first["episode_id"], step_idx=0)
    assert status == 200 and answer["step_idx"] == 1
    roles = [message["role"] for message in history(daemon, 0)]
    assert roles == ["system", "user", "user", "assistant", "user"]
    assert daemon.env_health(0)["steps"] == 2
    again = step(daemon, 0, TWO_ACTIONS, episode_id=first["episode_id"], step_idx=0)
    assert again == (200, answer)                       # the stored answer: nothing acted twice

