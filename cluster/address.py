"""Where a daemon is and how to prove who it is: a URL (maybe carrying `/t/<token>`) plus its token.

The token never appears in `str()` / `repr()` of an address, in error messages or in CLI output: `display` is
the URL without it. The daemon proves it knows the token by answering `X-OSWorld-Nonce: <nonce>` with
`X-OSWorld-Proof: hex(HMAC-SHA256(token, b"osworld-proof:" + nonce))`, so a client can check who holds the
port before it sends the token anywhere.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TOKEN_SEGMENT = re.compile(r"^(?P<before>.*?)/t/(?P<token>[^/]+)(?P<after>/.*)?$")
NONCE_HEADER, PROOF_HEADER = "X-OSWorld-Nonce", "X-OSWorld-Proof"


class AddressError(ValueError):
    """A daemon address that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class DaemonAddress:
    base_url: str                                   # scheme://host:port[/prefix], no token, no trailing slash
    token: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str, token: str | None = None) -> "DaemonAddress":
        """`http://host:port`, `http://host:port/t/<token>` or with a path prefix;
        `token` when not in the URL."""
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AddressError(f"daemon address {_redact(text)!r} is not an http(s) URL; write e.g. "
                               "http://127.0.0.1:15001 or http://127.0.0.1:15001/t/<token>")
        path = parts.path.rstrip("/")
        match = TOKEN_SEGMENT.match(path)
        if match:
            token = match["token"]
            path = (match["before"] + (match["after"] or "")).rstrip("/")
        base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return cls(base, token or None)

    @property
    def display(self) -> str:
        return self.base_url

    def __str__(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def proof_matches(self, nonce: str, proof: str | None) -> bool:
        if not self.token or not proof:
            return False
        return hmac.compare_digest(expected_proof(self.token, nonce), proof.strip().lower())


def expected_proof(token: str, nonce: str) -> str:
    return hmac.new(token.encode("utf-8"), b"osworld-proof:" + nonce.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(24)               # 32 chars of [A-Za-z0-9_-]


def read_token_file(path: str | Path) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise AddressError(f"cannot read the token file {path}: {exc.strerror}; copy the daemon's "
                           "<run_dir>/auth-token to this machine") from None
    if not token:
        raise AddressError(f"the token file {path} is empty; copy the daemon's <run_dir>/auth-token")
    return token


def parse_daemons(urls: list[str], token_file: str | Path | None = None) -> list[DaemonAddress]:
    """CLI daemon list: the token from each URL's /t/<token>, else from --token-file."""
    file_token = read_token_file(token_file) if token_file else None
    addresses = []
    for text in urls:
        address = DaemonAddress.parse(text)
        if address.token is None:
            if file_token is None:
                raise AddressError(f"no token for {address.display}: put it in the URL as /t/<token> or pass "
                                   "--token-file")
            address = DaemonAddress(address.base_url, file_token)
        addresses.append(address)
    return addresses


def _redact(text: str) -> str:
    return re.sub(r"/t/[^/]+", "/t/<token>", text)
