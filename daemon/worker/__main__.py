"""python -m daemon.worker --config FILE --env-idx N: the process that owns one VM.

Reads request frames on stdin, answers on stdout (reserved for frames: everything printed goes to stderr,
which is the daemon's log). When stdin ends, the daemon is gone (even after SIGKILL): stop at once, leave no
vmrun behind.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback

from .. import config, logs
from ..errors import WORKER_CRASHED, DaemonError, Reply
from . import protocol
from .environment import Environment
from .report import OperationReport
from .states import Phase

PARENT_POLL = 1.0


class Worker:
    def __init__(self, env_idx: int, settings, out):
        self.out = out
        self.write_lock = threading.Lock()
        self.requests: queue.Queue = queue.Queue()
        self.daemon_gone = threading.Event()          # stdin ended: the daemon is gone
        self.environment = Environment(env_idx, settings, self.publish_state)
        self.log = logs.env_logger("daemon.worker", env_idx)

    def send(self, header: dict, body: bytes = b"") -> None:
        frame = protocol.encode(header, body)
        with self.write_lock:
            self.out.write(frame)
            self.out.flush()

    def publish_state(self, state: dict) -> None:
        self.send({"id": None, "state": state})

    def read_requests(self, stream) -> None:
        try:
            while (frame := protocol.read_frame(stream)) is not None:
                self.requests.put(frame[0])
        except (protocol.ProtocolError, OSError, ValueError) as exc:
            self.log.error("bad frame from the daemon: %s", exc)
        self.daemon_gone.set()
        self.requests.put(None)

    def serve(self, adopt: bool = False) -> None:
        if adopt:
            self.adopt()
        while (request := self.requests.get()) is not None:
            self.environment.report = OperationReport(request.get("op"))
            answer = self.run(request)
            report = self.environment.report
            self.send({"id": request["id"], "status": answer.status, "state": self.environment.state(),
                       "report": report.header(), **_error_fields(answer)}, answer.body)
            if answer.status == 200 and report.frame:               # after the answer: off its path
                self.send(report.frame_header(request["id"]), report.frame)

    def adopt(self) -> None:
        """Once, before the first request (queued ones wait):
        take over a VM a previous daemon left running."""
        self.environment.start_budget("recover", time.monotonic())
        try:
            self.environment.adopt()
        except DaemonError as exc:
            self.environment.last_error = exc.message
            self.log.error("adopting the running VM failed, the first reset brings it up: %s", exc.message)
        except Exception:                               # a bug must not keep the worker from serving
            self.log.error("adopting the running VM crashed: %s", traceback.format_exc())
        finally:
            self.environment.budget.clear()
            self.environment.set_phase(Phase.IDLE)

    def run(self, request: dict) -> Reply:
        op = request.get("op")
        operation = OPERATIONS.get(op)
        if operation is None:
            return self.refuse(op, DaemonError(400, "bad_request", f"unknown operation {op!r}"))
        if op in self.environment.settings.deadlines:
            self.environment.start_budget(op, time.monotonic())
        try:
            answer = operation(self.environment, request.get("args") or {})
        except DaemonError as exc:
            if exc.status >= 500:
                self.environment.last_error = exc.message
            return self.refuse(op, exc)
        except Exception as exc:                     # a bug: answer clearly, log the traceback, pool recovers
            crash = DaemonError(500, WORKER_CRASHED, f"the worker failed ({type(exc).__name__}: {exc}); "
                                "the env is being recovered", detail=traceback.format_exc())
            return self.refuse(op, crash)
        finally:
            self.environment.budget.clear()
        if op in CLEARS_LAST_ERROR:
            self.environment.last_error = None
        return answer

    def refuse(self, op, exc: DaemonError) -> Reply:
        """Every error answer of the worker is built here, and logged here once: env, episode, step, reason
        (and the detail the answer leaves out: the traceback of a crash or of a bug in an evaluator)."""
        episode = self.environment.episode
        step = len(episode.records) if episode else "-"            # the step index the request was about
        self.environment.log.log(logging.ERROR if exc.status >= 500 else logging.WARNING,
                                 "%s answered %d %s at step %s: %s%s", op, exc.status, exc.code, step,
                                 exc.message, exc.detail and f"\n{exc.detail}")
        return exc.reply()


def _error_fields(answer: Reply) -> dict:
    """What the pool learns of an error answer besides its status: its code and headers (Retry-After)."""
    fields = {"code": answer.code} if answer.code else {}
    return {**fields, "headers": answer.headers} if answer.headers else fields


# a success of these: the env works again (recover clears it itself)
CLEARS_LAST_ERROR = {"reset", "step", "evaluate"}
OPERATIONS = {
    "reset": Environment.reset,
    "step": Environment.step,
    "evaluate": Environment.evaluate,
    "history": Environment.history,
    "recover": lambda environment, args: environment.recover(),
}


def watch_parent(worker: Worker, parent: int) -> None:
    """Belt and braces beside EOF: if the daemon's PID changes (it died), leave."""
    while True:
        time.sleep(PARENT_POLL)
        if os.getppid() != parent:
            worker.environment.close()
            os._exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m daemon.worker")
    parser.add_argument("--config", required=True)
    parser.add_argument("--env-idx", type=int, required=True)
    parser.add_argument("--adopt", action="store_true",
                        help="take over this env's VM if it is already running")
    args = parser.parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # The daemon owns this process's lifetime (stdin EOF ends it; the pool SIGKILLs a hung one). A signal
        # sent to the whole process group (Ctrl-C in a terminal) must not kill an operation the daemon is
        # draining.
        signal.signal(signum, signal.SIG_IGN)
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())           # stray prints must never corrupt the frames
    settings = config.load(args.config)
    logs.setup(settings.raw["log_level"])
    worker = Worker(args.env_idx, settings, frames_out)
    stdin = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    threading.Thread(target=worker.read_requests, args=(stdin,), daemon=True).start()
    threading.Thread(target=watch_parent, args=(worker, os.getppid()), daemon=True).start()
    serving = threading.Thread(target=worker.serve, args=(args.adopt,), daemon=True)
    serving.start()
    while serving.is_alive() and not worker.daemon_gone.is_set():
        worker.daemon_gone.wait(0.2)                            # daemon gone, even mid-operation: leave now
    worker.environment.close()
    os._exit(0)


if __name__ == "__main__":
    main()
