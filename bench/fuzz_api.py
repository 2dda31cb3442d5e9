"""The large fuzz of the live API: tests/security/test_fuzz.py's random requests (valid token; random methods,
paths, headers, bodies), many more of them, and the status codes they got.

    .venv/bin/python bench/fuzz_api.py                    # 10,000 requests, 2 simulated envs (~20 minutes)
    .venv/bin/python bench/fuzz_api.py --requests 2000

Pass: no 5xx, no JSON-less answer, no worker restarted, every env runs a normal episode afterwards. Loopback
only; the daemon and its simulated VMs are stopped at the end.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.security.conftest import run_episode  # noqa: E402  (the bench runs from a checkout)
from tests.security.test_fuzz import fuzz  # noqa: E402
from tests.support import DaemonProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    counts: collections.Counter = collections.Counter()
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-api-"))
    daemon = DaemonProcess(workdir, envs=2).start()
    failure, seen_5xx = None, []
    started = time.monotonic()
    try:
        pids = daemon.worker_pids()
        try:
            fuzz(daemon, args.requests, counts, seen_5xx)
        except Exception as exc:                    # hypothesis re-raises the shrunk failing example
            failure = exc
        restarted = daemon.worker_pids() != pids
        daemon.wait_for(lambda: all(env["phase"] != "recovering" and not env["busy"] for env in
                                    daemon.health()["envs"]), 300, "every env idle")
        scores = [run_episode(daemon, env_idx) for env_idx in range(2)]
    finally:
        daemon.stop()
    elapsed = time.monotonic() - started
    print(f"{sum(counts.values())} requests in {elapsed:.0f} s; status counts: "
          f"{dict(sorted(counts.items(), key=str))}")
    print(f"workers restarted: {restarted}; episodes afterwards: {scores}; "
          f"first failure: {failure or 'none'}")
    if failure or restarted or scores != [1.0, 1.0]:
        for method, path, body, answer in seen_5xx[:3]:
            print(f"5xx or no answer: {method} {path} {body!r:.2000} -> {answer!r}")
        print(f"failed; the daemon's log: {daemon.log_path}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
