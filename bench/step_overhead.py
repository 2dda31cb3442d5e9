"""What metrics and trajectory recording cost on the step path: p50/p95 step latency, on vs off.

Three daemons on private simulated VMware (fast preset, one env each, settle pause 0), driven in turns so they see
the same machine load:

  baseline   the code of a git revision without any of it (default: main), extracted with `git archive`
  metrics    this checkout, trajectories.enabled: false (metrics, timings and the live dashboard state only)
  recording  this checkout as shipped: metrics and every episode recorded to disk

Wall time per step is what the trainer sees, but on a shared machine it is noisy; the CPU time the daemon and its
worker spend per step (Linux /proc, writer thread included) is the steadier measure of the cost.

    .venv/bin/python bench/step_overhead.py                   # 8 rounds of a 15-step episode each (~2 min)
    .venv/bin/python bench/step_overhead.py --rounds 4 --baseline HEAD~3

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

import tests.support as support                            # noqa: E402  (the bench runs from a checkout)
from bench.episode_bench import PREDICTIONS, percentile    # noqa: E402
from daemon.simulator.tasks import load_task               # noqa: E402

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


def cpu_seconds(daemon: support.DaemonProcess) -> float:
    """User + system CPU time so far of the daemon and its worker (0 where /proc is absent)."""
    total = 0.0
    for pid in (daemon.proc.pid, *daemon.worker_pids()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def step_times(daemon: support.DaemonProcess, history: str) -> tuple[list[float], float]:
    """One 15-step episode: the wall time of each step's HTTP exchange (answer read, not decoded) in ms, and the
    CPU seconds the daemon and worker spent over the steps."""
    status, _ = daemon.post("/env/reset", {"task_config": load_task("type_and_save"), "history": history})
    assert status == 200
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {daemon.token}"}
    times = []
    cpu_before = cpu_seconds(daemon)
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    try:
        for prediction in PREDICTIONS:
            body = json.dumps({"prediction": prediction}).encode()
            began = time.perf_counter()
            conn.request("POST", "/env/step", body, headers)
            answer = conn.getresponse()
            answer.read()
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status == 200
    finally:
        conn.close()
    time.sleep(0.2)                                         # the writer thread's share of the last step
    cpu = cpu_seconds(daemon) - cpu_before
    daemon.request("POST", "/env/evaluate", b"{}")
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="episodes per daemon (15 steps each)")
    parser.add_argument("--baseline", default="main", help="git revision without metrics and recording")
    parser.add_argument("--history", choices=("full", "delta"), default="full")
    args = parser.parse_args()
    deadline = time.monotonic() + TIME_BOUND
    with tempfile.TemporaryDirectory(prefix="step-overhead-") as tmp:
        tmp = Path(tmp)
        checkout = extract(args.baseline, tmp / "baseline-src")
        daemons = {"baseline": start(tmp / "baseline", checkout, False),
                   "metrics": start(tmp / "metrics", ROOT, False),
                   "recording": start(tmp / "recording", ROOT, True)}
        times: dict[str, list[float]] = {name: [] for name in daemons}
        cpu = {name: 0.0 for name in daemons}
        try:
            for _ in range(args.rounds):
                for name, daemon in daemons.items():          # in turns: the same load for all three
                    if time.monotonic() < deadline:
                        wall, used = step_times(daemon, args.history)
                        times[name] += wall
                        cpu[name] += used
            recorded = sum(1 for _ in (tmp / "recording" / "run" / "trajectories").glob("*/*/frames/*.png"))
        finally:
            for daemon in daemons.values():
                daemon.stop()
    report(times, cpu, args, recorded)


def report(times: dict[str, list[float]], cpu: dict[str, float], args, recorded: int) -> None:
    base = times["baseline"]
    print(f"step latency, {len(base)} steps per daemon, history {args.history}, baseline {args.baseline}")
    print(f"{'daemon':10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'p50 +ms':>8} {'p95 +ms':>8} "
          f"{'cpu ms/step':>12}")
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:10} {p50:8.1f} {p95:8.1f} {statistics.fmean(values):8.1f} "
              f"{p50 - percentile(base, 50):+8.1f} {p95 - percentile(base, 95):+8.1f} "
              f"{cpu[name] * 1000 / len(values):12.1f}")
    print(f"frames recorded by 'recording': {recorded}")


if __name__ == "__main__":
    main()
