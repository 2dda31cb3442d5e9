"""Every error code of SPEC §3.3, and the simulator's faults:
each ends in a clear answer and a working env."""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time

import pytest

from daemon.simulator import clear_faults, crash_vm, set_faults, set_latency
from daemon.simulator.tasks import load_task
from tests.support import DaemonProcess, pid_alive

TYPE = "Action: type(content='hello world')"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("errors"),
                            vmware={"ip_timeout": 2.0, "reset_attempts": 2,
                                    "guest_ready_timeout": 15.0}).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_faults(daemon):
    yield
    clear_faults(daemon.home)


def reset(daemon, env: int = 0, **extra):
    return daemon.post("/env/reset", {"env_idx": env, "task_config": load_task("type_and_save"), **extra})


def assert_env_works(daemon, env: int) -> None:
    daemon.wait_for(lambda: daemon.env_health(env)["phase"] not in ("recovering", "broken"), 60, "recovery")
    status, answer = reset(daemon, env)
    assert status == 200, answer
    assert daemon.post("/env/step", {"env_idx": env, "prediction": TYPE})[0] == 200


def error_code(answer) -> str:
    return answer["error"]["code"]


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "bad_request"),
    (b"[1, 2]", 400, "bad_request"),
    (b'{"env_idx": "zero", "prediction": "x"}', 400, "bad_request"),
    (b'{"env_idx": 7, "prediction": "x"}', 404, "unknown_env"),
    (b'{"env_idx": 0}', 400, "bad_request"),
])
def test_bad_step_requests(daemon, body, status, code):
    got, _, raw = daemon.request("POST", "/env/step", body)
    assert (got, error_code(json.loads(raw))) == (status, code)


def test_bad_reset_requests_change_nothing(daemon):
    assert reset(daemon, 0)[0] == 200
    before = daemon.env_health(0)
    for extra, status, code in [({"history": "some"}, 400, "bad_request"),
                                ({"max_steps": 0}, 400, "bad_request"),
                                ({"image_format": "gif"}, 400, "bad_request"),
                                ({"jpeg_quality": 101}, 400, "bad_request")]:
        got, answer = reset(daemon, 0, **extra)
        assert (got, error_code(answer)) == (status, code)
    got, answer = daemon.post("/env/reset",
                              {"task_config": {"id": "x", "evaluator": {"func": "compare_videos"}}})
    assert got == 422 and "compare_videos" in answer["error"]["message"]
    got, answer = daemon.post("/env/reset", {"task_config": "not a task"})
    assert got == 400
    for malformed in ({"evaluator": ["x"]}, {"config": {"type": "sleep"}}, {"config": ["sleep"]},
                      {"evaluator": {"func": "exact_match", "result": "rule"}}, {"instruction": 5}):
        got, answer = daemon.post("/env/reset", {"task_config": malformed})
        assert (got, error_code(answer)) == (400, "bad_request"), malformed
    assert daemon.env_health(0)["episode_id"] == before["episode_id"]        # the episode is untouched
    assert daemon.post("/env/step", {"prediction": TYPE})[0] == 200


def test_body_too_large_is_413(daemon):
    """Sent chunked (no Content-Length): read up to the limit, then refused. A declared over-size body is
    refused before it is read: tests/security."""
    big = json.dumps({"prediction": "x" * (17 * 1024 * 1024)}).encode()
    status, _, raw = daemon.request("POST", "/env/step", iter([big]))
    assert (status, error_code(json.loads(raw))) == (413, "body_too_large")
    assert_env_works(daemon, 0)


def test_conflicts_are_409(daemon):
    status, answer = daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE})
    assert (status, error_code(answer)) == (409, "no_episode")
    _, first = reset(daemon, 3, max_steps=1)
    status, answer = daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE, "episode_id": "another"})
    assert (status, error_code(answer)) == (409, "wrong_episode")
    status, answer = daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE, "step_idx": 5})
    assert (status, error_code(answer)) == (409, "wrong_step")
    assert daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE})[1]["is_done"] is True
    status, answer = daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE})
    assert (status, error_code(answer)) == (409, "episode_done")
    set_latency(daemon.home, vm=3, execute=2.0)
    reset(daemon, 3)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(daemon.post, "/env/step", {"env_idx": 3, "prediction": TYPE})
        daemon.wait_for(lambda: daemon.env_health(3)["busy"], 10, "env 3 busy")
        status, answer = daemon.post("/env/step", {"env_idx": 3, "prediction": TYPE})
        assert (status, error_code(answer)) == (409, "env_busy")
        assert slow.result()[0] == 200
    assert_env_works(daemon, 3)


