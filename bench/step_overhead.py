"""What metrics and trajectory recording cost on the step path: p50/p95 step latency, on vs off.

Three daemons on private simulated VMware (fast preset, one env each, settle pause 0), stepped in turns, one
step each, so they see the same machine load:

  baseline   the code of a git revision without any of it (default: where this branch left main), extracted
             with `git archive`
  metrics    this checkout, trajectories.enabled: false (metrics, timings and the live dashboard state only)
  recording  this checkout as shipped: metrics and every episode recorded to disk

Wall time per step is what the trainer sees, but on a shared machine it is noisy; the CPU time the daemon and
its worker spend per step (Linux /proc, writer thread included) is the steadier measure of the cost.

    .venv/bin/python bench/step_overhead.py                   # 8 rounds of a 15-step episode each (~2 min)
    .venv/bin/python bench/step_overhead.py --rounds 4 --history delta --baseline HEAD~3

Loopback only; bounded in rounds and time; every daemon and simulated VM is stopped at the end.
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.support as support  # noqa: E402  (the bench runs from a checkout)
from bench.episode_bench import PREDICTIONS, percentile  # noqa: E402
from daemon.simulator.tasks import load_task  # noqa: E402

TIME_BOUND = 900.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def extract(revision: str, into: Path) -> Path:
    """The checkout of `revision` as plain files (no git worktree left behind)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision], check=True,
                             capture_output=True, timeout=120).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def start(workdir: Path, checkout: Path, recording: bool) -> support.DaemonProcess:
    """A daemon running the code in `checkout` (python -m daemon runs from its working directory)."""
    overrides = {"log_level": "WARNING", "episode": {"settle_seconds": 0.0, "reset_ahead": True}}
    if checkout == ROOT:
        overrides["trajectories"] = {"enabled": recording}
    daemon = support.DaemonProcess(workdir, envs=1, **overrides)
    previous, support.ROOT = support.ROOT, checkout
    try:
        return daemon.start(timeout=120)
    finally:
        support.ROOT = previous


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes (0 where /proc is absent)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


class Stepper:
    """One daemon's episode, stepped one step at a time over a kept-alive connection."""

    def __init__(self, daemon: support.DaemonProcess, history: str):
        self.daemon, self.history = daemon, history
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {daemon.token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
        self.cpu = 0.0
        self.pids: list[int] = []                       # the daemon and its worker, read once per reset

    def reset(self) -> None:
        status, _ = self.daemon.post("/env/reset", {"task_config": load_task("type_and_save"),
                                                    "history": self.history})
        assert status == 200
        self.pids = [self.daemon.proc.pid, *self.daemon.worker_pids()]

    def step(self, prediction: str) -> float:
        """The wall time of one step's HTTP exchange (answer read, not decoded), in ms;
        its CPU is added up."""
        cpu_before = cpu_seconds(self.pids)
        began = time.perf_counter()
        self.conn.request("POST", "/env/step", json.dumps({"prediction": prediction}).encode(), self.headers)
        answer = self.conn.getresponse()
        answer.read()
        took = (time.perf_counter() - began) * 1000
        assert answer.status == 200
        time.sleep(0.05)                                # the writer thread's share of the step is counted too
        self.cpu += cpu_seconds(self.pids) - cpu_before
        return took

    def close(self) -> None:
        self.daemon.request("POST", "/env/evaluate", b"{}")
        self.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="episodes per daemon (15 steps each)")
    parser.add_argument("--baseline", default=None, help="git revision without metrics and recording "
                        "(default: where this branch left main, git merge-base HEAD main)")
    parser.add_argument("--history", choices=("full", "delta"), default="full")
    args = parser.parse_args()
    args.baseline = args.baseline or subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"],
                                                    check=True, capture_output=True, text=True).stdout.strip()
    deadline = time.monotonic() + TIME_BOUND
    with tempfile.TemporaryDirectory(prefix="step-overhead-") as tmp:
        tmp = Path(tmp)
        checkout = extract(args.baseline, tmp / "baseline-src")
        daemons = {"baseline": start(tmp / "baseline", checkout, False),
                   "metrics": start(tmp / "metrics", ROOT, False),
                   "recording": start(tmp / "recording", ROOT, True)}
        times: dict[str, list[float]] = {name: [] for name in daemons}
        steppers = {name: Stepper(daemon, args.history) for name, daemon in daemons.items()}
        try:
            for _ in range(args.rounds):
                if time.monotonic() > deadline:
                    break
                for stepper in steppers.values():
                    stepper.reset()
                for prediction in PREDICTIONS:            # step by step in turns: the same load for all three
                    for name, stepper in steppers.items():
                        times[name].append(stepper.step(prediction))
                for stepper in steppers.values():
                    stepper.close()
            recorded = sum(1 for _ in (tmp / "recording" / "run" / "trajectories").glob("*/*/frames/*.png"))
        finally:
            for daemon in daemons.values():
                daemon.stop()
    report(times, {name: stepper.cpu for name, stepper in steppers.items()}, args, recorded)


def report(times: dict[str, list[float]], cpu: dict[str, float], args, recorded: int) -> None:
    base = times["baseline"]
    print(f"step latency, {len(base)} steps per daemon, history {args.history}, baseline {args.baseline}")
    print(f"{'daemon':10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'p50 +ms':>8} {'p95 +ms':>8} "
          f"{'paired +ms':>10} {'cpu ms/step':>12}")
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        paired = statistics.median(value - before for value, before in zip(values, base))
        print(f"{name:10} {p50:8.1f} {p95:8.1f} {statistics.fmean(values):8.1f} "
              f"{p50 - percentile(base, 50):+8.1f} {p95 - percentile(base, 95):+8.1f} {paired:+10.1f} "
              f"{cpu[name] * 1000 / len(values):12.1f}")
    print(f"frames recorded by 'recording': {recorded}; "
          "paired: median over steps of (this step - the baseline's step taken just before it)")


if __name__ == "__main__":
    main()
