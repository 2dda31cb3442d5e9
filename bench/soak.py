"""Soak: episodes from concurrent clients for a long time on the simulated VMware,
with faults injected at a rate.

    .venv/bin/python bench/soak.py --minutes 5 --episodes 300                      # a short proof run
    .venv/bin/python bench/soak.py --minutes 240 --episodes 2000 --fault-interval 15 --json soak.json

The daemon runs under a real supervisord with the checkout's own supervisord.conf, in a temp directory (the
tests' sandbox: symlinks to supervisord.conf and .venv, its own configs/ and run/), on the fast simulated
preset, without a tunnel config. One client thread per env runs episodes like the trainer: reset -> type,
save, finish (episode_id and step_idx on every step) -> evaluate; it retries 503 after Retry-After and a
refused connection (the daemon restarting) before an episode starts, and counts any other failure as a lost
episode. Every --fault-interval seconds (jittered) the injector picks a fault kind (--faults, with weights)
and an env without an unrecovered fault:

  worker_kill   SIGKILL to the env's worker process (pid from /health)
  guest_stop    SIGSTOP to the env's simulated guest, SIGCONT after --stop-seconds
                (a frozen VM: no FIN, no answer)
  guest_500     the guest answers 500 to its next /execute
  guest_kill    the guest process dies; vmrun still lists the VM as running
  daemon_kill   SIGKILL to the daemon; supervisord restarts it (only when no other fault is unrecovered)

A fault is recovered when its env (every env, for daemon_kill) completes a reset that began after the
injection; the time from injection to that reset's answer is its recovery time. A lost episode is put down to
the latest fault injected on its env (or the daemon) within --attribution-seconds before the loss, else
"unattributed" (a loss no fault explains: worth reading in the daemon log, kept with --keep). At the end,
after a grace period, each env must be idle (not busy, not recovering or broken) and serve one more reset, or
it counts as stuck. Memory (RSS) and open descriptors of the daemon and its workers come from /proc (Linux)
after warm-up, every --sample-seconds, and at the end. Sends `Authorization: Bearer` when the daemon keeps a
token in run/auth-token. Loopback only; bounded in time and count; supervisord, the daemon, its workers and
the simulated guests are stopped at the end.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.simulator import crash_vm, machines, set_faults, stop_all  # noqa: E402
from tests.ops.sandbox import Supervised, auth_headers, clean_env, make_here, wait_for  # noqa: E402
from tests.support import free_port  # noqa: E402

TASK = json.loads((ROOT / "daemon" / "simulator" / "tasks" / "type_and_save.json").read_text())
PREDICTIONS = ["Thought: type it.\nAction: type(content='hello world')",
               "Thought: save.\nAction: hotkey(key='ctrl s')",
               "Thought: done.\nAction: finished(content='saved')"]
KINDS = ("worker_kill", "guest_stop", "guest_500", "guest_kill", "daemon_kill")
SERVING_PHASES = {"idle", "ready", "running", "done"}
MAX_RETRY_WAIT = 120.0                   # per request: how long 503s / refused connections are retried


class Lost(Exception):
    """The episode is lost: at which call (reset, step 2, evaluate) and why
    (status and error code, or the OSError)."""

    def __init__(self, call: str, why: str, abandoned: bool = False):
        super().__init__(f"{call}: {why}")
        self.call, self.why = call, why
        self.abandoned = abandoned           # the run ended while the call was being retried: not counted


# --- HTTP ---------------------------------------------------------------------------------------------------
class Api:
    def __init__(self, port: int, run_dir: Path, timeout: float):
        self.port, self.run_dir, self.timeout = port, run_dir, timeout

    def call(self, method: str, path: str, body: dict | None = None, timeout: float | None = None):
        """(status, headers, decoded JSON or None); raises OSError or HTTPException when the daemon is
        gone."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout)
        headers = {"Content-Type": "application/json", **auth_headers(self.run_dir)}
        try:
            conn.request(method, path, None if body is None else json.dumps(body).encode(), headers)
            answer = conn.getresponse()
            raw = answer.read()
        finally:
            conn.close()
        try:
            return answer.status, dict(answer.getheaders()), json.loads(raw)
        except ValueError:
            return answer.status, dict(answer.getheaders()), None

    def health(self) -> dict | None:
        try:
            status, _, body = self.call("GET", "/health", timeout=5)
        except (OSError, http.client.HTTPException):
            return None
        return body if status == 200 and isinstance(body, dict) and "envs" in body else None

    def post(self, call: str, path: str, body: dict, stop: threading.Event,
             retry_refused: bool = False) -> dict:
        """POST; 503 is retried after Retry-After, and a refused connection too when retry_refused (bounded);
        the answer of a 200, else Lost."""
        deadline = time.monotonic() + MAX_RETRY_WAIT
        while True:
            try:
                status, headers, answer = self.call("POST", path, body)
            except ConnectionRefusedError:
                if not retry_refused or time.monotonic() > deadline or stop.is_set():
                    raise Lost(call, "connection refused", retry_refused and stop.is_set()) from None
                time.sleep(0.5)
                continue
            except (OSError, http.client.HTTPException) as exc:
                raise Lost(call, type(exc).__name__) from None
            if status == 200:
                return answer
            if status != 503 or time.monotonic() > deadline or stop.is_set():
                raise Lost(call, f"{status} {error_code(answer)}", status == 503 and stop.is_set())
            time.sleep(min(float(headers.get("Retry-After", 1)), 10.0))


