"""Behaviours of the real OSWorld guest and of OSWorld's controller (osworld-protocol.md §6), through the
daemon: non-ASCII typing, a missing folder, failed getters and setup steps,
and the trace every error answer leaves."""
from __future__ import annotations

import copy

import pytest

from daemon.guest.client import GuestClient
from daemon.simulator import clear_faults, machines, set_faults
from daemon.simulator.tasks import load_task
from tests.support import DaemonProcess

SAVE = "Action: hotkey(key='ctrl s')"
JPGS = {"func": "check_moved_jpgs", "expected": {"type": "rule", "rules": {"expected": ["a.jpg"]}}}
FAILING_STEP = {"type": "execute", "parameters": {"command": ["no-such-program", "--flag"]}}


@pytest.fixture(scope="module")
def two_envs(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("fidelity"), envs=2).start()
    yield process
    process.stop()


@pytest.fixture
def daemon(two_envs):
    """The module's daemon; the faults a test switched on are off again after it."""
    yield two_envs
    clear_faults(two_envs.home)


def guest_of(daemon: DaemonProcess, env: int) -> GuestClient:
    return GuestClient(machines(daemon.home)[env].ip, request_timeout=10, retries=1)


def reset(daemon: DaemonProcess, task: dict, env: int = 0) -> tuple[int, dict]:
    return daemon.post("/env/reset", {"env_idx": env, "task_config": task})


def evaluate(daemon: DaemonProcess, env: int = 0):
    return daemon.post("/env/evaluate", {"env_idx": env})


def with_step(task: dict, step: dict, at: int) -> dict:
    task = copy.deepcopy(task)
    task["config"].insert(at, step)
    return task


def log_lines(daemon: DaemonProcess, *parts: str) -> list[str]:
    return [line for line in daemon.log_path.read_text().splitlines() if all(part in line for part in parts)]


def test_non_ascii_text_is_typed_through_the_clipboard_without_holding_the_guests_pipes(daemon):
    """The simulated xclip keeps /execute's pipes unless the paste sends its output to DEVNULL: without that,
    this step waits for the guest's /execute limit and answers 502 guest_failed."""
    assert reset(daemon, load_task("type_and_save"))[0] == 200
    status, answer = daemon.post("/env/step", {"prediction": "Action: type(content='héllo wörld ✓')"})
    assert status == 200, answer
    assert daemon.post("/env/step", {"prediction": SAVE})[0] == 200
    assert guest_of(daemon, 0).get_file("/home/user/Desktop/notes.txt") == "héllo wörld ✓".encode()


def test_a_list_directory_task_scores_0_on_a_missing_folder_and_takes_the_path_as_it_is(daemon):
    make = {"type": "execute",
            "parameters": {"command": "mkdir -p ~/Desktop/cpjpg && touch ~/Desktop/cpjpg/a.jpg",
                           "shell": True}}
    cases = [([], "/home/user/Desktop/cpjpg", 0.0),         # missing: the guest answers 400, OSWorld scores 0
             ([make], "/home/user/Desktop/cpjpg", 1.0),
             ([make], "~/Desktop/cpjpg", 0.0)]                 # the real server does not expand ~ there
    for config, path, score in cases:
        task = {"id": "list-dir", "instruction": "copy the jpgs", "config": config,
                "evaluator": {**JPGS, "result": {"type": "list_directory", "path": path}}}
        assert reset(daemon, task)[0] == 200
        assert evaluate(daemon) == (200, score), (config, path)


def test_a_getter_the_guest_answers_with_an_error_scores_0(daemon):
    assert reset(daemon, load_task("type_and_save"))[0] == 200
    set_faults(daemon.home, vm=0, execute_500=1)               # the vm_command_line getter's /execute: 500
    assert evaluate(daemon) == (200, 0.0)
    assert log_lines(daemon, "env=0", "metric exact_match scores 0.0", "getter vm_command_line failed")


def test_a_failed_setup_step_fails_the_reset_by_default_naming_the_step(daemon):
    status, answer = reset(daemon, with_step(load_task("type_and_save"), FAILING_STEP, 1))
    assert (status, answer["error"]["code"]) == (502, "setup_failed")
    assert "setup step 1 (execute) failed" in answer["error"]["message"]
    assert "No such file or directory: 'no-such-program'" in answer["error"]["message"]


def test_every_error_answer_is_logged_once_and_a_success_clears_last_error(daemon):
    status, answer = reset(daemon, load_task("type_and_save"), env=1)
    assert status == 200
    episode = answer["episode_id"]
    set_faults(daemon.home, vm=1, execute_500=1)
    status, answer = daemon.post("/env/step", {"env_idx": 1, "prediction": "Action: type(content='x')"})
    assert (status, answer["error"]["code"]) == (502, "guest_failed")
    marker = (f"env=1 episode={episode} step answered 502 guest_failed at step 0: "
              "the guest could not run an action")
    assert len(daemon.wait_for(lambda: log_lines(daemon, marker), 10, "the log line of the 502")) == 1
    assert "HTTP 500" in daemon.env_health(1)["last_error"]
    status, _ = daemon.post("/env/step", {"env_idx": 1, "episode_id": "another", "prediction": SAVE})
    assert status == 409
    marker = f"env=1 episode={episode} step answered 409 wrong_episode at step 0"
    assert len(daemon.wait_for(lambda: log_lines(daemon, "WARNING", marker), 10,
                               "the log line of the 409")) == 1
    assert reset(daemon, load_task("type_and_save"), env=1)[0] == 200
    assert daemon.env_health(1)["last_error"] is None


def test_on_setup_failure_continue_logs_the_step_and_carries_on(tmp_path):
    daemon = DaemonProcess(tmp_path, envs=1, evaluation={"on_setup_failure": "continue"}).start()
    try:
        status, answer = reset(daemon, with_step(load_task("type_and_save"), FAILING_STEP, 1))
        assert status == 200, answer
        assert log_lines(daemon, "env=0", f"episode={answer['episode_id']}", "setup step 1 (execute) failed",
                         "carrying on")
        assert daemon.post("/env/step", {"prediction": "Action: type(content='hello world')"})[0] == 200
        assert daemon.post("/env/step", {"prediction": SAVE})[0] == 200
        assert evaluate(daemon) == (200, 1.0)               # the steps after the failed one ran
    finally:
        daemon.stop()
