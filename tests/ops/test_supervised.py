"""The real supervisord with the repo's supervisord.conf: states, an episode, kill -9, drain on stop,
tunnel errors."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

from daemon.simulator import scenario
from tests.ops.sandbox import wait_for
from tests.support import FINISH, ROOT, SAVE, TYPE, pid_alive

TASK = json.loads((ROOT / "daemon" / "simulator" / "tasks" / "type_and_save.json").read_text())


def worker_pids(health: dict) -> list[int]:
    return [env["pid"] for env in health["envs"] if env.get("pid")]


def test_both_programs_reach_their_states(supervised):
    wait_for(lambda: supervised.states().get("osworld:daemon") == "RUNNING", 30, "osworld:daemon RUNNING")
    # The tunnel's SSH server does not exist: a transient error, so the tunnel keeps trying and stays RUNNING.
    wait_for(lambda: supervised.states().get("osworld:tunnel") == "RUNNING", 30, "osworld:tunnel RUNNING")


def test_an_episode_runs_through_http(supervised):
    status, answer = supervised.post("/env/reset", {"task_config": TASK})
    assert status == 200 and answer["is_done"] is False
    for prediction in (TYPE, SAVE):
        status, answer = supervised.post("/env/step", {"prediction": prediction})
        assert status == 200 and answer["is_done"] is False
    status, answer = supervised.post("/env/step", {"prediction": FINISH})
    assert status == 200 and answer["is_done"] is True
    assert supervised.post("/env/evaluate", {}) == (200, 1.0)


def test_health_shows_supervisors_view(supervised):
    def daemon_running_in_health():
        view = (supervised.health() or {}).get("supervisor") or {}
        states = {p["name"]: p["state"] for p in view.get("programs", [])}
        return view.get("ok") and states.get("osworld:daemon") == "RUNNING" and "osworld:tunnel" in states
    wait_for(daemon_running_in_health, 30, "/health to show osworld:daemon RUNNING under 'supervisor'")


def test_kill_9_of_the_daemon_is_restarted(supervised):
    old_pid = supervised.pid("osworld:daemon")
    old_workers = worker_pids(supervised.health())
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: supervised.pid("osworld:daemon") not in (0, old_pid), 30, "a new daemon pid")
    health = wait_for(supervised.health, 30, "/health after the restart")
    assert health["status"] == "ok"
    # The old workers see EOF on stdin and exit by themselves.
    wait_for(lambda: not any(pid_alive(pid) for pid in old_workers), 30, f"old workers {old_workers} to exit")
    wait_for(lambda: supervised.states().get("osworld:daemon") == "RUNNING", 30,
             "osworld:daemon RUNNING again")


def test_stop_drains_in_flight_work_and_leaves_no_worker(supervised):
    workers = worker_pids(wait_for(supervised.health, 30, "/health"))
    assert workers
    home = supervised.here / "run" / "sim"
    slow = scenario.read(home)
    slow["vms"] = {1: {"latency": {"revert": 3.0}}}   # env 1's reset is surely in flight when SIGTERM arrives
    scenario.write(home, slow)
    answers = []
    reset = threading.Thread(target=lambda: answers.append(
        supervised.post("/env/reset", {"task_config": TASK, "env_idx": 1})))
    reset.start()
    wait_for(lambda: (supervised.health() or {"envs": [{}, {}]})["envs"][1].get("busy"), 30, "env 1 busy")
    assert "stopped" in supervised.ctl("stop", "osworld:daemon")
    reset.join(60)
    assert answers and answers[0][0] == 200           # the in-flight reset finished: drained, not cut off
    assert "stopped: daemon (exit status 0)" in supervised.log("supervisord")
    assert supervised.states()["osworld:daemon"] == "STOPPED"
    assert [pid for pid in workers if pid_alive(pid)] == []
    scenario.write(home, {**slow, "vms": {}})
    supervised.ctl("start", "osworld:daemon")
    wait_for(supervised.health, 30, "/health after start")


def spawn_count(supervised) -> int:
    return supervised.log("supervisord").count("spawned: 'tunnel'")


def test_invalid_tunnel_config_ends_without_a_restart_loop(supervised):
    tunnel_yaml = supervised.here / "configs" / "tunnel.yaml"
    supervised.ctl("stop", "osworld:tunnel")
    kept = tunnel_yaml.read_text()
    tunnel_yaml.write_text("ssh: 5\n")
    try:
        supervised.ctl("start", "osworld:tunnel")
        wait_for(lambda: supervised.states().get("osworld:tunnel") in ("FATAL", "EXITED"), 60,
                 "osworld:tunnel to end FATAL/EXITED with an invalid config")
        spawned = spawn_count(supervised)
        time.sleep(3)                                 # no further spawn: it is not looping
        assert spawn_count(supervised) == spawned, "tunnel restarted after ending with an invalid config"
        assert "tunnel config error" in supervised.log("tunnel")
        assert supervised.health()["status"] == "ok"  # the daemon does not care
    finally:
        tunnel_yaml.write_text(kept)


def tunnel_state_in_health(supervised) -> str | None:
    return ((supervised.health() or {}).get("tunnel") or {}).get("state")


def test_missing_tunnel_config_is_a_calm_running_state_until_the_file_appears(supervised):
    tunnel_yaml = supervised.here / "configs" / "tunnel.yaml"
    supervised.ctl("stop", "osworld:tunnel")
    kept = tunnel_yaml.read_text()
    tunnel_yaml.unlink()
    supervised.ctl("start", "osworld:tunnel")        # start waits startsecs: RUNNING means it stayed up
    assert supervised.states()["osworld:tunnel"] == "RUNNING"
    wait_for(lambda: tunnel_state_in_health(supervised) == "not_configured", 30,
             "/health tunnel not_configured")
    assert "tunnel not configured" in supervised.log("tunnel")
    spawned = spawn_count(supervised)
    tunnel_yaml.write_text(kept)                # no supervisorctl needed: the waiting tunnel starts by itself
    wait_for(lambda: tunnel_state_in_health(supervised) == "connecting", 30, "/health tunnel connecting")
    assert spawn_count(supervised) == spawned and supervised.states()["osworld:tunnel"] == "RUNNING"
