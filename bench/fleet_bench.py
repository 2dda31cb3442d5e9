"""Fleet benchmark: episodes per minute as envs and Macs are added,
and env utilization of the two rollout loops.

Starts real daemons (`python -m daemon`) on private simulated VMware with the realistic preset (revert 7 s,
start 16 s, screenshot 0.04 s, execute 0.2 s; settle 0.5 s) and drives them with cluster.rollout, the way a
trainer does. The policy is a stand-in for a model: each prediction takes a latency drawn per step,
uniform in 1-4 s (seeded).

  (a) independent episodes per minute for 1, 2, 4, 8, 16 envs over 1, 2 and 4 daemons, against linear scaling
      from one env (efficiency = episodes/min of n envs / (n x episodes/min of 1 env))
  (b) 8 envs over 2 daemons: env utilization (time in reset/step/evaluate calls / (envs x wall)) and episodes
      per minute of independent episodes against ARPO's lock-step batch, the same episodes each

Every configuration starts from warm envs (a warm-up episode, then reset-ahead has reverted each VM), so the
numbers are steady state. Each config runs `--episodes-per-env` episodes of `--steps` steps per env.

    .venv/bin/python bench/fleet_bench.py            # everything (about 40 minutes on 2 cores)
    .venv/bin/python bench/fleet_bench.py --quick    # 1 and 4 envs over 1 and 2 daemons, and (b) (~6 minutes)

Loopback only; every loop is bounded in count and time; the daemons and their simulated VMs are stopped at the
end. The daemons must prove their token (the auth-token in each run dir).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cluster import DaemonAddress, EnvFleet, LocalEnvs, RetryBudget, run_independent, run_lockstep  # noqa: E402
from tests.support import DaemonProcess  # noqa: E402

FULL = [(n, d) for d in (1, 2, 4) for n in (1, 2, 4, 8, 16) if n >= d]
QUICK = [(1, 1), (4, 1), (4, 2)]
WARM_WAIT = 180.0


class DrawnLatencyPolicy:
    """Clicks, then finished after `steps - 1` of them;
    each answer after a latency drawn from [low, high] s."""

    def __init__(self, steps: int, low: float, high: float, seed: int):
        self.steps, self.low, self.high = steps, low, high
        self.random, self.lock = random.Random(seed), threading.Lock()

    def __call__(self, messages: list) -> str:
        with self.lock:
            latency = self.random.uniform(self.low, self.high)
        time.sleep(latency)
        done = sum(message["role"] == "assistant" for message in messages)
        if done < self.steps - 1:
            return f"Thought: step {done}.\nAction: click(start_box='({100 + 30 * done},{200 + 20 * done})')"
        return "Thought: done.\nAction: finished(content='bench')"


def task(n: int) -> dict:
    return {"id": f"bench-{n}", "snapshot": "init_state", "instruction": "Click around, then finish.",
            "config": [], "evaluator": {"func": "infeasible"}}


@contextlib.contextmanager
def macs(workdir: Path, envs: int, daemons: int):
    """`daemons` daemons sharing `envs` envs evenly, started and warmed up; yields their addresses."""
    started = []
    try:
        for index in range(daemons):
            daemon = DaemonProcess(workdir / f"d{daemons}-n{envs}-{index}", envs=envs // daemons,
                                   preset="realistic", log_level="WARNING",
                                   episode={"settle_seconds": 0.5, "reset_ahead": True})
            started.append(daemon.start(timeout=180))
        addresses = [DaemonAddress.parse(f"http://127.0.0.1:{d.port}/t/{token_of(d)}") for d in started]
        warm_up(addresses, started)
        yield addresses
    finally:
        for daemon in started:
            daemon.stop()


def token_of(daemon: DaemonProcess) -> str:
    path = daemon.workdir / "run" / "auth-token"
    if not path.exists():
        sys.exit("the daemon wrote no auth-token: "
                 "this bench needs the daemon's authentication (issue 1 of 6)")
    return path.read_text().strip()


def warm_up(addresses: list[DaemonAddress], daemons: list[DaemonProcess]) -> None:
    """One quick episode per env (cold reset), then wait until reset-ahead has made every VM warm again."""
    fleet = EnvFleet(addresses, recheck_seconds=1.0)
    slots = len(fleet.status()[0].envs) * len(addresses)
    finish = DrawnLatencyPolicy(1, 0.0, 0.0, seed=0)
    run_independent(fleet, LocalEnvs(), [task(i) for i in range(slots)], finish, max_steps=1,
                    lease_wait=WARM_WAIT)
    deadline = time.monotonic() + WARM_WAIT
    while time.monotonic() < deadline:
        if all(env["warm"] and not env["busy"] for d in daemons for env in d.health()["envs"]):
            return
        time.sleep(1.0)
    raise TimeoutError(f"envs not warm within {WARM_WAIT} s")


def measure(addresses, mode: str, envs: int, args) -> dict:
    fleet = EnvFleet(addresses, recheck_seconds=2.0)
    policy = DrawnLatencyPolicy(args.steps, args.low, args.high, seed=args.seed)
    backend = LocalEnvs(retry=RetryBudget(seconds=60))
    tasks = [task(i) for i in range(envs * args.episodes_per_env)]
    started = time.monotonic()
    if mode == "independent":
        records = run_independent(fleet, backend, tasks, policy, max_steps=args.steps, lease_wait=600)
    else:
        records = []
        for first in range(0, len(tasks), envs):                  # one batch of `envs` tasks after another
            records += run_lockstep(fleet, backend, tasks[first:first + envs], policy, max_steps=args.steps,
                                    lease_wait=600)
    wall = time.monotonic() - started
    backend.close()
    fleet.close()
    ok = [r for r in records if not r.masked]
    return {"episodes": len(records), "ok": len(ok), "masked": len(records) - len(ok),
            "wall_s": round(wall, 1),
            "episodes_per_min": round(len(ok) / wall * 60, 2),
            "env_utilization": round(sum(r.env_seconds for r in records) / (envs * wall), 3),
            "step_p50_ms": round(statistics.median(ms for r in records for ms in r.step_ms), 1)}


def scaling(workdir: Path, configs, args) -> list[dict]:
    rows = []
    for envs, daemons in configs:
        with macs(workdir, envs, daemons) as addresses:
            row = {"envs": envs, "daemons": daemons, **measure(addresses, "independent", envs, args)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    single = next((row["episodes_per_min"] for row in rows if row["envs"] == 1), None)
    for row in rows:
        row["efficiency"] = round(row["episodes_per_min"] / (row["envs"] * single), 3) if single else None
    return rows


def loops(workdir: Path, args) -> list[dict]:
    rows = []
    with macs(workdir, 8, 2) as addresses:
        for mode in ("independent", "lockstep"):
            row = {"mode": mode, "envs": 8, "daemons": 2, **measure(addresses, mode, 8, args)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def report(scale: list[dict], modes: list[dict], args) -> str:
    lines = [f"(a) independent episodes, {args.steps} steps each, "
             f"policy {args.low:g}-{args.high:g} s per step, {args.episodes_per_env} episodes per env", "",
             "| envs | daemons | episodes/min | vs linear | env utilization | step p50 ms | masked |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['envs']} | {r['daemons']} | {r['episodes_per_min']} | {r['efficiency']:.0%} | "
              f"{r['env_utilization']:.0%} | {r['step_p50_ms']} | {r['masked']} |" for r in scale]
    lines += ["", "(b) 8 envs over 2 daemons, the same episodes", "",
              "| loop | episodes/min | env utilization | wall s |", "|---|---|---|---|"]
    lines += [f"| {r['mode']} | {r['episodes_per_min']} | {r['env_utilization']:.0%} | {r['wall_s']} |"
              for r in modes]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 4 envs over 1 and 2 daemons, then (b)")
    parser.add_argument("--only", default="a,b", help="which parts: a, b or a,b")
    parser.add_argument("--steps", type=int, default=8, help="steps per episode, the last one finished")
    parser.add_argument("--episodes-per-env", type=int, default=2)
    parser.add_argument("--low", type=float, default=1.0, help="policy latency, seconds (low end)")
    parser.add_argument("--high", type=float, default=4.0, help="policy latency, seconds (high end)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        scale = scaling(Path(tmp), QUICK if args.quick else FULL, args) if "a" in parts else []
        modes = loops(Path(tmp), args) if "b" in parts else []
    print(report(scale, modes, args))


if __name__ == "__main__":
    main()
