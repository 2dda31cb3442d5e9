"""The pool: one worker subprocess per VM, spawned, watched and replaced from the daemon's event loop.

One operation per env at a time (a second is refused, not queued: the trainer's request would otherwise time
out behind it), with two exceptions a retrying client needs: a repeated evaluate attaches to the one in flight
and gets its answer, and a reset arriving while an evaluate runs waits for it (bounded by the evaluate's
deadline). Every operation has a deadline; a worker that overruns it or dies is killed and replaced, the
waiting request is answered with a clear error, and the new worker brings its VM back to a known-good state
while the env answers 503 "recovering". A worker that reports its guest lost keeps running and recovers its VM
the same way. Recovery never dies (a failed spawn is one failed attempt of a bounded, logged series), and a
watchdog recovers any env found neither serving nor recovering. Nothing here blocks the event loop, and envs
share no lock.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import subprocess
import sys
import time

from tornado.iostream import PipeIOStream, StreamClosedError

from .config import find_vmrun
from .errors import RETRY_AFTER, WORKER_CRASHED, DaemonError, Reply, error_reply
from .logs import env_logger
from .vm.records import VmRecords, stop_unconfigured
from .worker import protocol
from .worker.states import Phase, transition

POOL_PHASES = (Phase.RECOVERING, Phase.BROKEN)      # the pool's own: /health shows them, not the worker's
PIPE_BUFFER = 1 << 30                    # a full-history answer with PNGs can be tens of MB
STOP_GRACE = 5.0


class WorkerHandle:
    """The daemon's side of one worker process."""

    def __init__(self, env_idx: int, config_path: str):
        self.env_idx = env_idx
        self.config_path = config_path
        self.process: subprocess.Popen | None = None
        self.stdin: PipeIOStream | None = None
        self.stdout: PipeIOStream | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.state: dict = {"episode_id": None, "steps": 0, "warm": False, "last_error": None}  # worker's
        self.phase = Phase.STARTING             # the worker's phase, or the pool's own (POOL_PHASES)
        self.busy: str | None = None            # the operation in flight
        self.in_flight: asyncio.Future | None = None    # its reply, for requests that attach or wait
        self.stopping = False
        self.recovery: asyncio.Task | None = None
        self.recovery_reason: str | None = None
        self.broken_since = 0.0
        self.log = env_logger("daemon.pool", env_idx)
        self.on_lost = lambda handle: None       # set by the pool: a worker that died while idle is replaced
        # set by the pool: a screenshot after its answer
        self.on_frame = lambda env_idx, header, image: None

    def spawn(self, adopt: bool = False) -> None:
        """Start the worker process; OSError when it cannot be started (e.g. EMFILE)."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daemon.worker", "--config", self.config_path,
             "--env-idx", str(self.env_idx), *(["--adopt"] if adopt else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, close_fds=True)
        self.stdin = PipeIOStream(os.dup(self.process.stdin.fileno()))
        self.stdout = PipeIOStream(os.dup(self.process.stdout.fileno()), max_buffer_size=PIPE_BUFFER)
        self.process.stdin.close()
        self.process.stdout.close()
        if self.phase is Phase.STARTING:
            self.set_phase(Phase.IDLE)
        asyncio.ensure_future(self._read_frames(self.process, self.stdout))
        self.log.info("worker started, pid %d", self.process.pid)

    async def _read_frames(self, process: subprocess.Popen, stream: PipeIOStream) -> None:
        try:
            while True:
                header_len, body_len = protocol.decode_prefix(await stream.read_bytes(protocol.PREFIX.size))
                header = json.loads(await stream.read_bytes(header_len))
                body = await stream.read_bytes(body_len) if body_len else b""
                self.receive(header, body)
        except (StreamClosedError, protocol.ProtocolError, ValueError) as exc:
            if process is self.process and not self.stopping:
                self.log.warning("worker pid %d went away (%s)", process.pid, type(exc).__name__)
                self.went_away()

    def receive(self, header: dict, body: bytes) -> None:
        """One frame from the worker: a screenshot, a state change, an answer (or all three)."""
        if "frame_of" in header:
            self.on_frame(self.env_idx, header, body)
        if header.get("state"):
            self.state = header["state"]
            if self.phase not in POOL_PHASES:
                self.set_phase(Phase(self.state["phase"]))
        future = self.pending.pop(header.get("id"), None)
        if future is not None and not future.done():
            future.set_result(Reply(header.get("status", 500), body, header.get("headers") or {},
                                    header.get("report"), header.get("code")))

    def went_away(self) -> None:
        """The worker process is gone: the operation waiting for it fails, or, idle, the pool replaces it."""
        if self.pending:
            self._fail_pending("worker_died", "the env's worker process died during the operation")
        else:
            self.on_lost(self)

    def set_phase(self, phase: Phase) -> None:
        self.phase = transition(self.log, self.phase, phase)

    def recovery_running(self) -> bool:
        return self.recovery is not None and not self.recovery.done()

    def _fail_pending(self, code: str, message: str) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(DaemonError(503, code, message))
        self.pending.clear()

    async def request(self, op: str, args: dict, deadline: float) -> Reply:
        request_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            await self.send({"id": request_id, "op": op, "args": args})
        except StreamClosedError:
            self.pending.pop(request_id, None)
            raise DaemonError(503, "worker_died", "the env's worker process is gone") from None
        try:
            return await asyncio.wait_for(future, deadline)
        except asyncio.TimeoutError:
            self.pending.pop(request_id, None)
            raise DaemonError(503, "worker_timeout", f"the env's worker overran the {op} deadline of "
                              f"{deadline:.0f} s (see vmware.* timeouts and deadlines.* in the config)") \
                from None

    async def send(self, header: dict) -> None:
        await self.stdin.write(protocol.encode(header))

    def kill(self) -> None:
        process = self.process
        self.process = None
        if process is not None and process.poll() is None:
            process.kill()
        for stream in (self.stdin, self.stdout):
            if stream is not None:
                stream.close()
        if process is not None:
            _reap_later(process)

    async def stop(self) -> None:
        """Close stdin (the worker leaves at EOF), wait briefly, then kill."""
        process = self.process
        if process is None:
            return
        self.stopping = True
        if self.stdin is not None:
            self.stdin.close()
        deadline = time.monotonic() + STOP_GRACE
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def health(self) -> dict:
        state = self.state
        return {"env_idx": self.env_idx, "phase": self.phase.value, "episode_id": state.get("episode_id"),
                "steps": state.get("steps", 0), "warm": state.get("warm", False), "busy": self.busy,
                "last_error": state.get("last_error"), "pid": self.process.pid if self.process else None,
                "recovery_reason": self.recovery_reason if self.phase in POOL_PHASES else None}


class Pool:
    def __init__(self, settings, worker_handle=WorkerHandle):
        """worker_handle: the class of each env's handle (a test's fake worker subclasses WorkerHandle)."""
        self.settings = settings
        self.handles = [worker_handle(i, settings.path) for i in range(len(settings.envs))]
        for handle in self.handles:
            handle.on_lost = self._lost_while_idle
            handle.on_frame = lambda *frame: self.on_frame(*frame)
        self.draining = False
        self.watchdog: asyncio.Task | None = None
        self.log = logging.getLogger("daemon.pool")
        self.on_recovery = lambda env_idx, cause: None      # observation hooks: an env's recovery starts,
        self.on_frame = lambda env_idx, header, image: None  # a screenshot arrived (after its answer)

    def start(self) -> None:
        """Spawn every worker (each adopts its VM if a previous daemon left it running), stop the running VMs
        this daemon started that are no longer configured, and start the watchdog."""
        for handle in self.handles:
            try:
                handle.spawn(adopt=True)
            except OSError as exc:
                handle.log.error("worker could not be started (%s); recovering the env", exc)
                self._start_recovery(handle, "spawn_failed")
        asyncio.ensure_future(self._stop_unconfigured_vms())
        self.watchdog = asyncio.ensure_future(self._watch())

    def __len__(self) -> int:
        return len(self.handles)

    async def call(self, env_idx: int, op: str, args: dict) -> Reply:
        handle = self.handles[env_idx]
        if self.draining:
            return error_reply(503, "shutting_down",
                               "the daemon is shutting down; retry against its successor", RETRY_AFTER)
        if handle.busy == "evaluate" and op in ("evaluate", "reset"):
            evaluated = await self._wait_for_evaluate(handle, op)
            if op == "evaluate" and evaluated is not None:
                return evaluated
        if handle.phase in POOL_PHASES:
            broken = handle.phase is Phase.BROKEN
            what = "broken: its VM could not be recovered yet" if broken else "being recovered"
            return error_reply(503, "env_recovering",
                               f"env {env_idx} is {what} ({handle.state.get('last_error')}); "
                               "retry after Retry-After seconds", RETRY_AFTER)
        if handle.busy:
            return error_reply(409, "env_busy", f"env {env_idx} is busy with {handle.busy}; one request per "
                               "env at a time")
        return await self._run(handle, op, args)

    async def _run(self, handle: WorkerHandle, op: str, args: dict) -> Reply:
        handle.busy = op
        finished = handle.in_flight = asyncio.get_running_loop().create_future()
        reply = None
        try:
            reply = await self._request(handle, op, args)
            return reply
        finally:
            handle.busy = handle.in_flight = None
            finished.set_result(reply)

    async def _request(self, handle: WorkerHandle, op: str, args: dict) -> Reply:
        try:
            reply = await handle.request(op, args, self.settings.deadlines[op])
        except DaemonError as exc:                    # the worker died or overran: the pool's own answer
            handle.log.error("%s: %s; replacing the worker", op, exc.message)
            self._replace(handle, exc.code)
            return error_reply(503, exc.code, f"{exc.message}; env {handle.env_idx} is being recovered, "
                               "reset it after Retry-After seconds", RETRY_AFTER)
        if reply.code == WORKER_CRASHED:              # the worker's state is unknown after a bug in it
            self._replace(handle, WORKER_CRASHED)
        elif handle.phase is Phase.GUEST_LOST:
            handle.log.error("%s: the guest stopped answering; recovering the VM", op)
            self._start_recovery(handle, "guest_lost")
        return reply

    async def _wait_for_evaluate(self, handle: WorkerHandle, op: str) -> Reply | None:
        """The reply of the evaluate in flight, waited for within the evaluate deadline (the pool's own bound
        on it); None when it gave none in time. A repeated evaluate answers it; a reset then runs as usual."""
        handle.log.info("%s waits for the evaluate in flight", op)
        try:
            return await asyncio.wait_for(asyncio.shield(handle.in_flight),
                                          self.settings.deadlines["evaluate"])
        except asyncio.TimeoutError:
            return None

    def _lost_while_idle(self, handle: WorkerHandle) -> None:
        if not self.draining and not handle.recovery_running():
            self._replace(handle, "worker_died")

    def _replace(self, handle: WorkerHandle, reason: str) -> None:
        handle.kill()
        self._start_recovery(handle, reason)

    def _start_recovery(self, handle: WorkerHandle, reason: str) -> None:
        if handle.recovery_running():
            return
        self.on_recovery(handle.env_idx, reason)
        if handle.phase is not Phase.BROKEN:         # a broken env stays broken until a recovery works
            handle.set_phase(Phase.RECOVERING)
        handle.recovery_reason = reason
        handle.recovery = asyncio.ensure_future(self._recover(handle))

    async def _recover(self, handle: WorkerHandle) -> None:
        """Respawn the worker if it is gone and bring its VM to a known-good state; back off and retry,
        bounded. Never raises: whatever fails is one failed attempt, logged."""
        backoff = self.settings.pool["recovery_backoff"]
        for attempt, pause in enumerate((0, *backoff)):
            await asyncio.sleep(pause)
            if self.draining:
                return
            try:
                reply = await self._recover_once(handle)
            except Exception as exc:                      # e.g. EMFILE at spawn: the next attempt may work
                reply = error_reply(503, "recovery_failed", f"{type(exc).__name__}: {exc}")
                handle.kill()
            if reply.status == 200:
                handle.set_phase(Phase(handle.state["phase"]))
                handle.log.info("recovered (%s) after %d attempt(s)", handle.recovery_reason, attempt + 1)
                return
            handle.set_phase(Phase.BROKEN)
            handle.log.error("recovery attempt %d/%d failed: %s", attempt + 1, len(backoff) + 1,
                             reply.body[:300].decode("utf-8", "replace"))
        handle.broken_since = time.monotonic()
        handle.log.error("env stays broken after %d recovery attempts; the watchdog tries again in %.0f s, "
                         "or restart the daemon once the VM is fixed", len(backoff) + 1,
                         self.settings.pool["broken_retry_seconds"])

    async def _recover_once(self, handle: WorkerHandle) -> Reply:
        if not handle.alive():
            handle.kill()
            handle.spawn()
        try:
            return await handle.request("recover", {}, self.settings.deadlines["recover"])
        except DaemonError as exc:
            handle.kill()
            return exc.reply()

    async def _watch(self) -> None:
        """Every pool.watchdog_seconds: recover any env that is neither serving nor recovering."""
        while not self.draining:
            await asyncio.sleep(self.settings.pool["watchdog_seconds"])
            for handle in self.handles:
                reason = self._stuck(handle)
                if reason and not self.draining:
                    handle.log.error("watchdog: %s; recovering the env", reason)
                    self._replace(handle, "watchdog")

    def _stuck(self, handle: WorkerHandle) -> str | None:
        """Why an env is neither serving nor recovering, or None when it is fine."""
        if handle.busy or handle.recovery_running():
            return None
        if handle.phase is Phase.RECOVERING:
            return "the env is marked recovering but no recovery runs"
        if handle.phase is Phase.BROKEN:
            waited = time.monotonic() - handle.broken_since
            return (f"broken for {waited:.0f} s" if waited >= self.settings.pool["broken_retry_seconds"]
                    else None)
        if not handle.alive():
            return "the env has no worker process"
        if handle.phase is Phase.GUEST_LOST:
            return "its guest was lost and no recovery runs"
        return None

    async def _stop_unconfigured_vms(self) -> None:
        vmrun = find_vmrun(self.settings.vmware["vmrun"])
        if vmrun is None:
            return
        configured = [env["vmx"] for env in self.settings.envs]
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, stop_unconfigured, VmRecords(self.settings.raw["run_dir"]), configured, vmrun,
                self.settings.vmware["host_type"], self.settings.vmware["command_timeout"], self.log)
        except Exception:                                  # start-up housekeeping must not stop the daemon
            self.log.exception("stopping unconfigured VMs failed")

    def health(self) -> list[dict]:
        return [handle.health() for handle in self.handles]

    def busy_count(self) -> int:
        return sum(1 for handle in self.handles if handle.busy)

    async def drain_and_stop(self, drain_seconds: float) -> None:
        self.draining = True
        if self.watchdog is not None:
            self.watchdog.cancel()
        deadline = time.monotonic() + drain_seconds
        while self.busy_count() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.busy_count():
            self.log.warning("drain bound of %.0f s reached with %d operation(s) in flight; stopping anyway",
                             drain_seconds, self.busy_count())
        await asyncio.gather(*(handle.stop() for handle in self.handles))


def _reap_later(process: subprocess.Popen) -> None:
    """Collect a killed worker's exit status without blocking the loop (no zombies left behind)."""
    async def reap():
        for _ in range(200):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.05)
    try:
        asyncio.get_running_loop().create_task(reap())
    except RuntimeError:
        process.wait(timeout=STOP_GRACE)


