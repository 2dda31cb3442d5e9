"""Episode benchmark: bytes, daemon overhead, parallel scaling, reset-ahead and memory,
on the simulated VMware.

Starts the real daemon (`python -m daemon`) on a private simulated VMware and drives it over real HTTP, the
way the trainer does. Every measurement is compared with a baseline taken in the same invocation:

  (a) bytes on the wire per 15-step episode: the seed's protocol (full history, PNG) vs delta+PNG vs
      delta+JPEG
  (b) daemon overhead per step (wall time minus the simulated guest's busy time), p50/p95, 1 env vs 8 envs
  (c) a batch step across 8 envs vs one env's step (the parallel-scaling ratio)
  (d) reset latency: cold (reset-ahead off) vs warm (reset-ahead on), realistic preset
  (e) resident memory of the daemon and of each worker

    .venv/bin/python bench/episode_bench.py              # everything (about 3 minutes)
    .venv/bin/python bench/episode_bench.py --only a,b,c  # a subset; --episodes/--steps to scale

Loopback only; every loop is bounded in count and time;
the daemon and its simulated VMs are stopped at the end.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.simulator.tasks import load_task  # noqa: E402  (the bench runs from a checkout)
from tests.support import DaemonProcess  # noqa: E402

# A 15-step episode of ordinary actions; none ends the episode early.
PREDICTIONS = [
    "Thought: open the menu.\nAction: click(start_box='(235,512)')",
    "Thought: type the name.\nAction: type(content='quarterly report')",
    "Thought: scroll down.\nAction: scroll(start_box='(960,540)', direction='down')",
    "Thought: select it.\nAction: left_double(start_box='(700,300)')",
    "Thought: copy.\nAction: hotkey(key='ctrl c')",
    "Thought: context menu.\nAction: right_single(start_box='(1500,300)')",
    "Thought: move the slider.\nAction: drag(start_box='(100,900)', end_box='(400,900)')",
    "Thought: confirm.\nAction: hotkey(key='enter')",
    "Thought: type more.\nAction: type(content='line two')",
    "Thought: scroll up.\nAction: scroll(start_box='(960,540)', direction='up')",
    "Thought: click the field.\nAction: click(start_box='(1000,700)')",
    "Thought: select all.\nAction: hotkey(key='ctrl a')",
    "Thought: type.\nAction: type(content='done')",
    "Thought: click save.\nAction: click(start_box='(50,60)')",
    "Thought: press escape.\nAction: hotkey(key='esc')",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def bench_daemon(workdir: Path, envs: int, preset: str, reset_ahead: bool) -> DaemonProcess:
    return DaemonProcess(workdir, envs=envs, preset=preset, log_level="WARNING",
                         episode={"settle_seconds": 0.0, "reset_ahead": reset_ahead}).start(timeout=120)


def guest_busy_seconds(daemon: DaemonProcess, env_idx: int) -> float:
    head, last = daemon.ip_base.rsplit(".", 1)
    conn = http.client.HTTPConnection(f"{head}.{int(last) + env_idx}", 5000, timeout=10)
    try:
        conn.request("GET", "/sim/stats")
        return float(json.loads(conn.getresponse().read())["busy_seconds"])
    finally:
        conn.close()


class Client:
    """One trainer-side env client over a kept-alive connection;
    counts answer bytes as they came off the wire."""

    def __init__(self, daemon: DaemonProcess, env_idx: int, gzip: bool = False):
        self.conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=600)
        self.token = daemon.token
        self.env_idx = env_idx
        self.gzip = gzip
        self.wire_bytes = 0

    def post(self, path: str, body: dict, decode: bool = True) -> object:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if self.gzip:
            headers["Accept-Encoding"] = "gzip"
        self.conn.request("POST", path, json.dumps(body), headers)
        response = self.conn.getresponse()
        raw = response.read()
        self.wire_bytes += len(raw)
        if response.getheader("Content-Encoding") == "gzip":
            import gzip
            raw = gzip.decompress(raw)
        if response.status != 200:
            raise RuntimeError(f"{path} on env {self.env_idx}: HTTP {response.status}: {raw[:300]!r}")
        return json.loads(raw) if decode else raw

    def reset(self, seed_protocol: bool, **extra) -> dict:
        body = {"task_config": load_task("type_and_save")}
        if not seed_protocol:
            body.update(env_idx=self.env_idx, **extra)
        return self.post("/env/reset", body)

    def step(self, prediction: str, seed_protocol: bool, answer: dict | None = None, decode: bool = True):
        body = {"prediction": prediction}
        if not seed_protocol:
            body.update(env_idx=self.env_idx, episode_id=answer["episode_id"], step_idx=answer["step_idx"])
        return self.post("/env/step", body, decode)

    def close(self) -> None:
        self.conn.close()


def episode_bytes(daemon: DaemonProcess, mode: str) -> int:
    """(a) Bytes of one 15-step episode's answers (reset + 15 steps) in one protocol mode."""
    seed = mode == "seed"
    extra = {}
    if not seed:                                    # "delta+png", "delta+jpeg q70"
        image_format, _, quality = mode.split("+")[1].partition(" q")
        extra = {"history": "delta", "image_format": image_format, "max_steps": 15}
        if quality:
            extra["jpeg_quality"] = int(quality)
    client = Client(daemon, 0)
    try:
        answer = client.reset(seed, **extra)
        for prediction in PREDICTIONS:
            answer = client.step(prediction, seed, answer)
        return client.wire_bytes
    finally:
        client.close()


