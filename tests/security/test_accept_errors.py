"""Out of descriptors (EMFILE), accept fails on every try:
Tornado's own loop logs each failure and retries at once
(a log flood and a busy loop). Ours logs one line per minute, pauses, and accepts again once it can."""
from __future__ import annotations

import asyncio
import errno
import logging
import socket

from daemon.http.server import AcceptLoop, BoundedLog


class FailingListener:
    """A listening socket with a client waiting (so it stays readable) whose first `failures` accepts fail."""

    def __init__(self, failures: int):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.failures, self.tries = failures, 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self):
        self.tries += 1
        if self.tries <= self.failures:
            raise OSError(errno.EMFILE, "Too many open files")
        return self.sock.accept()


def test_accept_errors_are_logged_once_and_accepting_resumes(caplog):
    listener = FailingListener(failures=5)
    client = socket.create_connection(listener.sock.getsockname(), timeout=5)
    accepted = []

    async def run():
        loop = AcceptLoop(listener, lambda connection, address: accepted.append(connection),
                          BoundedLog("accepting a connection failed"))
        for _ in range(100):
            if accepted:
                break
            await asyncio.sleep(0.05)
        loop.remove()

    with caplog.at_level(logging.WARNING, logger="daemon.http"):
        asyncio.run(run())
    lines = [record.getMessage() for record in caplog.records if "accepting a connection failed" in
             record.getMessage()]
    assert len(lines) == 1 and "Too many open files" in lines[0]
    # five failures, each followed by a pause; then the client is accepted,
    # and the next try finds nobody waiting
    assert listener.tries == 7 and len(accepted) == 1
    for sock in (*accepted, client, listener.sock):
        sock.close()


def test_a_bounded_log_counts_what_it_did_not_print(caplog):
    bounded = BoundedLog("trouble", every=3600)
    with caplog.at_level(logging.WARNING, logger="daemon.http"):
        for _ in range(1000):
            bounded.note("detail")
    assert len(caplog.records) == 1 and bounded.suppressed == 999
