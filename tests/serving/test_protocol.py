"""The seed's protocol and its extensions, end to end: real HTTP to a real daemon on the simulated VMware."""
from __future__ import annotations

import base64
import concurrent.futures
import gzip
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from daemon.episode.episode import SYSTEM_TEXT
from daemon.simulator import clear_faults, set_latency
from daemon.simulator.tasks import load_task
from tests.support import FINISH, SAVE, TYPE, DaemonProcess

PROMPT = (Path(__file__).resolve().parents[2] / "daemon" / "data" / "uitars_arpo.txt").read_text()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("protocol")).start()
    yield process
    assert process.stop() == 0


@pytest.fixture(autouse=True)
def no_faults(daemon):
    yield
    clear_faults(daemon.home)


def test_seed_client_runs_an_episode_and_gets_the_seed_shapes(daemon):
    task = load_task("type_and_save")
    status, answer = daemon.post("/env/reset", {"task_config": task})          # exactly the seed's body
    assert status == 200
    assert answer["env_idx"] == 0 and answer["is_done"] is False and answer["format_reward"] == 0.0
    system, prompt, image = answer["obs_messages"]
    assert system == {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT}]}
    assert prompt == {"role": "user", "content": [{"type": "text",
                                                   "text": PROMPT.format(instruction=task["instruction"])}]}
    content = image["content"][0]
    assert image["role"] == "user" and content["type"] == "image"
    assert (content["min_pixels"], content["max_pixels"]) == (3136, 2116800)
    assert base64.b64decode(content["b64"]).startswith(b"\x89PNG")
    for n, prediction in enumerate([TYPE, SAVE], start=1):
        status, answer = daemon.post("/env/step", {"prediction": prediction})
        assert status == 200 and answer["is_done"] is False
        history = answer["obs_messages"]
        assert len(history) == 3 + 2 * n                                           # full history every step
        assert history[-2]["role"] == "assistant" and history[-1]["content"][0]["type"] == "image"
    assert "<|box_start|>" not in history[-2]["content"][0]["text"]
    status, answer = daemon.post("/env/step", {"prediction": FINISH})
    assert status == 200 and answer["is_done"] is True and answer["obs_messages"] is None
    status, _, body = daemon.request("POST", "/env/evaluate", b"{}")
    assert status == 200 and json.loads(body) == 1.0 and body.strip() in (b"1.0", b"1")
    status, answer = daemon.post("/env/history_messages", {})
    assert [m["role"] for m in answer["history_messages"]][-1] == "assistant"
    assert answer["history_messages"][-1]["content"][0]["text"] == FINISH


def test_box_tokens_are_restored_in_history(daemon):
    daemon.post("/env/reset", {"env_idx": 1, "task_config": load_task("type_and_save")})
    _, answer = daemon.post("/env/step", {"env_idx": 1, "prediction": "Action: click(start_box='(100,200)')"})
    assert answer["obs_messages"][-2]["content"][0]["text"] == \
        "Action: click(start_box='<|box_start|>(100,200)<|box_end|>')"


def test_delta_answers_reassemble_into_exactly_the_full_history(daemon):
    _, answer = daemon.post("/env/reset", {"env_idx": 2, "task_config": load_task("type_and_save"),
                                           "history": "delta", "max_steps": 3})
    collected = list(answer["obs_messages"])
    for prediction in (TYPE, SAVE, "Action: click(start_box='(10,10)')"):   # the third reaches max_steps
        _, answer = daemon.post("/env/step", {"env_idx": 2, "prediction": prediction,
                                              "episode_id": answer["episode_id"],
                                              "step_idx": answer["step_idx"]})
        collected += answer["obs_messages"] or answer["final_messages"]
    assert answer["is_done"] is True and answer["obs_messages"] is None
    _, history = daemon.post("/env/history_messages", {"env_idx": 2})
    assert collected == history["history_messages"]


def test_jpeg_answer_decodes_to_the_guest_screen_size(daemon):
    _, answer = daemon.post("/env/reset", {"env_idx": 3, "task_config": load_task("type_and_save"),
                                           "image_format": "jpeg", "jpeg_quality": 70})
    assert answer["image_format"] == "jpeg"
    image = Image.open(io.BytesIO(base64.b64decode(answer["obs_messages"][2]["content"][0]["b64"])))
    assert (image.format, image.size) == ("JPEG", (1920, 1080))


