"""The unchanged seed client reaches the daemon through `remote_server_url: http://HOST:PORT/t/<token>` and is
refused without the token. SeedRemoteEnv reproduces its `RemoteEnvWorker` HTTP calls as
/work/shared/osworld-protocol.md §5 describes them: plain `requests.post(url, json=…, timeout=…)`, then
`raise_for_status()` and `.json()`, URLs `remote_server_url.rstrip('/') + path`; no session, no cookies."""
from __future__ import annotations

import pytest
import requests

from daemon.simulator.tasks import load_task
from tests.security.conftest import FINISH, SAVE, TYPE


class SeedRemoteEnv:
    RESET_TIMEOUT, STEP_TIMEOUT, EVALUATE_TIMEOUT = 1200, 300, 300

    def __init__(self, remote_server_url: str):
        self.remote_server_url = remote_server_url

    def _post(self, path: str, payload: dict, timeout: float):
        response = requests.post(self.remote_server_url.rstrip("/") + path, json=payload, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def reset(self, task_config: dict) -> dict:
        return self._post("/env/reset", {"task_config": task_config}, self.RESET_TIMEOUT)

    def step(self, prediction: str) -> dict:
        return self._post("/env/step", {"prediction": prediction}, self.STEP_TIMEOUT)

    def evaluate(self) -> float:
        for attempt in range(3):                  # the seed retries evaluate twice, at once
            try:
                return self._post("/env/evaluate", {}, self.EVALUATE_TIMEOUT)
            except requests.RequestException:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def test_the_unchanged_seed_client_runs_an_episode_through_the_token_prefix(daemon):
    env = SeedRemoteEnv(f"http://127.0.0.1:{daemon.port}/t/{daemon.token}/")
    answer = env.reset(load_task("type_and_save"))
    assert answer["is_done"] is False and answer["obs_messages"]
    for prediction in (TYPE, SAVE, FINISH):
        answer = env.step(prediction)
    assert answer["is_done"] is True and answer["obs_messages"] is None
    assert env.evaluate() == 1.0


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "http://127.0.0.1:{port}/t/not-the-token"])
def test_the_seed_client_without_the_token_is_refused(daemon, url):
    env = SeedRemoteEnv(url.format(port=daemon.port))
    before = daemon.health()["envs"][0]
    with pytest.raises(requests.HTTPError) as raised:
        env.reset(load_task("type_and_save"))
    assert raised.value.response.status_code == 401
    with pytest.raises(requests.HTTPError):
        env.step(TYPE)
    assert daemon.health()["envs"][0] == before
