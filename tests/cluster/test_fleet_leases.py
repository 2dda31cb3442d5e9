"""EnvFleet's leasing rules against scripted daemons: which envs are free, spreading,
losing and regaining a Mac."""
from __future__ import annotations

from cluster import DaemonAddress, EnvFleet, LocalEnvs, run_independent
from tests.support import free_port

from .fakes import FakeDaemon

TOKEN = "fleet-token-0123456789abcdefghijklmnopqrstuv"


def health(*envs, cold=()) -> dict:
    rows = [{"env_idx": i, "phase": phase, "busy": busy, "pid": 100 + i, "warm": i not in cold,
             "episode_id": None, "steps": 0, "last_error": None} for i, (phase, busy) in enumerate(envs)]
    return {"/health": [(200, {"status": "ok", "envs": rows}, {})]}


def test_only_healthy_idle_envs_are_leased_spread_over_the_daemons():
    mac1 = health(("idle", None), ("recovering", None), ("running", "step"), ("broken", None), ("done", None))
    mac2 = health(("idle", None), ("starting", None), ("resetting", None))
    with FakeDaemon(TOKEN, mac1) as one, FakeDaemon(TOKEN, mac2) as two:
        fleet = EnvFleet([DaemonAddress(one.url, TOKEN), DaemonAddress(two.url, TOKEN)], recheck_seconds=60)
        fleet.refresh(force=True)
        leases = [fleet.lease() for _ in range(4)]
        assert [(slot.address.base_url, slot.env_idx) for slot in leases[:3]] == [
            (one.url, 0), (two.url, 0), (one.url, 4)]
        assert leases[3] is None                           # recovering, busy, broken, starting, resetting: no
        fleet.release(leases[0])
        assert fleet.lease() == leases[0]


def test_warm_envs_are_leased_first():
    with FakeDaemon(TOKEN, health(("idle", None), ("done", None), ("idle", None), cold=(0, 1))) as mac:
        fleet = EnvFleet([DaemonAddress(mac.url, TOKEN)], recheck_seconds=60)
        assert [fleet.lease().env_idx for _ in range(3)] == [2, 0, 1]


def test_a_lost_daemon_is_skipped_until_a_probe_finds_it_healthy():
    with FakeDaemon(TOKEN, health(("idle", None), ("idle", None))) as mac:
        fleet = EnvFleet([DaemonAddress(mac.url, TOKEN)], recheck_seconds=0.2)
        slot = fleet.lease()
        fleet.release(slot, {"code": "daemon_unreachable", "message": "connection refused"})
        assert fleet.free_slots() == []                    # down at once, for every slot of that Mac
        assert fleet.lease(wait_seconds=5) is not None     # the next probe finds it up again


def test_with_no_daemon_up_every_episode_is_masked_and_the_run_ends():
    fleet = EnvFleet([DaemonAddress(f"http://127.0.0.1:{free_port()}", TOKEN)], recheck_seconds=0.2)
    records = run_independent(fleet, LocalEnvs(), [{"id": f"t{i}"} for i in range(5)], lambda m: "",
                              lease_wait=1)
    assert [record.env_error["code"] for record in records] == ["no_free_env"] * 5
    assert fleet.status()[0].error.startswith(fleet.daemons[0].address.display)
