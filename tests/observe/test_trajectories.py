"""Recorded trajectories: complete folders, frames identical to the answers, retention,
crash safety, export."""
from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from daemon.simulator import clear_faults, set_latency
from daemon.simulator.tasks import load_task
from daemon.trajectories import TrajectoryWriter
from daemon.trajectories.store import episode_dirs, read_steps
from tests.support import FINISH, ROOT, SAVE, TYPE, DaemonProcess

CLICK = "Thought: click the notes.\nAction: click(start_box='(300,400)')"
DRAG = "Thought: select.\nAction: drag(start_box='(100,100)', end_box='(500,300)')"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("trajectories"), envs=2).start()
    yield process
    process.stop()


def last_image(answer: dict) -> bytes:
    return base64.b64decode(answer["obs_messages"][-1]["content"][0]["b64"])


def recorded(daemon, episode_id: str, timeout: float = 20.0) -> Path:
    """The episode's folder once the writer has closed it (episode.json has its outcome)."""
    def closed():
        for folder in (daemon.workdir / "run" / "trajectories").glob(f"*/{episode_id}"):
            meta = json.loads((folder / "episode.json").read_text())
            if meta["outcome"] != "running":
                return folder
        return None
    return daemon.wait_for(closed, timeout, f"episode {episode_id} recorded")


def run_episode(daemon, env: int, predictions: list[str], **reset_extra) -> tuple[str, list[bytes], float]:
    status, answer = daemon.post("/env/reset", {"env_idx": env, "task_config": load_task("type_and_save"),
                                                "history": "delta", **reset_extra})
    assert status == 200
    frames = [last_image(answer)]
    for prediction in predictions:
        status, answer = daemon.post("/env/step", {"env_idx": env, "prediction": prediction})
        assert status == 200
        if not answer["is_done"]:
            frames.append(last_image(answer))
    status, _, score = daemon.request("POST", "/env/evaluate", json.dumps({"env_idx": env}).encode())
    assert status == 200
    return answer["episode_id"], frames, float(score)


def test_an_episode_folder_is_complete_and_its_frames_are_what_the_client_received(daemon):
    episode_id, frames, score = run_episode(daemon, 0, [CLICK, DRAG, TYPE, FINISH])
    folder = recorded(daemon, episode_id)
    meta = json.loads((folder / "episode.json").read_text())
    task = load_task("type_and_save")
    assert meta["episode_id"] == episode_id and meta["task_id"] == task["id"]
    assert meta["instruction"] == task["instruction"] and len(meta["task_config_sha256"]) == 64
    assert meta["env_idx"] == 0 and meta["outcome"] == "scored" and meta["score"] == score
    assert meta["ended"] >= meta["started"] and meta["errors"] == [] and meta["steps"] == 4
    names = sorted(path.name for path in (folder / "frames").iterdir())
    assert names == ["000.png", "001.png", "002.png", "003.png"]                 # the last step took none
    for name, sent in zip(names, frames):
        assert (folder / "frames" / name).read_bytes() == sent
    steps = read_steps(folder)
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert [s["prediction"] for s in steps] == [CLICK, DRAG, TYPE, FINISH]
    assert steps[0]["actions"] == [{"type": "click", "x": pytest.approx(298.2, abs=1),
                                    "y": pytest.approx(395.6, abs=1), "button": "left", "clicks": 1}]
    assert steps[1]["actions"][0]["type"] == "drag" and "x2" in steps[1]["actions"][0]
    assert steps[2]["code"] and steps[2]["format_reward"] == 0.0 and steps[2]["warnings"] == []
    assert steps[3]["terminal"] == "DONE" and steps[3]["done"] is True and "frame" not in steps[3]
    assert steps[0]["frame"] == "frames/001.png" and steps[0]["error"] is None
    assert {"queue", "execute", "screenshot", "encode", "total"} <= set(steps[0]["timings"])
    assert not [p for p in folder.rglob(".*")]                                   # no temp file left


def test_jpeg_frames_are_the_jpeg_bytes_sent(daemon):
    episode_id, frames, _ = run_episode(daemon, 1, [CLICK, FINISH], image_format="jpeg", jpeg_quality=70)
    folder = recorded(daemon, episode_id)
    assert [(folder / "frames" / f"00{i}.jpg").read_bytes() for i in range(2)] == frames
    assert frames[0][:3] == b"\xff\xd8\xff"


