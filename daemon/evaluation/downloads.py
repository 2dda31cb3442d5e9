"""Files a task names by URL, fetched on the host under the host policy into the shared download cache.

A URL is checked before the network is touched (host_policy.url_problem: scheme, file roots, literal
addresses). A host name is resolved once; every address it gives must be public (or opened by
evaluation.allow_private_urls), and the connection goes to the address that was checked, with the original
Host header and TLS server name, so a second DNS answer cannot redirect it (no DNS rebinding). Redirects are
followed by hand, each checked again, at most MAX_REDIRECTS. A download is bounded by
evaluation.download_max_bytes and, in total, by download_timeout. The bytes go to a `.part-` temp file renamed
into place, removed in every other case. Errors say "refused by policy: ..." or "download failed: ..." and
never which port answered or what it sent; the detail goes to the worker log.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.client
import logging
import os
import socket
import ssl
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .errors import SetupError
from .host_policy import HostPolicy, PolicyError, read_file_url, url_problem

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 1 << 16
NO_ANSWER = "no usable answer from the server (connection, TLS or HTTP error; the worker log has the detail)"
TOO_SLOW = "not complete within evaluation.download_timeout"
_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="resolve")
log = logging.getLogger(__name__)


class DownloadError(SetupError):
    def __init__(self, url: str, reason: str):
        super().__init__(f"download failed: {url}: {reason}")


def fetch(url: str, folder: Path, policy: HostPolicy, timeout: float) -> Path:
    """The URL's bytes in the shared cache `folder` (file name: sha256 of the URL; a pre-filled cache works
    offline). Two envs fetching the same URL never see a half-written file."""
    problem = url_problem(url, policy)
    if problem:
        raise PolicyError(f"URL {url!r} {problem}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / hashlib.sha256(url.encode()).hexdigest()
    if target.exists():
        return target
    fd, part = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            if urlsplit(url).scheme == "file":
                out.write(read_file_url(url, policy))
            else:
                _http_get(url, out, policy, time.monotonic() + timeout)
        os.replace(part, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
    return target


def _http_get(url: str, out, policy: HostPolicy, deadline: float) -> None:
    original = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        problem = url_problem(url, policy) or (
            "a redirect may lead only to http or https" if parts.scheme == "file" else None)
        if problem:
            raise PolicyError(f"URL {url!r} {problem}")
        address = _checked_address(parts.hostname, parts.port or _default_port(parts.scheme),
                                   policy, deadline)
        connection = _connection(parts, address, _remaining(deadline, original))
        try:
            location = _get_one(connection, parts, out, policy.download_max_bytes, deadline, original)
        except (OSError, http.client.HTTPException) as exc:
            log.warning("download of %s failed: %s: %s", original, type(exc).__name__, exc)
            raise DownloadError(original, NO_ANSWER) from None
        finally:
            connection.close()
        if location is None:
            return
        url = urljoin(url, location)
    raise DownloadError(original, f"more than {MAX_REDIRECTS} redirects")


def _get_one(connection, parts, out, max_bytes: int, deadline: float, original: str) -> str | None:
    """One GET: the redirect location, or None once the body is in `out`."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", target, headers={"User-Agent": "osworld-daemon", "Accept-Encoding": "identity"})
    response = connection.getresponse()
    if response.status in REDIRECTS and response.getheader("Location"):
        return response.getheader("Location")
    if response.status != 200:
        log.warning("download of %s: HTTP %s", original, response.status)
        raise DownloadError(original, NO_ANSWER)
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(original, f"larger than evaluation.download_max_bytes ({max_bytes})")
    _copy_body(connection, response, out, max_bytes, deadline, original)
    return None


def _copy_body(connection, response, out, max_bytes: int, deadline: float, original: str) -> None:
    """The body into `out`, within the size cap and the deadline (the server has answered 200 by now, so
    saying the time ran out tells nothing about ports)."""
    size = 0
    while not response.isclosed():              # closed: the whole body is read
        connection.pinned.settimeout(_remaining(deadline, original, reading=True))
        try:
            chunk = response.read1(CHUNK)       # one receive: a trickling server meets the deadline check
        except TimeoutError:
            raise DownloadError(original, TOO_SLOW) from None
        if not chunk:
            return
        size += len(chunk)
        if size > max_bytes:
            raise DownloadError(original, f"larger than evaluation.download_max_bytes ({max_bytes})")
        out.write(chunk)


def _remaining(deadline: float, url: str, reading: bool = False) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadError(url, TOO_SLOW if reading else NO_ANSWER)
    return left


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _checked_address(host: str, port: int, policy: HostPolicy, deadline: float) -> str:
    """The one address to connect to: the name is resolved once and every address it gives must be allowed."""
    future = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        answers = future.result(timeout=max(0.1, deadline - time.monotonic()))
    except (OSError, UnicodeError, concurrent.futures.TimeoutError) as exc:
        log.warning("cannot resolve %s: %s", host, exc)
        raise DownloadError(host, "the host name does not resolve") from None
    addresses = [answer[4][0] for answer in answers]
    if not addresses or not all(policy.address_allowed(address) for address in addresses):
        raise PolicyError(f"host {host!r} resolves to a loopback, private, link-local, multicast or reserved "
                          "address (evaluation.allow_private_urls)")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to now; Host: stays the name."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address, self.pinned = address, None

    def connect(self) -> None:
        self.sock = self.pinned = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(_PinnedHTTP):
    context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self.pinned = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _connection(parts, address: str, timeout: float) -> _PinnedHTTP:
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    return kind(parts.hostname, parts.port or _default_port(parts.scheme), address, timeout)
