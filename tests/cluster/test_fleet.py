"""The fleet with a real Ray against two daemons on loopback (two "Macs", 4 envs each): ARPO's lock-step
batch, independent episodes, the ARPO worker surface, a Mac SIGKILLed mid-batch and restarted, the same
through our tunnel and a real sshd, and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from cluster import EnvFleet, RetryBudget, Timeouts, run_independent, run_lockstep
from tests.support import ROOT
from tests.tunnel.harness import SSHD, SshServer, Tunnel, wait_http

from .conftest import address_of

CLICKS = 2
STEPS = CLICKS + 1
FAST_FAIL = RetryBudget(attempts=4, seconds=4.0, backoff=(0.2, 0.5, 1.0))


def task(n: int) -> dict:
    return {"id": f"fleet-{n}", "snapshot": "init_state",
            "instruction": f"Episode fleet-{n}: click, then finish.", "config": [],
            "evaluator": {"func": "infeasible"}}


def policy(messages: list, on_step=None) -> str:
    """Clicks then finished; each prediction names the episode's own task (read from its prompt), so a history
    that holds another episode's turns is caught."""
    task_id = messages[1]["content"][0]["text"].split("Episode ")[1].split(":")[0]
    done = sum(message["role"] == "assistant" for message in messages)
    if on_step is not None:
        on_step(done)
    if done < CLICKS:
        return f"Thought: {task_id} step {done}.\nAction: click(start_box='({100 + 50 * done},300)')"
    return f"Thought: {task_id} is done.\nAction: finished(content='{task_id}')"


def assert_complete(record) -> None:
    assert not record.masked, record.env_error
    assert record.steps == STEPS and record.score == 0.0 and record.format_reward == 0.0
    roles = [message["role"] for message in record.messages]
    assert roles == ["system", "user", "user"] + ["assistant", "user"] * CLICKS + ["assistant"]
    texts = [message["content"][0]["text"] for message in record.messages if message["role"] == "assistant"]
    assert all(text.startswith(f"Thought: {record.task_id} ") for text in texts), texts
    assert all(message["content"][0]["b64"] for message in record.messages[2::2])


@pytest.fixture(scope="module")
def ray_envs(ray_session):
    from cluster.ray_rollout import RayEnvs
    envs = RayEnvs(Timeouts(connect=3.0), FAST_FAIL)
    yield envs
    envs.close()


def fleet_of(*addresses) -> EnvFleet:
    return EnvFleet(list(addresses), recheck_seconds=0.5)


def test_lockstep_batch_over_eight_slots_of_two_macs(macs, ray_envs):
    addresses = [address_of(mac) for mac in macs]
    fleet = fleet_of(*addresses)
    batches = []
    records = run_lockstep(fleet, ray_envs, [task(n) for n in range(8)], None, max_steps=STEPS, lease_wait=5,
                           batch_policy=lambda batch: batches.append(len(batch))
                           or [policy(m) for m in batch])
    assert batches == [8] * STEPS                        # one batched generation per round, all envs in it
    for record in records:
        assert_complete(record)
    assert len({record.slot for record in records}) == 8
    for record in records:                           # each slot's daemon holds exactly the history we rebuilt
        mac = macs[addresses.index(record.slot.address)]
        daemon_history = mac.post("/env/history_messages", {"env_idx": record.slot.env_idx})[1]
        assert json.dumps(daemon_history["history_messages"]) == json.dumps(record.messages)
    assert not fleet.leased


def test_independent_episodes_take_the_next_free_env(macs, ray_envs):
    fleet = fleet_of(*(address_of(mac) for mac in macs))
    records = run_independent(fleet, ray_envs, [task(n) for n in range(12)], policy, max_steps=STEPS,
                              lease_wait=30)
    for record in records:
        assert_complete(record)
    assert {record.daemon for record in records} == {str(address_of(mac)) for mac in macs}
    assert [record.task_id for record in records] == [f"fleet-{n}" for n in range(12)]


