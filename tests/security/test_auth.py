"""Only the token holder drives the daemon; anyone else learns nothing but {"status": "ok"}; the token never
reaches a log line; the daemon proves itself to a client before the client sends its token."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys

import pytest

from daemon.atomic import write_new_atomic
from daemon.http.auth import TokenFileError, load_or_create_token
from tests.security.conftest import run_episode
from tests.support import ROOT, DaemonProcess

ROUTES = [("POST", "/env/reset"), ("POST", "/env/step"), ("POST", "/env/evaluate"),
          ("POST", "/env/history_messages"), ("POST", "/health"), ("GET", "/env/reset"), ("GET", "/nowhere"),
          ("DELETE", "/env/step")]
BODY = json.dumps({"env_idx": 0, "prediction": "Action: click(start_box='(10,10)')",
                   "task_config": {}}).encode()


def refused(answer: tuple[int, dict, bytes]) -> bool:
    status, _, raw = answer
    return status == 401 and json.loads(raw)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_refuses_no_token_and_a_wrong_token(daemon, method, path):
    body = BODY if method == "POST" else None
    assert refused(daemon.request(method, path, body, token=None))
    assert refused(daemon.request(method, path, body, token="x" * 43))
    assert refused(daemon.request(method, path, body, token=daemon.token[:-1]))
    assert refused(daemon.request(method, path, body, {"Authorization": f"Basic {daemon.token}"}, token=None))


def test_a_wrong_token_changes_nothing(daemon):
    pids = daemon.worker_pids()
    before = daemon.health()["envs"]
    assert refused(daemon.request("POST", "/env/reset", BODY, token="wrong-token-wrong-token"))
    assert refused(daemon.request("POST", f"/t/{'y' * 43}/env/reset", BODY, token=None))
    assert daemon.health()["envs"] == before and daemon.worker_pids() == pids


def test_the_token_as_path_prefix_is_accepted_and_a_wrong_prefix_is_not(daemon):
    status, _, raw = daemon.request("POST", f"/t/{daemon.token}/env/evaluate", b'{"env_idx": 1}', token=None)
    assert (status, json.loads(raw)["error"]["code"]) == (409, "no_episode")          # past the guard
    assert refused(daemon.request("POST", f"/t/{daemon.token}x/env/evaluate", b"{}", token=None))
    assert refused(daemon.request("POST", "/t//env/evaluate", b"{}", token=None))
    status, _, raw = daemon.request("GET", f"/t/{daemon.token}/health", token=None)
    assert status == 200 and "envs" in json.loads(raw)


def test_the_cookie_is_accepted_on_get_only(daemon):
    cookie = {"Cookie": f"osworld_token={daemon.token}"}
    status, _, raw = daemon.request("GET", "/health", headers=cookie, token=None)
    assert status == 200 and "envs" in json.loads(raw)
    assert refused(daemon.request("POST", "/env/evaluate", b"{}", cookie, token=None))
    assert refused(daemon.request("POST", "/env/reset", BODY, cookie, token=None))


def test_health_without_the_token_says_only_ok(daemon):
    for token in (None, "wrong"):
        status, headers, raw = daemon.request("GET", "/health", token=token)
        assert (status, json.loads(raw)) == (200, {"status": "ok"})
    full = daemon.health()
    assert {"envs", "version", "provider"} <= set(full)


def test_the_token_never_reaches_the_log(daemon):
    token = daemon.token
    run_episode(daemon, 1)
    for path in (f"/t/{token}/env/evaluate", f"/t/{token}/nowhere/{token}", f"/t/{token}",
                 f"/t/{token}/health?x=1", f"/nowhere?token={token}"):
        daemon.request("POST", path, b"{not json", token=None)
        daemon.request("GET", path, token=None)
    daemon.request("GET", "/health", headers={"Authorization": f"Bearer {token}", "X-Extra": token},
                   token=None)
    daemon.request("POST", "/env/step", json.dumps({"prediction": token * 3000}).encode())
    log = daemon.log_path.read_text(errors="replace")
    assert "POST /env/evaluate" in log and "GET /nowhere" in log         # the access log is on, just redacted
    assert token not in log


def expected_proof(token: str, nonce: str) -> str:
    """The documented protocol, computed here independently of the daemon's code."""
    return hmac.new(token.encode(), b"osworld-proof:" + nonce.encode(), hashlib.sha256).hexdigest()


def test_the_daemon_proves_it_holds_the_token_on_any_answer(daemon):
    nonce = "n0nce-" + os.urandom(12).hex()
    for method, path, token in (("GET", "/health", None), ("POST", "/env/step", None),
                                ("GET", "/nowhere", "bad"), ("POST", "/env/evaluate", daemon.token)):
        _, headers, _ = daemon.request(method, path, b"{}" if method == "POST" else None,
                                       {"X-OSWorld-Nonce": nonce}, token=token)
        headers = {name.lower(): value for name, value in headers.items()}
        assert headers["x-osworld-proof"] == expected_proof(daemon.token, nonce)
    for bad_nonce in ("short", "x" * 129, "has space and more chars", "ünïcödé-nonce-1234"):
        _, headers, _ = daemon.request("GET", "/health", headers={"X-OSWorld-Nonce": bad_nonce}, token=None)
        assert "x-osworld-proof" not in {name.lower() for name in headers}


def test_the_token_file_is_private_and_the_ops_command_prints_the_url_line(daemon):
    assert stat.S_IMODE(daemon.token_path.stat().st_mode) == 0o600
    assert len(daemon.token) >= 43
    done = subprocess.run([sys.executable, "-m", "daemon.ops", "token", "--config", str(daemon.config_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == f"remote_server_url: http://127.0.0.1:15001/t/{daemon.token}"


def test_a_token_file_others_can_read_is_refused_and_an_existing_one_is_kept(tmp_path):
    path = tmp_path / "run" / "auth-token"
    token = load_or_create_token(path)
    assert load_or_create_token(path) == token
    assert not write_new_atomic(path, b"another")
    assert load_or_create_token(path) == token
    os.chmod(path, 0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        load_or_create_token(path)


def test_auth_off_is_possible_and_warned_about(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=1, server={"auth": False}).start()
    try:
        assert "envs" in daemon.health(token=None)
        assert daemon.post("/env/evaluate", {}, token=None)[0] == 409
    finally:
        daemon.stop()
    assert "AUTHENTICATION IS OFF" in daemon.log_path.read_text()
