"""A warm VM is probed before a reset hands it out; a guest that dies mid-episode is seen in /health and its
VM recovered; an evaluate is attachable and a reset waits for it instead of 409."""
from __future__ import annotations

import concurrent.futures
import json

from daemon.simulator import crash_vm, set_latency

from .helpers import TYPE, reset, serving, step


def warm_after_an_episode(daemon, env: int) -> None:
    assert reset(daemon, env)[0] == 200
    assert daemon.post("/env/evaluate", {"env_idx": env})[0] == 200
    daemon.wait_for(lambda: daemon.env_health(env)["warm"], 30, f"env {env} warm (reset-ahead)")


def test_a_warm_vm_whose_guest_died_is_brought_up_again_by_the_next_reset(daemon):
    warm_after_an_episode(daemon, 0)
    crash_vm(daemon.home, 0)                      # the guest dies; VMware still lists the VM as running
    status, answer = reset(daemon, 0)             # the old main answered 502 here (the reset after it worked)
    assert status == 200, answer
    assert step(daemon, 0)[0] == 200
    assert "warm VM's guest did not answer" in daemon.log_path.read_text()


def test_a_guest_lost_mid_episode_shows_in_health_and_is_recovered(daemon):
    _, first = reset(daemon, 1)
    crash_vm(daemon.home, 1)
    request = json.dumps({"env_idx": 1, "prediction": TYPE}).encode()
    status, headers, body = daemon.request("POST", "/env/step", request, {"Content-Type": "application/json"},
                                           timeout=60)
    answer = json.loads(body)
    assert (status, answer["error"]["code"]) == (502, "guest_lost"), answer
    assert "Retry-After" in answer["error"]["message"] and headers["Retry-After"] == "10"   # as it says
    health = daemon.env_health(1)
    assert health["phase"] in ("guest_lost", "recovering") and health["recovery_reason"] == "guest_lost"
    assert serving(daemon, 1)["warm"] is True        # recovered without any request asking for it
    status, answer = step(daemon, 1, episode_id=first["episode_id"], step_idx=0)
    assert (status, answer["error"]["code"]) == (502, "episode_lost")
    assert daemon.post("/env/history_messages", {"env_idx": 1})[0] == 200
    assert reset(daemon, 1)[0] == 200 and step(daemon, 1)[0] == 200


def test_a_repeated_evaluate_attaches_and_a_reset_waits_for_it(daemon):
    assert reset(daemon, 2)[0] == 200
    assert step(daemon, 2)[0] == 200 and step(daemon, 2, "Action: hotkey(key='ctrl s')")[0] == 200
    set_latency(daemon.home, vm=2, execute=1.5)      # the evaluate's getter runs /execute
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = pool.submit(daemon.post, "/env/evaluate", {"env_idx": 2})
        daemon.wait_for(lambda: daemon.env_health(2)["busy"] == "evaluate", 10, "evaluate in flight")
        again = pool.submit(daemon.post, "/env/evaluate", {"env_idx": 2})
        next_reset = pool.submit(reset, daemon, 2)
        assert first.result() == (200, 1.0)
        assert again.result() == (200, 1.0)         # the old main: 409 env_busy, and the score was lost to it
        status, answer = next_reset.result()
    assert status == 200 and answer["episode_id"], answer    # the old main: 409 env_busy
