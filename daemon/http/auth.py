"""Who may drive the daemon: a secret token in a file, checked on every route before anything else.

The token is accepted as `Authorization: Bearer <token>`, as a path prefix `/t/<token>/...` (the unchanged
seed client only lets its user change `remote_server_url`), and for GET routes only as the cookie
`osworld_token` (the dashboard). A request that carries `X-OSWorld-Nonce` gets `X-OSWorld-Proof`, an HMAC of
the nonce under the token, on any answer: a client checks it on an unauthenticated `GET /health` before it
sends its token, so a port squatter on the login node cannot collect the token or feed it fake observations.
The token never reaches a log line.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from pathlib import Path

import tornado.web

from ..atomic import write_new_atomic

COOKIE = "osworld_token"
NONCE_HEADER = "X-OSWorld-Nonce"
PROOF_HEADER = "X-OSWorld-Proof"
PROOF_PREFIX = b"osworld-proof:"
NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
PATH_PREFIX = re.compile(r"^/t/([^/?]*)(/[^?]*)?")
REDACTED = "/t/<redacted>"
log = logging.getLogger("daemon.auth")


class TokenFileError(Exception):
    """The token file cannot be used; the message names the file and the fix."""


def load_or_create_token(path: str | os.PathLike) -> str:
    """The token in `path`; at first start a new one (32 random bytes, urlsafe), written 0600 and never
    replaced."""
    path = Path(path)
    if write_new_atomic(path, (secrets.token_urlsafe(32) + "\n").encode(), mode=0o600):
        log.info("created a new auth token in %s (mode 0600)", path)
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"{path}: cannot read the auth token ({exc}); fix it or remove the file so that "
                             "the daemon creates a new one") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(f"{path}: the auth token file is readable by others "
                             f"(mode {stat.filemode(mode)}); run: chmod 600 {path}")
    if len(token) < 16 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise TokenFileError(f"{path}: not a token (16 or more characters of A-Z a-z 0-9 _ -); remove the "
                             "file so that the daemon creates a new one")
    return token


def proof(token: str, nonce: str) -> str:
    """What the daemon answers to a nonce: hex HMAC-SHA256 under the token (docs/security.md)."""
    return hmac.new(token.encode(), PROOF_PREFIX + nonce.encode(), hashlib.sha256).hexdigest()


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


class Guard:
    """The token and whether it is required (`server.auth`); shared by every handler through app settings."""

    def __init__(self, token: str, required: bool = True):
        self.token, self.required = token, required

    def admits(self, request) -> bool:
        if not self.required:
            return True
        return any(_same(given, self.token) for given in self._credentials(request))

    @staticmethod
    def _credentials(request) -> list[str]:
        given = []
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            given.append(value.strip())
        if getattr(request, "path_token", None) is not None:
            given.append(request.path_token)
        if request.method == "GET":
            cookie = request.cookies.get(COOKIE)
            if cookie is not None:
                given.append(cookie.value)
        return given

    def proof_for(self, request) -> str | None:
        nonce = request.headers.get(NONCE_HEADER, "")
        return proof(self.token, nonce) if NONCE.fullmatch(nonce) else None


def strip_path_token(request) -> None:
    """`/t/<token>/env/reset` is routed as `/env/reset`; the token given is kept aside for the Guard only."""
    match = PATH_PREFIX.match(request.path)
    if match is None:
        return
    request.path_token = match.group(1)
    request.path = match.group(2) or "/"
    request.uri = request.path + (f"?{request.query}" if request.query else "")


def redact(text: str) -> str:
    return PATH_PREFIX.sub(lambda m: REDACTED + (m.group(2) or ""), text) if text.startswith("/t/") else text


class GuardedApplication(tornado.web.Application):
    """Strips the path token before routing, so no handler, error message or access log line ever sees it."""

    def find_handler(self, request, **kwargs):
        strip_path_token(request)
        return super().find_handler(request, **kwargs)


def log_request(handler: tornado.web.RequestHandler) -> None:
    """The access log line (Application `log_function`): method, path without any token, status, time.

    Never headers: the Authorization header and the cookie stay out of the log.
    """
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    logging.getLogger("tornado.access").log(level, "%d %s %s (%s) %.2fms", status, request.method,
                                            redact(request.uri or ""), request.remote_ip,
                                            1000.0 * request.request_time())


class RedactToken(logging.Filter):
    """Last line of defence: any log record that would contain the token shows <redacted> instead."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<redacted>"), ()
        return True


def redact_logs(token: str) -> None:
    """Every handler of the root logger (where every logger of the daemon ends) drops the token from lines."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))


def set_token_cookie(handler: tornado.web.RequestHandler, token: str) -> None:
    """For the dashboard: the browser then sends the token on GET routes (only those accept the cookie)."""
    handler.set_cookie(COOKIE, token, path="/", httponly=True, samesite="Strict")


def warn_if_open(required: bool, host: str, port: int) -> None:
    if not required:
        log.warning("AUTHENTICATION IS OFF (server.auth: false): anyone who can reach %s:%d (through the "
                    "tunnel: every user of the cluster's login node) can drive every VM. Remove server.auth: "
                    "false unless you know why it is there.", host, port)