def error_code(answer) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("code"))
    return "?"


# --- bookkeeping --------------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    env: int | None                      # None: the daemon (every env)
    injected: float
    waiting: set[int]                    # envs that have not yet served a reset begun after the injection
    recovered: float | None = None
    wall: float = field(default_factory=time.time)   # to find it in the daemon log


@dataclass
class Tally:
    completed: int = 0
    score_ok: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    lost_errors: dict[str, int] = field(default_factory=dict)
    unattributed: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    @property
    def episodes(self) -> int:
        return self.completed + sum(self.lost.values())


class Ledger:
    """Faults and episodes, shared by the client threads and the injector."""

    def __init__(self, envs: int, attribution_seconds: float):
        self.envs, self.attribution_seconds = envs, attribution_seconds
        self.lock = threading.Lock()
        self.tally = Tally()

    def pending(self) -> list[Fault]:
        return [fault for fault in self.tally.faults if fault.recovered is None]

    def add_fault(self, kind: str, env: int | None) -> Fault:
        fault = Fault(kind, env, time.monotonic(), set(range(self.envs)) if env is None else {env})
        with self.lock:
            self.tally.faults.append(fault)
        return fault

    def reset_served(self, env: int, began: float) -> None:
        now = time.monotonic()
        with self.lock:
            for fault in self.pending():
                if env in fault.waiting and began >= fault.injected:
                    fault.waiting.discard(env)
                    if not fault.waiting:
                        fault.recovered = now

    def completed(self, score) -> None:
        with self.lock:
            self.tally.completed += 1
            self.tally.score_ok += score == 1.0

    def lost(self, env: int, loss: Lost) -> None:
        now = time.monotonic()
        with self.lock:
            hits = [f for f in self.tally.faults if f.env in (env, None) and 0 <= now - f.injected
                    <= self.attribution_seconds]
            kind = hits[-1].kind if hits else "unattributed"
            self.tally.lost[kind] = self.tally.lost.get(kind, 0) + 1
            label = f"{loss.call.split()[0]}: {loss.why}"
            self.tally.lost_errors[label] = self.tally.lost_errors.get(label, 0) + 1
            if kind == "unattributed" and len(self.tally.unattributed) < 20:
                self.tally.unattributed.append(f"env {env}: {loss}")


