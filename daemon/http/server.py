"""The HTTP server under the app: how many connections it holds, how long they may idle, what it does when the
process runs out of descriptors.

Over `server.max_connections` a new connection gets a canned 503 and is closed at once, so idle connections
cannot take the descriptors `/health` and the workers need. Tornado's accept loop logs every failed accept and
retries at once (a log flood and a busy loop at EMFILE); ours logs at a bounded rate and pauses accepting
briefly instead.
"""
from __future__ import annotations

import logging
import resource
import socket
import time

import tornado.httpserver
from tornado.ioloop import IOLoop

from ..errors import error_reply

ACCEPT_BATCH = 128                 # connections accepted per readiness event (Tornado's own heuristic)
# Seconds without accepting after an accept error (EMFILE: descriptors run out).
ACCEPT_PAUSE = 0.1
LOG_EVERY = 60.0                   # at most one line per kind of trouble per minute
FD_RESERVE = 256                   # descriptors kept free of connections: worker pipes, log and status files
UNLIMITED_FALLBACK = 10240         # macOS refuses RLIM_INFINITY as a soft limit; its OPEN_MAX is this
RETRY_AFTER = 5
log = logging.getLogger("daemon.http")


class BoundedLog:
    """One line now, then at most one per `every` seconds saying how many happened meanwhile."""

    def __init__(self, message: str, every: float = LOG_EVERY):
        self.message, self.every = message, every
        self.last = float("-inf")
        self.suppressed = 0

    def note(self, detail: str) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            self.suppressed += 1
            return
        more = f" ({self.suppressed} more since the last line)" if self.suppressed else ""
        log.warning("%s: %s%s", self.message, detail, more)
        self.last, self.suppressed = now, 0


def busy_answer() -> bytes:
    reply = error_reply(503, "too_many_connections", "the daemon holds its maximum of open connections "
                        "(server.max_connections); retry after Retry-After seconds", RETRY_AFTER)
    headers = "".join(f"{name}: {value}\r\n" for name, value in reply.headers.items())
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(reply.body)}\r\n{headers}Connection: close\r\n\r\n")
    return head.encode() + reply.body


class AcceptLoop:
    """Accepts on one listening socket; on an accept error, logs (bounded) and stops accepting for a
    moment."""

    def __init__(self, sock: socket.socket, on_connection, errors: BoundedLog):
        self.sock, self.on_connection, self.errors = sock, on_connection, errors
        self.io_loop = IOLoop.current()
        self.listening = self.removed = False
        self.listen()

    def listen(self) -> None:
        if not self.removed and not self.listening:
            self.io_loop.add_handler(self.sock, self.ready, IOLoop.READ)
            self.listening = True

    def pause(self) -> None:
        if self.listening:
            self.io_loop.remove_handler(self.sock)
            self.listening = False
        self.io_loop.call_later(ACCEPT_PAUSE, self.listen)

    def ready(self, fd, events) -> None:
        for _ in range(ACCEPT_BATCH):
            if self.removed:
                return
            try:
                connection, address = self.sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self.errors.note(f"{exc.strerror or exc}; pausing accepts for {ACCEPT_PAUSE} s (raise the "
                                 "descriptor limit or lower server.max_connections)")
                self.pause()
                return
            self.on_connection(connection, address)

    def remove(self) -> None:
        if self.listening:
            self.io_loop.remove_handler(self.sock)
        self.listening, self.removed = False, True


class CappedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTPServer with a connection cap and the bounded accept loop above."""

    def initialize(self, *args, max_connections: int, **kwargs) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self.refused = BoundedLog(f"connection refused: over server.max_connections ({max_connections})")

    def add_sockets(self, sockets) -> None:
        errors = BoundedLog("accepting a connection failed")
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = AcceptLoop(sock, self._handle_connection, errors).remove

    def handle_stream(self, stream, address) -> None:
        if len(self._connections) >= self.max_connections:
            self.refused.note(f"{len(self._connections)} open; answered 503 and closed")
            stream.write(busy_answer()).add_done_callback(lambda done: (done.exception(), stream.close()))
            return
        super().handle_stream(stream, address)


def raise_open_files_limit(wanted: int | None) -> int:
    """Set RLIMIT_NOFILE's soft limit to `wanted` (None: the hard limit) at most the hard limit;
    the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    for candidate in (target, min(target, UNLIMITED_FALLBACK)):
        if candidate == resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (candidate, hard))
            return candidate
        except (ValueError, OSError):
            continue
    log.warning("could not raise the open-files limit from %d (hard limit %d)", soft, hard)
    return soft


def connection_cap(configured: int, open_files: int) -> int:
    """server.max_connections, lowered when the descriptor limit leaves no room for it and FD_RESERVE."""
    room = max(open_files - FD_RESERVE, 16)
    if configured > room:
        log.warning("server.max_connections %d lowered to %d: the open-files limit is %d (raise it, e.g. "
                    "supervisord's minfds)", configured, room, open_files)
    return min(configured, room)


def serve(app, settings) -> CappedHTTPServer:
    server_settings = settings.server
    open_files = raise_open_files_limit(server_settings["max_open_files"])
    server = CappedHTTPServer(app, max_body_size=server_settings["max_body_bytes"] * 4,
                              idle_connection_timeout=server_settings["idle_timeout"],
                              body_timeout=server_settings["body_timeout"],
                              max_connections=connection_cap(server_settings["max_connections"], open_files))
    server.listen(server_settings["port"], server_settings["host"])
    log.info("open-files limit %d, at most %d connections", open_files, server.max_connections)
    return server