def test_a_reset_refused_as_busy_leaves_the_running_episode_recorded(daemon):
    """A reset answered 409 env_busy changed nothing: the episode in flight goes on, recorded whole."""
    status, answer = daemon.post("/env/reset", {"env_idx": 1, "task_config": load_task("type_and_save")})
    assert status == 200
    episode_id = answer["episode_id"]
    set_latency(daemon.home, vm=1, execute=2.0)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            step = pool.submit(daemon.post, "/env/step", {"env_idx": 1, "prediction": TYPE})
            daemon.wait_for(lambda: daemon.env_health(1)["busy"], 20, "env 1 busy with its step")
            status, answer = daemon.post("/env/reset",
                                         {"env_idx": 1, "task_config": load_task("type_and_save")})
            assert (status, answer["error"]["code"]) == (409, "env_busy"), answer
            assert step.result()[0] == 200
    finally:
        clear_faults(daemon.home)
    for prediction in (SAVE, FINISH):
        assert daemon.post("/env/step", {"env_idx": 1, "prediction": prediction})[0] == 200
    assert daemon.request("POST", "/env/evaluate", json.dumps({"env_idx": 1}).encode())[0] == 200
    meta = json.loads((recorded(daemon, episode_id) / "episode.json").read_text())
    assert meta["outcome"] == "scored" and meta["steps"] == 3


def test_format_errors_and_abandoned_episodes_are_recorded_as_such(daemon):
    status, answer = daemon.post("/env/reset", {"task_config": load_task("type_and_save")})
    abandoned = answer["episode_id"]
    assert daemon.post("/env/step", {"prediction": CLICK})[0] == 200
    status, answer = daemon.post("/env/reset", {"task_config": load_task("type_and_save")})
    assert status == 200
    status, done = daemon.post("/env/step", {"prediction": "no action here"})
    assert done["is_done"] is True and done["format_reward"] == -1.0
    assert daemon.request("POST", "/env/evaluate", b"{}")[0] == 200
    assert json.loads((recorded(daemon, abandoned) / "episode.json").read_text())["outcome"] == "abandoned"
    folder = recorded(daemon, answer["episode_id"])
    assert json.loads((folder / "episode.json").read_text())["outcome"] == "format_error"
    assert read_steps(folder)[0]["error"] and read_steps(folder)[0]["format_reward"] == -1.0


def test_export_gives_one_loadable_chat_per_episode(daemon, tmp_path):
    episode_id, frames, score = run_episode(daemon, 0, [CLICK, FINISH])
    recorded(daemon, episode_id)
    out = tmp_path / "export.jsonl"
    root = str(daemon.workdir / "run" / "trajectories")
    subprocess.run([sys.executable, "-m", "daemon.trajectories", "--dir", root, "export", "--out", str(out),
                    "--outcome", "scored"], cwd=ROOT, check=True, timeout=60)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(line["outcome"] == "scored" for line in lines)
    mine = next(line for line in lines if line["episode_id"] == episode_id)
    assert mine["score"] == score
    roles = [message["role"] for message in mine["messages"]]
    assert roles == ["system", "user", "user", "assistant", "user", "assistant"]
    images = [m["content"][0]["image"] for m in mine["messages"] if m["content"][0]["type"] == "image"]
    assert [Path(image).read_bytes() for image in images] == frames
    assert "<|box_start|>(300,400)<|box_end|>" in mine["messages"][3]["content"][0]["text"]
    listing = subprocess.run([sys.executable, "-m", "daemon.trajectories", "--dir", root, "list"], cwd=ROOT,
                             check=True, timeout=60, capture_output=True, text=True).stdout
    assert episode_id in listing
    shown = subprocess.run([sys.executable, "-m", "daemon.trajectories", "--dir", root, "show", episode_id],
                           cwd=ROOT, check=True, timeout=60, capture_output=True, text=True).stdout
    assert "step 1: \"click(start_box='(300,400)')\"" in shown and "step 2:" in shown


# --- the writer on its own ----------------------------------------------------------------------------------
PNG = b"\x89PNG" + bytes(2000)


def write_episode(writer: TrajectoryWriter, episode_id: str, started: float, frames: int = 2) -> None:
    writer.start_episode({"episode_id": episode_id, "started": started, "outcome": "running", "errors": []})
    for index in range(frames):
        writer.add_frame(episode_id, index, PNG, "png")
        writer.add_step(episode_id, {"step": index + 1})
    writer.end_episode(episode_id, {"outcome": "scored", "score": 1.0})


