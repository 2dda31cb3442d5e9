"""One time budget per guest call: a frozen guest, a slow screenshot or a slow setup step ends within its
bound, with a message that says what happened; a read timeout is never retried."""
from __future__ import annotations

from daemon.simulator import freeze_vm, set_latency

from .helpers import reset, serving, step


def test_a_frozen_guest_ends_the_step_within_seconds_and_the_env_recovers(daemon):
    assert reset(daemon, 0)[0] == 200
    freeze_vm(daemon.home, 0)                      # SIGSTOP: connections are accepted, nothing answers
    status, answer = step(daemon, 0)               # the old main held it for 150 s (the client gave up at 60)
    assert (status, answer["error"]["code"]) == (502, "guest_lost"), answer
    assert "stopped answering" in answer["error"]["message"]
    assert serving(daemon, 0)["warm"] is True       # recovered: the frozen VM was stopped hard and reverted
    assert reset(daemon, 0)[0] == 200 and step(daemon, 0)[0] == 200


def test_a_slow_screenshot_times_out_once_in_seconds_and_says_so(daemon):
    assert reset(daemon, 1)[0] == 200
    set_latency(daemon.home, vm=1, screenshot=3.0)  # above vmware.screenshot_timeout (1 s here)
    status, answer = step(daemon, 1)
    assert (status, answer["error"]["code"]) == (502, "guest_failed"), answer
    message = answer["error"]["message"]
    assert "/screenshot did not answer within 1 s" in message and "attempt" not in message
    assert daemon.env_health(1)["phase"] == "running"   # the guest answers /platform: the episode goes on


def test_a_setup_step_outlasting_step_timeout_says_it_did_not_answer(daemon):
    set_latency(daemon.home, vm=2, setup=3.0)      # /setup/open_file answers after 3 s; step_timeout is 2 s
    status, answer = reset(daemon, 2)
    assert (status, answer["error"]["code"]) == (502, "setup_failed"), answer
    message = answer["error"]["message"]
    assert "/setup/open_file did not answer within 2 s" in message
    assert "unreachable" not in message and "check that the VM runs" not in message