def test_a_retried_step_is_applied_once(daemon):
    _, reset = daemon.post("/env/reset", {"env_idx": 1, "task_config": load_task("type_and_save")})
    ids = {"env_idx": 1, "episode_id": reset["episode_id"]}
    first = daemon.request("POST", "/env/step",
                           json.dumps({**ids, "prediction": TYPE, "step_idx": 0}).encode())
    again = daemon.request("POST", "/env/step",
                           json.dumps({**ids, "prediction": TYPE, "step_idx": 0}).encode())
    assert first[0] == again[0] == 200 and first[2] == again[2]
    status, answer = daemon.post("/env/step", {**ids, "prediction": SAVE, "step_idx": 1})
    assert status == 200 and answer["step_idx"] == 2
    daemon.post("/env/step", {**ids, "prediction": FINISH, "step_idx": 2})
    assert daemon.post("/env/evaluate", {"env_idx": 1}) == (200, 1.0)   # typed once: "hello world", not twice


def test_gzip_for_clients_that_ask(daemon):
    body = json.dumps({"env_idx": 0}).encode()
    status, headers, raw = daemon.request("POST", "/env/history_messages", body, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "history_messages" in json.loads(gzip.decompress(raw))


def test_four_envs_step_concurrently_and_a_slow_env_does_not_slow_the_others(daemon):
    for env in range(4):
        assert daemon.post("/env/reset",
                           {"env_idx": env, "task_config": load_task("type_and_save")})[0] == 200
    set_latency(daemon.home, vm=0, execute=15.0)           # far longer than three fast steps, even under load
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = pool.submit(daemon.post, "/env/step", {"env_idx": 0, "prediction": TYPE})
        fast = [pool.submit(daemon.post, "/env/step", {"env_idx": env, "prediction": TYPE})
                for env in (1, 2, 3)]
        assert all(future.result()[0] == 200 for future in fast)
        assert not slow.done()                          # the others finished while env 0 was still acting
        health = daemon.health()                         # /health answers while env 0 is busy
        assert health["envs"][0]["busy"] == "step"
        assert slow.result()[0] == 200


def test_reset_ahead_warms_the_vm_and_a_reset_during_it_waits(daemon):
    set_latency(daemon.home, vm=0, revert=1.5)
    for _ in range(2):
        daemon.post("/env/reset", {"task_config": load_task("type_and_save")})
        daemon.post("/env/step", {"prediction": FINISH})
        assert daemon.post("/env/evaluate", {})[0] == 200
        assert daemon.env_health(0)["warm"] is False              # reset-ahead is reverting right now
        status, answer = daemon.post("/env/reset", {"task_config": load_task("type_and_save")})
        assert status == 200                                      # waited for reset-ahead, did not start over
        status, answer = daemon.post("/env/step", {"prediction": TYPE})
        assert status == 200 and answer["is_done"] is False       # the VM it handed out is not being reverted
    daemon.post("/env/step", {"prediction": FINISH})
    daemon.post("/env/evaluate", {})
    daemon.wait_for(lambda: daemon.env_health(0)["warm"], 30, "env 0 warm")


def test_pause_between_steps_and_screen_lock_disabled(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=1, vmware={"pause_between_steps": True}).start()
    try:
        vmx = daemon.home / "vm0" / "vm0.vmx"
        power = lambda: json.loads((vmx.parent / "state.json").read_text())["power"]     # noqa: E731
        assert daemon.post("/env/reset", {"task_config": load_task("type_and_save")})[0] == 200
        assert power() == "paused"                        # paused while the trainer thinks
        guest_settings = json.loads((vmx.parent / "disk.json").read_text())["settings"]
        assert guest_settings["org.gnome.desktop.screensaver lock-enabled"] == "false"   # set by the reset
        status, answer = daemon.post("/env/step", {"prediction": TYPE})
        assert status == 200 and answer["is_done"] is False and power() == "paused"
        daemon.post("/env/step", {"prediction": SAVE})
        daemon.post("/env/step", {"prediction": FINISH})
        assert daemon.post("/env/evaluate", {}) == (200, 1.0)
    finally:
        daemon.stop()


def test_a_chrome_task_episode_through_the_daemon(daemon):
    """chrome_open_tabs at reset through the worker's DevTools client; the agent closes the tab;
    tabs are scored."""
    pytest.importorskip("websocket", reason="the chrome extra is not installed")
    status, _ = daemon.post("/env/reset", {"env_idx": 2, "task_config": load_task("close_tab")})
    assert status == 200
    close = "Thought: close the example tab.\nAction: hotkey(key='ctrl w')"
    assert daemon.post("/env/step", {"env_idx": 2, "prediction": close})[0] == 200
    daemon.post("/env/step", {"env_idx": 2, "prediction": FINISH})
    assert daemon.post("/env/evaluate", {"env_idx": 2}) == (200, 1.0)