def test_worker_killed_mid_step_answers_503_and_the_env_recovers(daemon):
    assert reset(daemon, 1)[0] == 200
    set_latency(daemon.home, vm=1, execute=3.0)
    pid = daemon.env_health(1)["pid"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        step = pool.submit(daemon.post, "/env/step", {"env_idx": 1, "prediction": TYPE})
        daemon.wait_for(lambda: daemon.env_health(1)["busy"], 10, "env 1 busy")
        os.kill(pid, signal.SIGKILL)
        status, answer = step.result()
    assert (status, error_code(answer)) == (503, "worker_died")
    assert "recovered" in answer["error"]["message"]
    status, answer = reset(daemon, 1)
    assert status in (200, 503)                 # 503 env_recovering with Retry-After while the VM comes back
    clear_faults(daemon.home)
    assert_env_works(daemon, 1)
    assert daemon.env_health(1)["pid"] != pid


def test_hanging_ip_lookup_fails_the_reset_clearly_within_its_bound(daemon):
    set_faults(daemon.home, vm=2, ip_hang=True)
    started = time.monotonic()
    status, answer = reset(daemon, 2)
    assert (status, error_code(answer)) == (502, "vm_failed")
    assert "getGuestIPAddress" in answer["error"]["message"] and time.monotonic() - started < 60
    clear_faults(daemon.home)
    assert_env_works(daemon, 2)


def test_guest_down_after_revert_is_waited_for(daemon):
    set_faults(daemon.home, vm=2, guest_refuse_seconds=2)
    status, answer = reset(daemon, 2)
    assert status == 200, answer


def test_start_canceled_once_is_retried(daemon):
    set_faults(daemon.home, vm=0, start_canceled=1)
    assert reset(daemon, 0)[0] == 200


def test_zombie_vm_gives_a_clear_error_then_a_reset_brings_it_back(daemon):
    assert reset(daemon, 0)[0] == 200
    crash_vm(daemon.home, 0)
    status, answer = daemon.post("/env/step", {"prediction": TYPE})
    assert (status, error_code(answer)) == (502, "guest_lost")
    assert_env_works(daemon, 0)


def test_health_answers_while_every_worker_is_busy(daemon):
    for env in range(4):
        assert reset(daemon, env)[0] == 200
    set_latency(daemon.home, execute=2.0)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        steps = [pool.submit(daemon.post, "/env/step", {"env_idx": env, "prediction": TYPE})
                 for env in range(4)]
        daemon.wait_for(lambda: all(env["busy"] for env in daemon.health()["envs"]), 10, "all busy")
        health = daemon.health()
        assert health["status"] == "ok" and [env["busy"] for env in health["envs"]] == ["step"] * 4
        assert all(step.result()[0] == 200 for step in steps)


@pytest.mark.parametrize("signum, to_group", [(signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["sigterm-to-daemon", "ctrl-c-to-the-process-group"])
def test_a_stop_signal_drains_in_flight_work_and_leaves_no_worker(tmp_path, signum, to_group):
    """supervisorctl stop sends TERM to the daemon; Ctrl-C in a terminal reaches the daemon and its workers
    alike. Either way the in-flight step finishes, the daemon exits 0 and no worker is left."""
    daemon = DaemonProcess(tmp_path, envs=2).start()
    try:
        assert reset(daemon, 0)[0] == 200
        set_latency(daemon.home, execute=2.0)
        workers = daemon.worker_pids()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            step = pool.submit(daemon.post, "/env/step", {"prediction": TYPE})
            daemon.wait_for(lambda: daemon.env_health(0)["busy"], 10, "busy")
            for pid in [daemon.proc.pid, *(workers if to_group else [])]:
                os.kill(pid, signum)
            assert step.result()[0] == 200                     # the in-flight step finished
        assert daemon.proc.wait(timeout=30) == 0
        assert "recovery" not in daemon.log_path.read_text()
        assert not any(pid_alive(pid) for pid in workers)
    finally:
        daemon.stop()


def test_workers_exit_by_themselves_when_the_daemon_is_killed(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=2).start()
    try:
        assert reset(daemon, 0)[0] == 200
        workers = daemon.worker_pids()
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(pid_alive(pid) for pid in workers)
    finally:
        daemon.stop()

