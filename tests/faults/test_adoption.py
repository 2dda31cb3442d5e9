"""A restarted daemon (supervisord restarts it after a crash) adopts the VMs still running: a clean one is
used warm as it is, a used one is reverted, and one it started that is no longer configured is stopped."""
from __future__ import annotations

import time

from daemon.simulator import machines
from tests.support import DaemonProcess, pid_alive

from .helpers import FAST_FAULTS, reset, step


def guest_pids(daemon) -> list:
    return [machine.state().get("pid") if machine.state().get("power") == "on" else None
            for machine in machines(daemon.home)]


def test_a_restarted_daemon_adopts_running_vms_and_stops_unconfigured_ones(tmp_path):
    first = DaemonProcess(tmp_path, envs=3, **FAST_FAULTS).start()
    second = None
    try:
        assert reset(first, 0)[0] == 200 and first.post("/env/evaluate", {"env_idx": 0})[0] == 200
        first.wait_for(lambda: first.env_health(0)["warm"], 30, "env 0 warm after reset-ahead")
        assert reset(first, 1)[0] == 200 and step(first, 1)[0] == 200      # env 1 holds a used episode
        assert reset(first, 2)[0] == 200
        workers = first.worker_pids()
        first.proc.kill()                                                  # no drain: VMs stay running
        first.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        before = guest_pids(first)
        assert all(before)
        first_log = len(first.log_path.read_bytes())

        second = DaemonProcess(tmp_path, envs=2, **{**FAST_FAULTS, "simulator": {"ip_base": first.ip_base}})
        second.start()
        second.wait_for(lambda: all(env["warm"] for env in second.health()["envs"]), 30, "both VMs adopted")
        after = guest_pids(second)
        assert after[0] == before[0]          # clean and answering: used warm, as it was
        assert after[1] not in (None, before[1])   # it held an episode: reverted and started again
        assert after[2] is None               # started by this daemon, no longer configured: stopped
        log = second.log_path.read_bytes()[first_log:].decode()     # the same file: the second daemon's part
        assert "used warm" in log and "reverting it" in log and "no longer configured" in log
        assert reset(second, 0)[0] == 200 and reset(second, 1)[0] == 200
    finally:
        (second or first).stop()
