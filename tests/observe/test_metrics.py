"""GET /metrics, read back through prometheus_client's own text parser after driving real episodes."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon.simulator import clear_faults, set_faults
from daemon.simulator.tasks import load_task
from tests.support import FINISH, TYPE, DaemonProcess

CLICK = "Thought: click.\nAction: click(start_box='(100,200)')"
STEP_PARTS = {"queue", "execute", "settle", "screenshot", "encode", "total"}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("metrics"), envs=3).start()
    yield process
    process.stop()


def scrape(daemon) -> dict[tuple, float]:
    """Every sample as {(name, sorted label items): value}."""
    status, headers, body = daemon.request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def reset(daemon, env: int, **extra):
    return daemon.post("/env/reset", {"env_idx": env, "task_config": load_task("type_and_save"), **extra})


def step(daemon, env: int, prediction: str, **extra):
    return daemon.post("/env/step", {"env_idx": env, "prediction": prediction, **extra})


def test_episodes_are_counted_by_outcome_with_step_parts_and_requests(daemon):
    before = scrape(daemon)
    assert reset(daemon, 0)[0] == 200                       # env 0: scored
    for prediction in (CLICK, TYPE, FINISH):
        assert step(daemon, 0, prediction)[0] == 200
    status, _, score = daemon.request("POST", "/env/evaluate", b'{"env_idx": 0}')
    assert status == 200
    assert reset(daemon, 1)[0] == 200                       # env 1: ends on an unparsable prediction
    assert step(daemon, 1, "I am not sure what to do")[1]["is_done"] is True
    assert daemon.request("POST", "/env/evaluate", b'{"env_idx": 1}')[0] == 200
    assert reset(daemon, 2)[0] == 200                       # env 2: the guest fails under a step
    set_faults(daemon.home, vm=2, execute_500=True)
    try:
        assert step(daemon, 2, CLICK)[0] == 502
    finally:
        clear_faults(daemon.home)

    after = scrape(daemon)
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert grew("osworld_episodes_total", outcome="scored") == 1
    assert grew("osworld_episodes_total", outcome="format_error") == 1
    assert grew("osworld_episodes_total", outcome="env_error") == 0      # a 502 guest_failed changed nothing
    # env 0: three steps, each with every part it went through (the last one took no screenshot)
    assert grew("osworld_step_duration_seconds_count", env="0", part="total") == 3
    assert grew("osworld_step_duration_seconds_count", env="0", part="queue") == 3
    assert grew("osworld_step_duration_seconds_count", env="0", part="execute") == 2
    assert grew("osworld_step_duration_seconds_count", env="0", part="screenshot") == 2
    assert grew("osworld_step_duration_seconds_count", env="0", part="encode") == 2
    assert grew("osworld_step_duration_seconds_sum", env="0", part="total") > 0
    assert grew("osworld_reset_duration_seconds_count", warm="false") + \
        grew("osworld_reset_duration_seconds_count", warm="true") == 3
    assert grew("osworld_evaluate_duration_seconds_count") == 2
    assert grew("osworld_requests_total", route="/env/step", code="200") == 4
    assert grew("osworld_requests_total", route="/env/step", code="502") == 1
    assert grew("osworld_requests_total", route="/env/evaluate", code="200") == 2
    assert grew("osworld_response_bytes_total", route="/env/reset") > 3 * 500_000      # three screenshots
    assert grew("osworld_response_bytes_total", route="/env/evaluate") == 2 * len(score)


def test_an_episode_goes_on_after_a_step_the_guest_failed(daemon):
    """The first test left env 2 with a step the guest failed (502 guest_failed: nothing changed). The client
    sends it again; the episode is still recorded and ends scored, not env_error."""
    before = scrape(daemon)
    status, answer = step(daemon, 2, CLICK)
    assert status == 200, answer
    assert step(daemon, 2, FINISH)[0] == 200
    assert daemon.request("POST", "/env/evaluate", b'{"env_idx": 2}')[0] == 200
    after = scrape(daemon)
    assert value(after, "osworld_episodes_total", outcome="scored") - \
        value(before, "osworld_episodes_total", outcome="scored") == 1
    assert value(after, "osworld_episodes_total", outcome="env_error") == \
        value(before, "osworld_episodes_total", outcome="env_error")


def test_metrics_need_the_token(daemon):
    assert daemon.request("GET", "/metrics", token=None)[0] == 401
    assert daemon.request("GET", "/metrics", token="wrong-token-000000000")[0] == 401


def test_every_env_has_exactly_one_phase(daemon):
    samples = scrape(daemon)
    for env in ("0", "1", "2"):
        phases = {dict(labels)["phase"]: v for (name, labels), v in samples.items()
                  if name == "osworld_env_phase" and dict(labels)["env"] == env}
        assert {"idle", "resetting", "running", "done", "recovering", "broken"} <= set(phases)
        assert sorted(phases.values()).count(1.0) == 1, phases
    assert reset(daemon, 1)[0] == 200
    assert value(scrape(daemon), "osworld_env_phase", env="1", phase="running") == 1.0


def test_a_lost_worker_counts_a_recovery(daemon):
    before = value(scrape(daemon), "osworld_recoveries_total", env="1", cause="worker_died")
    os.kill(daemon.env_health(1)["pid"], signal.SIGKILL)
    daemon.wait_for(lambda: value(scrape(daemon), "osworld_recoveries_total", env="1", cause="worker_died")
                    == before + 1, 30, "the recovery to be counted")
    daemon.wait_for(lambda: daemon.env_health(1)["phase"] == "idle", 60, "env 1 to recover")


def test_tunnel_state_comes_from_its_status_file(daemon):
    status_file = daemon.workdir / "run" / "tunnel-status.json"
    status_file.unlink(missing_ok=True)
    samples = scrape(daemon)
    assert value(samples, "osworld_tunnel_up") == 0.0 \
        and value(samples, "osworld_tunnel_reconnects_total") == 0
    status_file.write_text(json.dumps({"state": "connected", "reconnects": 3, "updated": time.time()}))
    samples = scrape(daemon)
    assert value(samples, "osworld_tunnel_up") == 1.0 \
        and value(samples, "osworld_tunnel_reconnects_total") == 3
    status_file.write_text(json.dumps({"state": "connecting", "reconnects": 4, "updated": time.time()}))
    assert value(scrape(daemon), "osworld_tunnel_up") == 0.0
    status_file.unlink()


def test_timings_only_for_clients_that_ask(daemon):
    status, answer = reset(daemon, 0)
    assert status == 200 and "timings" not in answer
    status, answer = step(daemon, 0, CLICK)
    assert status == 200 and "timings" not in answer                 # an old client sees nothing new
    status, answer = step(daemon, 0, TYPE, timings=True)
    assert status == 200 and set(answer["timings"]) == STEP_PARTS
    assert all(seconds >= 0 for seconds in answer["timings"].values())
    assert answer["timings"]["total"] >= answer["timings"]["screenshot"]
    status, answer = reset(daemon, 0, timings=True)
    assert status == 200 and {"queue", "screenshot", "encode", "total"} <= set(answer["timings"])
    assert answer["obs_messages"][-1]["content"][0]["type"] == "image"
    status, answer = step(daemon, 0, CLICK, timings="yes")
    assert status == 400 and answer["error"]["code"] == "bad_request"


def test_metrics_use_their_own_registry():
    """A second daemon app in one process (tests, embedding) must not collide in the global registry."""
    from prometheus_client import REGISTRY

    from daemon.observe.metrics import Metrics

    class NoPool:
        def health(self):
            return []

    first, second = Metrics(NoPool(), "/nonexistent"), Metrics(NoPool(), "/nonexistent")
    first.episodes.labels("scored").inc()
    assert b'osworld_episodes_total{outcome="scored"} 1.0' in first.text()
    assert b"osworld_episodes_total{" not in second.text()
    assert REGISTRY.get_sample_value("osworld_episodes_total", {"outcome": "scored"}) is None
