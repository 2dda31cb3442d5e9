"""The daemon's one error vocabulary: an error the client is answered (DaemonError), the answer (Reply), and
the one builder of an error answer's JSON body `{"error": {"code", "message"}}` (+ `Retry-After` where set).

Narrower exceptions (GuestError, VmrunError, SetupError, ...) stay where their domain is; each becomes a
DaemonError in exactly one layer (docs/architecture.md, "Faults: who answers what"). A leaf module: it imports
nothing of the daemon, so every layer can use it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

# The code of a worker's answer to an unexpected exception in its own code: its state is unknown, so the pool
# replaces it and recovers the VM. A bug in an evaluator is not one (`evaluator_error`: the worker serves on).
WORKER_CRASHED = "worker_error"
RETRY_AFTER = 10        # seconds a client waits to retry an env being recovered or a daemon shutting down


@dataclass
class Reply:
    """An answer as the HTTP client receives it: built once (by a handler, the pool or the worker), written as
    is. `code`: an error answer's code (None on success): the pool acts on a crash without reading the body.
    """
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)
    report: dict | None = None          # the worker's report on the operation (daemon/worker/report.py)
    code: str | None = None


class DaemonError(Exception):
    """A fault answered to the client. `message` is answered (it never quotes file contents or host paths);
    `detail` is for the log only (e.g. the traceback of a bug in an evaluator)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None,
                 detail: str = ""):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after, self.detail = retry_after, detail

    def reply(self) -> Reply:
        return error_reply(self.status, self.code, self.message, self.retry_after)


def error_reply(status: int, code: str, message: str, retry_after: int | None = None) -> Reply:
    """The one builder of an error answer."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Reply(status, body, headers, code=code)