# --- clients ------------------------------------------------------------------------------------------------
def run_episode(api: Api, env: int, ledger: Ledger, stop: threading.Event) -> None:
    began = time.monotonic()
    answer = api.post("reset", "/env/reset", {"task_config": TASK, "env_idx": env}, stop, retry_refused=True)
    ledger.reset_served(env, began)
    episode = {"env_idx": env, "episode_id": answer["episode_id"]}
    for step_idx, prediction in enumerate(PREDICTIONS):
        api.post(f"step {step_idx}", "/env/step", {**episode, "prediction": prediction, "step_idx": step_idx},
                 stop)
    ledger.completed(api.post("evaluate", "/env/evaluate", episode, stop))


def client(api: Api, env: int, ledger: Ledger, stop: threading.Event, max_episodes: int) -> None:
    while not stop.is_set():
        try:
            run_episode(api, env, ledger, stop)
        except Lost as exc:
            if not exc.abandoned:
                ledger.lost(env, exc)
            time.sleep(0.2)                          # no hot loop against an env that refuses
        if ledger.tally.episodes >= max_episodes:
            stop.set()


# --- faults -------------------------------------------------------------------------------------------------
def descendant_of(pid: int, root: int) -> bool:
    """pid is root or one of its descendants (/proc): only processes this run started are signalled."""
    for _ in range(64):
        if pid == root:
            return True
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return False
        pid = int(status.split("PPid:")[1].split()[0])
        if pid <= 1:
            return False
    return False


def guest_pid(home: Path, env: int) -> int | None:
    """The simulated guest of env when it runs (its command line names this run's vmx), else None."""
    machine = machines(home)[env]
    pid = machine.state().get("pid")
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") if pid else ""
    except OSError:
        return None
    return pid if str(machine.vmx) in cmdline else None


class Injector:
    def __init__(self, args, supervised: Supervised, api: Api, ledger: Ledger, home: Path):
        self.args, self.supervised, self.api, self.ledger, self.home = args, supervised, api, ledger, home
        self.weights = parse_weights(args.faults)
        self.stopped_guests: dict[int, threading.Timer] = {}
        self.skipped = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.args.fault_interval * random.uniform(0.5, 1.5)):
            kind, env = self.choose()
            if kind is None:
                self.skipped += 1
                continue
            if getattr(self, kind)(env):
                self.ledger.add_fault(kind, None if kind == "daemon_kill" else env)

    def choose(self) -> tuple[str | None, int | None]:
        with self.ledger.lock:
            pending = self.ledger.pending()
        busy = {env for fault in pending for env in fault.waiting}
        kinds = [k for k in self.weights if k != "daemon_kill" or not pending]
        free = [env for env in range(self.args.envs) if env not in busy]
        if not kinds or not free:
            return None, None
        return random.choices(kinds, [self.weights[k] for k in kinds])[0], random.choice(free)

    def worker_kill(self, env: int) -> bool:
        health = self.api.health()
        pid = health["envs"][env].get("pid") if health else None
        if not pid or not descendant_of(pid, self.supervised.supervisord_pid):
            return False
        os.kill(pid, signal.SIGKILL)
        return True

    def guest_stop(self, env: int) -> bool:
        pid = guest_pid(self.home, env)
        if pid is None:
            return False
        os.kill(pid, signal.SIGSTOP)
        timer = threading.Timer(self.args.stop_seconds, self.guest_continue, (env, pid))
        self.stopped_guests[env] = timer
        timer.start()
        return True

    def guest_continue(self, env: int, pid: int) -> None:
        self.stopped_guests.pop(env, None)
        if guest_pid(self.home, env) == pid:            # still that guest, not a pid reused since
            os.kill(pid, signal.SIGCONT)

    def continue_all(self) -> None:
        for env, timer in list(self.stopped_guests.items()):
            timer.cancel()
            self.guest_continue(env, timer.args[1])

    def guest_500(self, env: int) -> bool:
        set_faults(self.home, vm=env, execute_500=1)
        return True

    def guest_kill(self, env: int) -> bool:
        if guest_pid(self.home, env) is None:
            return False
        crash_vm(self.home, env)
        return True

    def daemon_kill(self, env: int) -> bool:
        pid = self.supervised.pid("osworld:daemon")
        if not pid or not descendant_of(pid, self.supervised.supervisord_pid):
            return False
        os.kill(pid, signal.SIGKILL)
        return True