def test_retention_deletes_the_oldest_episodes_first(tmp_path):
    writer = TrajectoryWriter(tmp_path, max_bytes=5500, max_age_days=30, queue_items=100, queue_bytes=10**8)
    writer.start()
    now = time.time()
    for n in range(4):
        write_episode(writer, f"episode{n}", now - 100 + n, frames=1)
    writer.close()
    kept = sorted(folder.name for folder in episode_dirs(tmp_path))
    assert kept == ["episode2", "episode3"]                  # ~2.1 KB each: two fit in 5.5 KB


def test_retention_by_age(tmp_path):
    writer = TrajectoryWriter(tmp_path, max_bytes=10**9, max_age_days=1, queue_items=100, queue_bytes=10**8)
    writer.start()
    write_episode(writer, "old", time.time() - 3 * 86400)
    write_episode(writer, "new", time.time())
    writer.close()
    assert sorted(folder.name for folder in episode_dirs(tmp_path)) == ["new"]


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    writer = TrajectoryWriter(tmp_path, max_bytes=10**9, max_age_days=30, queue_items=3, queue_bytes=10**8)
    drops = []
    writer.on_drop = lambda: drops.append(1)                 # the thread is not started: nothing is consumed
    write_episode(writer, "e1", time.time(), frames=3)     # a blocking put would hang here (pytest-timeout)
    assert writer.queue.qsize() == 3 and len(drops) == writer.dropped == 5
    small = TrajectoryWriter(tmp_path, max_bytes=10**9, max_age_days=30, queue_items=100,
                             queue_bytes=len(PNG))
    small.add_frame("e2", 0, PNG, "png")
    small.add_frame("e2", 1, PNG, "png")
    assert small.dropped == 1


def test_a_daemon_killed_mid_episode_leaves_only_complete_files(tmp_path):
    daemon = DaemonProcess(tmp_path / "killed", envs=1).start()
    stop = threading.Event()
    answers = []

    def keep_stepping():
        status, _ = daemon.post("/env/reset", {"task_config": load_task("type_and_save"), "max_steps": 100})
        answers.append(status)
        while not stop.is_set() and len(answers) <= 100:
            try:
                answers.append(daemon.post("/env/step", {"prediction": CLICK}, timeout=10)[0])
            except (OSError, ValueError):
                return
    stepper = threading.Thread(target=keep_stepping)
    try:
        stepper.start()
        daemon.wait_for(lambda: len(answers) >= 6, 60, "five steps")
        assert set(answers) == {200}, answers
        os.kill(daemon.proc.pid, signal.SIGKILL)               # mid-episode, likely mid-write
        stop.set()
        stepper.join(30)
        daemon.proc.wait(10)
        root = daemon.workdir / "run" / "trajectories"
        (folder,) = list(episode_dirs(root))
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                assert_complete(path)
        assert json.loads((folder / "episode.json").read_text())["outcome"] == "running"
        daemon.start()                                         # the next start tidies and marks it
        daemon.wait_for(lambda: json.loads((folder / "episode.json").read_text())["outcome"] == "interrupted",
                        20, "the interrupted episode marked")
        assert not [p for p in folder.rglob(".*")]
        assert len(read_steps(folder)) >= 5
    finally:
        stop.set()
        daemon.stop()


def assert_complete(path: Path) -> None:
    if path.suffix == ".png":
        with Image.open(io.BytesIO(path.read_bytes())) as image:
            image.load()                                      # a truncated PNG raises here
    elif path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".jsonl":
        text = path.read_text()
        assert text.endswith("\n")
        [json.loads(line) for line in text.splitlines()]


def test_trajectory_settings_are_validated(tmp_path):
    from daemon import config
    path = tmp_path / "daemon.yaml"
    path.write_text("simulator: {count: 1}\ntrajectories: {max_bytes: -5}\n")
    with pytest.raises(config.ConfigError, match="trajectories.max_bytes"):
        config.load(path)
    path.write_text("simulator: {count: 1}\ntrajectories: {enabled: 'yes'}\n")
    with pytest.raises(config.ConfigError, match="trajectories.enabled"):
        config.load(path)
    path.write_text("simulator: {count: 1}\nrun_dir: run\n")
    assert config.load(path).raw["trajectories"]["dir"] == str(tmp_path / "run" / "trajectories")
