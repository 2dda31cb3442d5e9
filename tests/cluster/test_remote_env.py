"""RemoteEnv: proof of the daemon before the token, bounded idempotent retries, env_error, delta history
rebuilt byte-identical to the seed protocol's full history."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cluster import DaemonAddress, RemoteEnv, RetryBudget, Timeouts
from cluster.address import AddressError, parse_daemons
from daemon.simulator.tasks import load_task
from tests.support import ROOT, DaemonProcess, free_port

from .conftest import address_of
from .fakes import FakeDaemon

TOKEN = "the-real-token-0123456789abcdefghijklmnop"
TASK = load_task("type_and_save")
QUICK = RetryBudget(attempts=4, seconds=5.0, backoff=(0.05, 0.1), max_retry_after=0.5)
RESET = (200, {"env_idx": 2, "obs_messages": [{"role": "system", "content": []}], "is_done": False,
               "format_reward": 0.0, "episode_id": "ep1", "step_idx": 0}, {})
STEP = (200, {"env_idx": 2, "obs_messages": [{"role": "assistant", "content": []}], "is_done": False,
              "format_reward": 0.0, "episode_id": "ep1", "step_idx": 1}, {})
PREDICTIONS = ["Thought: open it.\nAction: click(start_box='(120,240)')",
               "Thought: type.\nAction: type(content='hello world')",
               "Thought: save.\nAction: hotkey(key='ctrl s')",
               "Thought: done.\nAction: finished(content='saved')"]


def test_address_keeps_the_token_out_of_every_text():
    address = DaemonAddress.parse(f"http://127.0.0.1:15001/t/{TOKEN}/")
    assert (address.base_url, address.token) == ("http://127.0.0.1:15001", TOKEN)
    assert TOKEN not in str(address) + repr(address) + address.display
    prefixed = DaemonAddress.parse(f"http://127.0.0.1:15002/osworld/t/{TOKEN}")
    assert prefixed.url("/env/step") == "http://127.0.0.1:15002/osworld/env/step"
    with pytest.raises(AddressError) as refused:
        parse_daemons(["http://127.0.0.1:15003"])
    assert "--token-file" in str(refused.value)
    with pytest.raises(AddressError) as not_http:
        DaemonAddress.parse(f"ftp://127.0.0.1/t/{TOKEN}")
    assert TOKEN not in str(not_http.value)


@pytest.mark.parametrize("squatter_token", ["someone-elses-token-abcdefghijklmnopqrstuv", None])
def test_a_port_squatter_is_refused_and_never_sees_the_token(squatter_token):
    with FakeDaemon(squatter_token, {"/env/reset": [RESET]}) as squatter:
        env = RemoteEnv(DaemonAddress.parse(f"{squatter.url}/t/{TOKEN}"), 2, retry=QUICK)
        result = env.reset(TASK)
        assert result.masked and result.env_error["code"] == "untrusted_daemon"
        assert result.obs_messages is None and result.is_done
        assert [request["path"] for request in squatter.requests] == ["/health"]
        assert not squatter.saw_token(TOKEN)


def test_503_is_retried_after_its_retry_after_and_the_step_keeps_its_identity():
    busy = (409, {"error": {"code": "env_busy", "message": "env 2 is busy with step"}}, {})
    recovering = (503, {"error": {"code": "env_recovering", "message": "recovering"}}, {"Retry-After": "0.1"})
    with FakeDaemon(TOKEN, {"/env/reset": [RESET], "/env/step": ["drop", recovering, busy, STEP]}) as daemon:
        env = RemoteEnv(DaemonAddress(daemon.url, TOKEN), 2, retry=QUICK)
        assert not env.reset(TASK, max_steps=5).masked
        result = env.step(PREDICTIONS[0])
        assert not result.masked and result.step_idx == 1
        steps = daemon.bodies("/env/step")
        assert len(steps) == 4
        assert all(body == {"env_idx": 2, "prediction": PREDICTIONS[0], "episode_id": "ep1", "step_idx": 0}
                   for body in steps)
        assert daemon.bodies("/env/reset")[0]["history"] == "delta"
        authorized = [r for r in daemon.requests if r["path"] != "/health"]
        assert all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in authorized)


def test_an_environment_that_stays_down_is_an_env_error_within_the_budget():
    recovering = (503, {"error": {"code": "env_recovering", "message": "env 2 is being recovered"}},
                  {"Retry-After": "0.1"})
    with FakeDaemon(TOKEN, {"/env/reset": [RESET], "/env/step": [recovering]}) as daemon:
        env = RemoteEnv(DaemonAddress(daemon.url, TOKEN), 2, retry=QUICK)
        env.reset(TASK)
        result = env.step(PREDICTIONS[0])
        assert result.env_error["code"] == "env_recovering" \
            and "env 2 is being recovered" in result.env_error["message"]
        assert result.is_done and result.format_reward == 0.0       # masked, not scored -1 as the seed did
        assert len(daemon.bodies("/env/step")) == QUICK.attempts
    gone = RemoteEnv(DaemonAddress(f"http://127.0.0.1:{free_port()}", TOKEN), 0, Timeouts(connect=2), QUICK)
    assert gone.reset(TASK).env_error["code"] == "daemon_unreachable"


def test_a_failed_step_is_sent_again_unless_its_episode_is_gone():
    failed = (502, {"error": {"code": "guest_failed", "message": "the guest answered 500"}}, {})
    lost = (502, {"error": {"code": "guest_lost", "message": "the guest stopped answering"}}, {})
    with FakeDaemon(TOKEN, {"/env/reset": [RESET], "/env/step": [failed, STEP, lost]}) as daemon:
        env = RemoteEnv(DaemonAddress(daemon.url, TOKEN), 2, retry=QUICK)
        env.reset(TASK)
        assert not env.step(PREDICTIONS[0]).masked
        assert [body["step_idx"] for body in daemon.bodies("/env/step")] == [0, 0]
        assert env.step(PREDICTIONS[1]).env_error["code"] == "guest_lost"
        assert [body["step_idx"] for body in daemon.bodies("/env/step")] == [0, 0, 1]


def test_an_agent_error_is_not_an_env_error():
    malformed = (200, {"env_idx": 2, "obs_messages": None, "is_done": True, "format_reward": -1.0,
                       "episode_id": "ep1", "step_idx": 1, "final_messages": [{"role": "assistant"}]}, {})
    with FakeDaemon(TOKEN, {"/env/reset": [RESET], "/env/step": [malformed]}) as daemon:
        env = RemoteEnv(DaemonAddress(daemon.url, TOKEN), 2, retry=QUICK)
        env.reset(TASK)
        result = env.step("not an action")
        assert not result.masked and result.format_reward == -1.0 and result.is_done


@pytest.fixture(scope="module")
def mac(tmp_path_factory):
    daemon = DaemonProcess(tmp_path_factory.mktemp("mac"), envs=2).start()
    yield daemon
    daemon.stop()


def test_delta_history_is_byte_identical_to_the_seed_protocols_full_history(mac):
    """Env 0 through RemoteEnv (delta), env 1 by the seed's protocol (full history), same deterministic task
    and predictions: every obs_messages and the final history are the same bytes."""
    env = RemoteEnv(address_of(mac), 0)
    ours = [env.reset(TASK, max_steps=8).obs_messages]
    status, seed = mac.post("/env/reset", {"env_idx": 1, "task_config": TASK, "max_steps": 8})
    assert status == 200
    theirs = [seed["obs_messages"]]
    for prediction in PREDICTIONS:
        result = env.step(prediction)
        assert not result.masked, result.env_error
        ours.append(result.obs_messages)
        theirs.append(mac.post("/env/step", {"env_idx": 1, "prediction": prediction})[1]["obs_messages"])
    assert ours[-1] is None and theirs[-1] is None
    assert [json.dumps(o, ensure_ascii=False) for o in ours] == \
        [json.dumps(t, ensure_ascii=False) for t in theirs]
    seed_history = mac.post("/env/history_messages", {"env_idx": 1})[1]["history_messages"]
    assert json.dumps(env.history_messages(), ensure_ascii=False) == \
        json.dumps(seed_history, ensure_ascii=False)
    assert env.history_messages()[-1]["content"][0]["text"].endswith("finished(content='saved')")
    assert env.evaluate().score == 1.0


def test_the_package_imports_without_the_daemons_dependencies():
    """The cluster has no tornado or paramiko (nor Ray, unless it uses cluster.ray_rollout)."""
    code = ("import sys\nfor name in ('tornado', 'paramiko', 'ray', 'daemon', 'tunnel'):\n"
            "    sys.modules[name] = None\n"
            "import cluster, cluster.__main__, cluster.smoke\nprint('ok')")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "ok", run.stderr


def test_the_real_daemon_proves_its_token_and_a_wrong_token_is_never_sent(mac):
    assert RemoteEnv(address_of(mac), 0).health()["envs"][0]["env_idx"] == 0
    wrong = RemoteEnv(DaemonAddress(f"http://127.0.0.1:{mac.port}", "not-this-daemons-token-0123456789"), 0)
    result = wrong.reset(TASK)
    assert result.env_error["code"] == "untrusted_daemon"
    assert "401 POST" not in mac.log_path.read_text()     # the reset never reached the daemon with that token