def parse_weights(text: str) -> dict[str, float]:
    weights = {}
    for item in filter(None, text.split(",")):
        kind, _, weight = item.partition("=")
        if kind not in KINDS:
            raise SystemExit(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        weights[kind] = float(weight or 1)
    return weights


# --- resources ----------------------------------------------------------------------------------------------
def proc_usage(pid: int) -> tuple[int, int] | None:
    """(resident KiB, open descriptors) of pid from /proc, or None when it is gone or /proc is absent."""
    try:
        rss = int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, IndexError):
        return None


def resource_sample(supervised: Supervised, api: Api, started: float) -> dict:
    health = api.health() or {"envs": []}
    workers = [usage for usage in (proc_usage(env["pid"]) for env in health["envs"] if env.get("pid"))
               if usage]
    daemon_pid = supervised.pid("osworld:daemon")
    daemon = proc_usage(daemon_pid)
    return {"t": round(time.monotonic() - started, 1), "daemon_pid": daemon_pid,
            "daemon_rss_kib": daemon[0] if daemon else None, "daemon_fds": daemon[1] if daemon else None,
            "workers": len(workers), "worker_rss_kib_mean": mean([w[0] for w in workers]),
            "worker_rss_kib_max": max([w[0] for w in workers], default=None),
            "worker_fds_mean": mean([w[1] for w in workers]), "worker_fds_max": max([w[1] for w in workers],
                                                                                    default=None)}


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def sampler(supervised, api, started, samples: list, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        samples.append(resource_sample(supervised, api, started))


# --- the end: stuck envs ------------------------------------------------------------------------------------
def serving(env: dict) -> bool:
    return not env.get("busy") and env.get("phase") in SERVING_PHASES


def stuck_envs(api: Api, ledger: Ledger, envs: int, grace: float) -> dict[int, str]:
    """Envs that are not serving after the grace period, or that fail one more reset: {env: why}. That reset
    also closes the faults injected last (their recovery time counts from the injection, as any other)."""
    try:
        wait_for(lambda: (h := api.health()) and all(serving(e) for e in h["envs"]), grace, "every env idle",
                 1.0)
    except AssertionError:
        pass
    health = api.health() or {"envs": [{}] * envs}
    stuck = {i: f"phase {e.get('phase')}, busy {e.get('busy')}" for i, e in enumerate(health["envs"])
             if not serving(e)}
    never = threading.Event()
    for env in range(envs):
        if env in stuck:
            continue
        began = time.monotonic()
        try:
            api.post("final reset", "/env/reset", {"task_config": TASK, "env_idx": env}, never,
                     retry_refused=True)
            ledger.reset_served(env, began)
        except Lost as exc:
            stuck[env] = str(exc)
    return stuck


# --- report -------------------------------------------------------------------------------------------------
def fault_summary(faults: list[Fault]) -> dict:
    out = {}
    for kind in sorted({f.kind for f in faults}):
        times = [f.recovered - f.injected for f in faults if f.kind == kind and f.recovered is not None]
        out[kind] = {"injected": sum(f.kind == kind for f in faults), "recovered": len(times),
                     "recovery_median_s": round(statistics.median(times), 2) if times else None,
                     "recovery_worst_s": round(max(times), 2) if times else None}
    return out


def fault_events(faults: list[Fault]) -> list[dict]:
    return [{"kind": f.kind, "env": f.env, "at": time.strftime("%H:%M:%S", time.localtime(f.wall)),
             "recovery_s": None if f.recovered is None else round(f.recovered - f.injected, 2)}
            for f in faults]


def report(args, tally: Tally, stuck: dict, samples: list, wall: float, skipped: int) -> dict:
    return {"config": vars(args), "wall_seconds": round(wall, 1),
            "episodes": {"total": tally.episodes, "completed": tally.completed, "score_1": tally.score_ok,
                         "lost": sum(tally.lost.values()), "lost_by_fault": tally.lost,
                         "lost_by_error": tally.lost_errors, "unattributed_examples": tally.unattributed},
            "faults": fault_summary(tally.faults), "injections_skipped_all_envs_recovering": skipped,
            "fault_events": fault_events(tally.faults),
            "stuck_envs": {str(k): v for k, v in stuck.items()},
            "resources": {"start": samples[0] if samples else None, "end": samples[-1] if samples else None,
                          "samples": samples}}


def print_table(result: dict) -> None:
    episodes = result["episodes"]
    print(f"\nsoak: {result['wall_seconds']:.0f} s, {result['config']['envs']} envs, fault every "
          f"~{result['config']['fault_interval']} s")
    print(f"episodes: {episodes['total']} ({episodes['completed']} completed, "
          f"{episodes['score_1']} scored 1.0, "
          f"{episodes['lost']} lost)")
    print(f"\n{'fault':<13} {'injected':>8} {'recovered':>9} {'lost eps':>8} {'recovery median':>15} "
          f"{'worst':>8}")
    kinds = sorted(set(result["faults"]) | set(episodes["lost_by_fault"]))
    for kind in kinds:
        fault = result["faults"].get(kind, {})
        median, worst = fault.get("recovery_median_s"), fault.get("recovery_worst_s")
        print(f"{kind:<13} {fault.get('injected', 0):>8} {fault.get('recovered', 0):>9} "
              f"{episodes['lost_by_fault'].get(kind, 0):>8} "
              f"{'-' if median is None else f'{median:.2f} s':>15} "
              f"{'-' if worst is None else f'{worst:.2f} s':>8}")
    print(f"\nstuck envs at the end: {len(result['stuck_envs'])} {result['stuck_envs'] or ''}")
    print(f"processes left after shutdown: {len(result['leftover_processes'])} "
          f"{result['leftover_processes'] or ''}")
    start, end = result["resources"]["start"], result["resources"]["end"]
    if start and end:
        print(f"\n{'resource':<24} {'start':>10} {'end':>10}")
        for key in ("daemon_pid", "daemon_rss_kib", "daemon_fds", "workers", "worker_rss_kib_mean",
                    "worker_rss_kib_max", "worker_fds_mean", "worker_fds_max"):
            print(f"{key:<24} {str(start[key]):>10} {str(end[key]):>10}")
    for line in episodes["unattributed_examples"][:5]:
        print(f"unattributed loss: {line}")


# --- main ---------------------------------------------------------------------------------------------------
def sandbox(root: Path, envs: int) -> tuple[Path, int]:
    port = free_port()
    here = make_here(root, port)
    sim_yaml = here / "configs" / "sim.yaml"
    config = json.loads(sim_yaml.read_text())
    config["simulator"].update(count=envs, preset="fast")
    sim_yaml.write_text(json.dumps(config))
    (here / "configs" / "tunnel.yaml").unlink()          # the tunnel waits, not configured: no SSH retries
    return here, port


def warm_up(api: Api, ledger: Ledger, envs: int, timeout: float) -> None:
    wait_for(lambda: (h := api.health()) and all(e.get("pid") for e in h["envs"]), timeout, "every worker")
    wait_for(lambda: ledger.tally.completed >= envs, timeout, "as many completed episodes as envs", 0.5)


def soak(args, root: Path) -> dict:
    here, port = sandbox(root, args.envs)
    supervised = Supervised(here, port, clean_env())
    api = Api(port, here / "run", args.request_timeout)
    ledger = Ledger(args.envs, args.attribution_seconds)
    stop = threading.Event()
    started = time.monotonic()
    supervised.start()
    injector = Injector(args, supervised, api, ledger, here / "run" / "sim")
    try:
        clients = [threading.Thread(target=client, args=(api, env, ledger, stop, args.episodes), daemon=True)
                   for env in range(args.envs)]
        wait_for(api.health, 120, "/health of the supervised daemon")
        for thread in clients:
            thread.start()
        warm_up(api, ledger, args.envs, 120)
        samples = [resource_sample(supervised, api, started)]
        threads = [threading.Thread(target=injector.run, args=(stop,), daemon=True),
                   threading.Thread(target=sampler, args=(supervised, api, started, samples, stop,
                                                          args.sample_seconds), daemon=True)]
        for thread in threads:
            thread.start()
        stop.wait(max(0.0, args.minutes * 60 - (time.monotonic() - started)))
        stop.set()
        injector.continue_all()
        for thread in clients + threads:
            thread.join(args.request_timeout + MAX_RETRY_WAIT)
        stuck = stuck_envs(api, ledger, args.envs, args.grace)
        samples.append(resource_sample(supervised, api, started))
        result = report(args, ledger.tally, stuck, samples, time.monotonic() - started, injector.skipped)
    finally:
        stop.set()
        injector.continue_all()
        supervised.shutdown()
        stop_all(here / "run" / "sim")
    result["leftover_processes"] = end_leftovers(root)
    return result


def processes_of(root: Path) -> list[int]:
    """Live processes whose command line names this run's temp directory
    (workers, guests, vmrun-sim calls)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if str(root).encode() in (entry / "cmdline").read_bytes() and int(entry.name) != os.getpid():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def end_leftovers(root: Path, wait: float = 15.0) -> list[str]:
    """After shutdown nothing of this run may be left: report what still runs after `wait` s, then SIGKILL it
    (all of it was started by this run: its command line names the run's temp directory)."""
    try:
        wait_for(lambda: not processes_of(root), wait, "this run's processes to end", 0.5)
        return []
    except AssertionError:
        pass
    left = []
    for pid in processes_of(root):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            left.append(f"{pid}: {command[:200]}")
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
    return left


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-time bound of the episode phase")
    parser.add_argument("--episodes", type=int, default=500,
                        help="stop once this many episodes ended (any way)")
    parser.add_argument("--envs", type=int, default=4, help="simulated VMs, one client thread each")
    parser.add_argument("--fault-interval", type=float, default=15.0, help="mean seconds between injections")
    parser.add_argument("--faults",
                        default="worker_kill=2,guest_stop=2,guest_500=2,guest_kill=2,daemon_kill=1",
                        help="kinds to inject, each with an optional weight")
    parser.add_argument("--stop-seconds", type=float, default=30.0,
                        help="how long a SIGSTOPped guest stays frozen")
    parser.add_argument("--attribution-seconds", type=float, default=60.0,
                        help="a loss this soon after a fault on its env is put down to that fault")
    parser.add_argument("--request-timeout", type=float, default=320.0, help="client timeout of one request")
    parser.add_argument("--grace", type=float, default=180.0,
                        help="at the end: how long envs may take to settle")
    parser.add_argument("--sample-seconds", type=float, default=60.0,
                        help="memory/descriptor sampling period")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp directory (logs) and print its path")
    parser.add_argument("--seed", type=int, help="random seed of the injector")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    random.seed(args.seed)
    root = Path(tempfile.mkdtemp(prefix="osworld-soak-"))
    try:
        result = soak(args, root)
    finally:
        if args.keep:
            print(f"kept: {root} (daemon log: {root / 'here' / 'run' / 'logs' / 'daemon.log'})")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_table(result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("resources", "fault_events")}
                     | {"resources": {"start": result["resources"]["start"],
                                      "end": result["resources"]["end"]}},
                     indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    sys.exit(1 if result["stuck_envs"] or result["leftover_processes"] else 0)


if __name__ == "__main__":
    main()