def test_arpo_worker_surface_returns_the_workers_own_index(macs, ray_session):
    from cluster.ray_rollout import create_arpo_workers
    ray = ray_session
    workers = create_arpo_workers([address_of(mac) for mac in macs], 3, max_steps=STEPS, lease_wait=10)
    assert ray.get([w.is_init.remote() for w in workers]) == [False] * 3
    answers = ray.get([w.reset.remote(task(n)) for n, w in enumerate(workers)])
    assert [a["env_idx"] for a in answers] == [0, 1, 2] and not any(a["is_done"] for a in answers)
    scores = {}
    for _ in range(STEPS):                               # ARPO's loop: is_done on all, step the running ones
        running = [i for i, done in enumerate(ray.get([w.is_done.remote() for w in workers])) if not done]
        histories = ray.get([workers[i].get_history_messages.remote() for i in running])
        answers = ray.get([workers[i].step.remote(policy(h)) for i, h in zip(running, histories)])
        assert [a["env_idx"] for a in answers] == running
        for a in answers:
            if a["is_done"]:
                scores[a["env_idx"]] = ray.get(workers[a["env_idx"]].evaluate.remote())
    assert scores == {0: 0.0, 1: 0.0, 2: 0.0}
    assert ray.get([w.env_error.remote() for w in workers]) == [None] * 3
    histories = ray.get([w.get_history_messages.remote() for w in workers])
    assert [len(h) for h in histories] == [2 * CLICKS + 4] * 3
    assert all(ray.get([w.is_init.remote() for w in workers]))
    for worker in workers:
        ray.kill(worker)


def kill_once_at_round(mac, round_no: int):
    lock, killed = threading.Lock(), threading.Event()

    def on_step(done: int) -> None:
        with lock:
            if done == round_no and not killed.is_set():
                mac.proc.kill()                           # SIGKILL: no drain, no goodbye
                mac.proc.wait(timeout=10)
                killed.set()
    return (lambda messages: policy(messages, on_step)), killed


def kill_restart_and_reuse(macs, ray_envs, addresses):
    """Mac 1 is SIGKILLed in round 2 of a batch: its episodes come back masked, mac 0's complete, the run
    ends; restarted on the same port and run dir, its envs are leased again."""
    fleet = fleet_of(*addresses)
    killing_policy, killed = kill_once_at_round(macs[1], 1)
    records = run_lockstep(fleet, ray_envs, [task(n) for n in range(8)], killing_policy, max_steps=STEPS,
                           lease_wait=5)
    assert killed.is_set()
    by_mac = {address: [r for r in records if r.slot.address == address] for address in addresses}
    assert len(by_mac[addresses[0]]) == len(by_mac[addresses[1]]) == 4
    for record in by_mac[addresses[0]]:
        assert_complete(record)
    for record in by_mac[addresses[1]]:
        assert record.masked and record.env_error["code"] == "daemon_unreachable", record.env_error
        assert str(addresses[1]) in record.env_error["message"]
    assert not fleet.free_slots() or all(s.address == addresses[0] for s in fleet.free_slots())

    macs[1].start()
    records = run_independent(fleet, ray_envs, [task(n) for n in range(8, 24)], policy, max_steps=STEPS,
                              lease_wait=60)
    for record in records:
        assert_complete(record)
    assert any(record.slot.address == addresses[1] for record in records)


def test_a_mac_killed_mid_batch_is_masked_and_used_again_after_restart(macs, ray_envs):
    kill_restart_and_reuse(macs, ray_envs, [address_of(mac) for mac in macs])


@pytest.mark.skipif(SSHD is None, reason="no OpenSSH server (sshd); scripts/test.sh installs openssh-server")
def test_the_same_through_our_tunnel_and_a_real_sshd(macs, ray_envs, tmp_path):
    sshd = SshServer(tmp_path).start()
    tunnel = Tunnel(tmp_path, sshd, macs[1].port).start()
    try:
        wait_http(tunnel.remote_port, 30)
        tunneled = address_of(macs[1], f"http://127.0.0.1:{tunnel.remote_port}")
        kill_restart_and_reuse(macs, ray_envs, [address_of(macs[0]), tunneled])
        assert tunnel.status()["state"] == "connected"
    finally:
        tunnel.stop()
        sshd.stop()


def test_cli_smoke_and_status(macs, tmp_path):
    first, second = (address_of(mac) for mac in macs)
    token_file = tmp_path / "token"
    token_file.write_text(second.token)
    daemons = [f"{first.base_url}/t/{first.token}", second.base_url]
    run = subprocess.run([sys.executable, "-m", "cluster", "smoke", *daemons, "--token-file", str(token_file),
                          "--episodes", "10", "--steps", "2", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert {"episodes", "ok", "masked", "failed", "per_daemon", "episodes_per_min", "step_p50_ms",
            "step_p95_ms", "env_utilization"} <= set(summary)
    assert (summary["episodes"], summary["ok"], summary["masked"], summary["failed"]) == (10, 10, 0, 0)
    assert set(summary["per_daemon"]) == {first.base_url, second.base_url}
    assert sum(counts["ok"] for counts in summary["per_daemon"].values()) == 10
    status = subprocess.run([sys.executable, "-m", "cluster", "status", *daemons,
                             "--token-file", str(token_file)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert status.stdout.count(" idle ") + status.stdout.count(" done ") == 8 and "tunnel:" in status.stdout
    for output in (run.stdout, run.stderr, status.stdout, status.stderr):
        assert first.token not in output and second.token not in output