def step_overheads(daemon: DaemonProcess, envs: int, steps: int) -> tuple[list[float], list[float]]:
    """(b)+(c) Per-step overhead (ms) over `envs` concurrent clients, and each batch's wall time (ms)."""
    clients = [Client(daemon, i) for i in range(envs)]
    answers = [c.reset(False, history="delta", max_steps=steps + 1) for c in clients]
    overheads: list[float] = []
    batches: list[float] = []

    def one_step(i: int, prediction: str) -> float:
        busy_before = guest_busy_seconds(daemon, i)
        start = time.perf_counter()
        # the trainer's JSON decode is not ours
        raw = clients[i].step(prediction, False, answers[i], decode=False)
        wall = time.perf_counter() - start
        answers[i] = json.loads(raw)
        return (wall - (guest_busy_seconds(daemon, i) - busy_before)) * 1000

    with concurrent.futures.ThreadPoolExecutor(envs) as pool:
        for n in range(steps):
            prediction = PREDICTIONS[n % len(PREDICTIONS)]
            start = time.perf_counter()
            overheads += list(pool.map(one_step, range(envs), [prediction] * envs))
            batches.append((time.perf_counter() - start) * 1000)
    for client in clients:
        client.close()
    return overheads, batches


def reset_latencies(daemon: DaemonProcess, episodes: int, reset_ahead: bool) -> list[float]:
    """(d) Seconds per reset on env 0; with reset-ahead, wait until /health says warm after each evaluate."""
    client = Client(daemon, 0)
    latencies = []
    for _ in range(episodes):
        start = time.perf_counter()
        answer = client.reset(False, max_steps=2)
        latencies.append(time.perf_counter() - start)
        client.step(PREDICTIONS[0], False, answer)
        client.post("/env/evaluate", {"env_idx": 0})
        deadline = time.monotonic() + 120
        while reset_ahead and time.monotonic() < deadline and not daemon.env_health(0)["warm"]:
            time.sleep(0.2)
    client.close()
    return latencies


def rss_mib(pid: int) -> float:
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True,
                         timeout=10).stdout
    return int(out.strip() or 0) / 1024


def run(args: argparse.Namespace) -> list[str]:
    rows = ["| measure | baseline | ours | ratio |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="episode-bench-") as tmp:
        fast = bench_daemon(Path(tmp) / "fast", envs=8, preset="fast", reset_ahead=False)
        try:
            if "a" in args.only:
                seed = episode_bytes(fast, "seed")
                for mode in ("delta+png", "delta+jpeg q85", "delta+jpeg q70"):
                    ours = episode_bytes(fast, mode)
                    rows.append(f"| (a) bytes per 15-step episode, seed protocol vs {mode} | "
                                f"{seed / 1e6:.1f} MB | {ours / 1e6:.2f} MB | 1/{seed / ours:.0f} |")
            if "b" in args.only or "c" in args.only:
                runs = {envs: step_overheads(fast, envs, args.steps) for envs in (1, 4, 8)}
                for envs in (4, 8):
                    for name, pct in (("p50", 50), ("p95", 95)):
                        base, ours = percentile(runs[1][0], pct), percentile(runs[envs][0], pct)
                        rows.append(f"| (b) daemon overhead per step {name}, 1 env vs {envs} envs | "
                                    f"{base:.1f} ms | {ours:.1f} ms | {ours / base:.2f}x |")
                single, batch = statistics.median(runs[1][1]), statistics.median(runs[8][1])
                rows.append(f"| (c) fast preset: step time, 1 env vs batch of 8 envs (median) | "
                            f"{single:.1f} ms | {batch:.1f} ms | {batch / single:.2f}x |")
            if "e" in args.only:
                workers = fast.worker_pids()
                per_worker = [rss_mib(pid) for pid in workers]
                rows.append(f"| (e) resident memory: daemon vs each worker (mean of {len(workers)}) | "
                            f"{rss_mib(fast.proc.pid):.0f} MiB | "
                            f"{statistics.mean(per_worker or [0]):.0f} MiB | "
                            f"total {rss_mib(fast.proc.pid) + sum(per_worker):.0f} MiB |")
        finally:
            fast.stop()
        if "c" in args.only:
            realistic = bench_daemon(Path(tmp) / "realistic8", envs=8, preset="realistic", reset_ahead=False)
            try:
                _, one_batches = step_overheads(realistic, 1, 5)
                _, eight_batches = step_overheads(realistic, 8, 5)
                single, batch = statistics.median(one_batches), statistics.median(eight_batches)
                rows.append(f"| (c) realistic preset: step time, 1 env vs batch of 8 envs (median) | "
                            f"{single:.0f} ms | {batch:.0f} ms | {batch / single:.2f}x |")
            finally:
                realistic.stop()
        if "d" in args.only:
            cold_daemon = bench_daemon(Path(tmp) / "cold", envs=1, preset="realistic", reset_ahead=False)
            warm_daemon = bench_daemon(Path(tmp) / "warm", envs=1, preset="realistic", reset_ahead=True)
            try:
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    cold_f = pool.submit(reset_latencies, cold_daemon, args.episodes, False)
                    warm_f = pool.submit(reset_latencies, warm_daemon, args.episodes + 1, True)
                    cold, warm = cold_f.result(), warm_f.result()[1:]   # the first warm-daemon reset is cold
                rows.append(f"| (d) reset latency (realistic preset, median of {args.episodes}), cold vs "
                            f"reset-ahead | {statistics.median(cold):.1f} s | "
                            f"{statistics.median(warm):.2f} s | "
                            f"{statistics.median(warm) / statistics.median(cold):.2f}x |")
            finally:
                cold_daemon.stop()
                warm_daemon.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="a,b,c,d,e", help="comma-separated subset of a,b,c,d,e")
    parser.add_argument("--steps", type=int, default=20, help="steps per env for (b) and (c)")
    parser.add_argument("--episodes", type=int, default=3, help="resets per mode for (d)")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    print("\n".join(run(args)))


if __name__ == "__main__":
    main()
