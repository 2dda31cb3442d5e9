"""Limits at the HTTP layer: every malformed or oversized request is a 4xx JSON answer that changes nothing
(the workers' PIDs stay the same), and idle connections cannot take /health down."""
from __future__ import annotations

import json
import socket

import pytest

from daemon.simulator.tasks import load_task
from tests.security.conftest import open_files_soft_limit, run_episode
from tests.support import DaemonProcess

TASK = load_task("type_and_save")


@pytest.fixture(autouse=True)
def workers_survive(daemon):
    """After every test here: no worker was restarted, no env is recovering."""
    pids = daemon.worker_pids()
    yield
    assert daemon.worker_pids() == pids
    assert all(env["phase"] not in ("recovering", "broken") for env in daemon.health()["envs"])


def answer(daemon, method: str, path: str, body: bytes) -> tuple[int, str]:
    status, headers, raw = daemon.request(method, path, body, {"Content-Type": "application/json"})
    assert headers.get("Content-Type") == "application/json", raw[:200]
    return status, json.loads(raw)["error"]["code"]


def test_max_steps_is_capped(daemon):
    status, reply = daemon.post("/env/reset", {"task_config": TASK, "max_steps": 101})
    assert (status, reply["error"]["code"]) == (400, "bad_request")
    assert "episode.max_steps_cap" in reply["error"]["message"]
    assert daemon.post("/env/reset", {"task_config": TASK, "max_steps": 100})[0] == 200


@pytest.mark.parametrize("path", ["/env/reset", "/env/step", "/env/evaluate", "/env/history_messages"])
@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_json_is_a_400_json_answer(daemon, path, depth):
    for body in (b"[" * depth + b"]" * depth,
                 b'{"task_config": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}",
                 b"[" * depth):
        assert answer(daemon, "POST", path, body) == (400, "bad_request")


def test_nesting_inside_strings_does_not_count(daemon):
    prediction = "Thought: " + "[" * 5000 + "\\\"{" * 100 + "\nAction: type(content='x')"
    status, reply = daemon.post("/env/step", {"env_idx": 1, "prediction": prediction})
    assert (status, reply["error"]["code"]) == (409, "no_episode")      # parsed: refused for the episode only


def test_a_declared_oversize_body_is_refused_before_it_is_sent(daemon):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(f"POST /env/step HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {daemon.token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n".encode())
        head = sock.recv(65536)                                    # not one byte of the body was sent
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"body_too_large" in head
        assert read_until_closed(sock) is not None                # and the daemon closed the connection


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes | None:
    got = b""
    while len(got) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        got += chunk
    return None


def test_oversize_fields_are_413(daemon):
    status, reply = daemon.post("/env/step", {"prediction": "x" * (64 * 1024 + 1)})
    assert (status, reply["error"]["code"]) == (413, "too_large")
    task = {**TASK, "padding": "x" * (1024 * 1024)}
    status, reply = daemon.post("/env/reset", {"task_config": task})
    assert (status, reply["error"]["code"]) == (413, "too_large")
    assert "xxxxxxxx" not in reply["error"]["message"]                # never echoed back


MISTYPED = [
    ("/env/reset", {"task_config": TASK, "max_steps": float("nan")}),
    ("/env/reset", {"task_config": TASK, "max_steps": -1}),
    ("/env/reset", {"task_config": TASK, "max_steps": "10"}),
    ("/env/reset", {"task_config": TASK, "history": ["full"]}),
    ("/env/reset", {"task_config": TASK, "image_format": {"png": 1}}),
    ("/env/reset", {"task_config": TASK, "jpeg_quality": 1e309}),
    ("/env/reset", {"task_config": [TASK]}),
    ("/env/reset", {"task_config": TASK, "env_idx": [0]}),
    ("/env/step", {"prediction": ["Action: wait()"]}),
    ("/env/step", {"prediction": "Action: wait()", "step_idx": -1}),
    ("/env/step", {"prediction": "Action: wait()", "episode_id": 7}),
    ("/env/step", {"prediction": "Action: wait()", "env_idx": True}),
    ("/env/evaluate", {"env_idx": 0.5}),
    ("/env/history_messages", {"env_idx": "0"}),
]


@pytest.mark.parametrize("path, body", MISTYPED)
def test_mistyped_fields_are_400(daemon, path, body):
    assert answer(daemon, "POST", path, json.dumps(body).encode()) == (400, "bad_request")


@pytest.mark.parametrize("body", [b"\xff\xfe\x00garbage", b"1" * 5000, b"NaN",
                                  b'{"env_idx": 1' + b"0" * 5000 + b"}"])
def test_odd_bodies_get_json_answers_below_500(daemon, body):
    status, headers, raw = daemon.request("POST", "/env/step", body)
    assert status < 500 and headers.get("Content-Type") == "application/json"
    json.loads(raw)


def test_a_lone_surrogate_is_400_not_a_worker_crash(daemon):
    """json.loads accepts "\\ud800"; the worker then failed to write it out as UTF-8 and died
    (a 500 and a respawn)."""
    assert daemon.post("/env/reset", {"env_idx": 1, "task_config": TASK})[0] == 200
    body = b'{"env_idx": 1, "prediction": "Action: type(content=\'\\ud800\')"}'
    assert answer(daemon, "POST", "/env/step", body) == (400, "bad_request")


def test_an_episode_still_completes_after_all_that(daemon):
    assert run_episode(daemon, 0) == 1.0


def test_a_thousand_idle_connections_leave_health_answering(tmp_path):
    """1,100 idle connections under supervisord's default 1,024 descriptors: the daemon raises its limit."""
    with open_files_soft_limit(1024):
        daemon = DaemonProcess(tmp_path, envs=1).start()
    idle = []
    try:
        for _ in range(1100):
            idle.append(socket.create_connection(("127.0.0.1", daemon.port), timeout=10))
        assert daemon.health(token=None) == {"status": "ok"}
        assert daemon.health()["envs"][0]["phase"] not in ("recovering", "broken")
        assert run_episode(daemon, 0) == 1.0
    finally:
        for sock in idle:
            sock.close()
        daemon.stop()


def test_over_the_connection_cap_new_connections_get_503_and_idle_ones_time_out(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=1, server={"max_connections": 20, "idle_timeout": 5}).start()
    clients = []
    try:
        clients = [socket.create_connection(("127.0.0.1", daemon.port), timeout=30) for _ in range(25)]
        answers = [read_until_closed(sock) for sock in clients]      # a 503 at once, or closed when idle
        busy = [raw for raw in answers if raw.startswith(b"HTTP/1.1 503 ")]
        assert len(busy) >= 5 \
            and all(b"too_many_connections" in raw and b"Retry-After: " in raw for raw in busy)
        assert answers.count(b"") + len(busy) == 25                  # every idle one was closed by the daemon
        assert "envs" in daemon.health()
    finally:
        for sock in clients:
            sock.close()
        daemon.stop()


def test_a_conditional_request_still_gets_the_answer(daemon):
    """`If-None-Match: *` made Tornado answer an empty 304 (its automatic ETag) instead of the live state."""
    status, _, raw = daemon.request("GET", "/health", headers={"If-None-Match": "*"})
    assert status == 200 and "envs" in json.loads(raw)
