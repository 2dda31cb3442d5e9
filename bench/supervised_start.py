"""Supervised start-up and memory: time from `supervisord -c supervisord.conf` to a healthy /health on the
fast simulator, and the resident memory of the supervised tree (supervisord + daemon + its four VM workers +
the tunnel, which keeps trying an SSH server that does not exist) after one reset on every env. Simulated
guests run in their own sessions, outside the tree, as real VMs would.

    .venv/bin/python bench/supervised_start.py [--runs 3]

Uses the checkout's own supervisord.conf through a temp directory (symlinks to it and to .venv, own configs/
and run/), so a supervisord already running from this checkout is not disturbed. Loopback only; cleans up
after itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from daemon.simulator import stop_all

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))                            # the tests' sandbox: the same set-up the tests use

from tests.ops.sandbox import VENV, make_here  # noqa: E402
from tests.support import free_port  # noqa: E402


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return json.load(answer)
    except OSError:
        return None


def tree_rss_kib(root_pid: int) -> tuple[int, int]:
    """(processes, resident KiB) of root_pid and all its descendants, from ps (Linux and macOS)."""
    rows = [line.split() for line in subprocess.run(["ps", "-A", "-o", "pid=,ppid=,rss="],
                                                    capture_output=True, text=True, check=True,
                                                    timeout=10).stdout.splitlines()]
    children: dict[int, list[int]] = {}
    for pid, ppid, _ in rows:
        children.setdefault(int(ppid), []).append(int(pid))
    rss_of = {int(pid): int(rss) for pid, _, rss in rows}
    total, count, todo = 0, 0, [root_pid]
    while todo:
        pid = todo.pop()
        total, count = total + rss_of.get(pid, 0), count + 1
        todo.extend(children.get(pid, []))
    return count, total


def reset_every_env(here: Path, port: int) -> None:
    """One reset per env, so each worker has done real work
    (images, guest client) before memory is measured."""
    task = (ROOT / "daemon" / "simulator" / "tasks" / "type_and_save.json").read_text()
    token = (here / "run" / "auth-token").read_text().strip()
    for env_idx in range(4):
        body = json.dumps({"env_idx": env_idx, "task_config": json.loads(task)}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/env/reset", body,
                                         {"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()


def one_run(workdir: Path) -> tuple[float, int, int]:
    port = free_port()
    here = make_here(workdir, port)
    ctl = [str(VENV / "bin" / "supervisorctl"), "-c", str(here / "supervisord.conf")]
    started = time.monotonic()
    subprocess.run([str(VENV / "bin" / "supervisord"), "-c", str(here / "supervisord.conf")],
                   check=True, timeout=30)
    try:
        deadline = started + 120
        while health(port) is None:
            if time.monotonic() > deadline:
                raise SystemExit("no /health within 120 s; see " + str(here / "run" / "logs" / "daemon.log"))
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        reset_every_env(here, port)
        time.sleep(5)                             # settle: the tunnel past startsecs, its first attempts made
        pid = int((here / "run" / "supervisord.pid").read_text())
        count, rss = tree_rss_kib(pid)
        return elapsed, count, rss
    finally:
        subprocess.run(ctl + ["shutdown"], capture_output=True, timeout=120)
        stop_all(here / "run" / "sim")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times, rss = [], []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as workdir:
            elapsed, count, kib = one_run(Path(workdir))
        times.append(elapsed)
        rss.append(kib)
        print(f"run {n + 1}: supervisord start -> /health 200 in {elapsed:.2f} s; "
              f"supervised tree: {count} processes, {kib / 1024:.0f} MiB resident")
    print(f"median start -> healthy: {statistics.median(times):.2f} s; median tree RSS: "
          f"{statistics.median(rss) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
