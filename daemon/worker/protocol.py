"""Frames between the pool and a worker over the worker's stdin/stdout.

A frame is struct.pack(">II", len(header), len(body)) + header + body: the header is UTF-8 JSON, the body raw
bytes (the JSON answer exactly as the HTTP client receives it, built once in the worker). A worker's answer may
carry an attachment after the body: the screenshot the answer holds, raw (`"attachment": n` in the header counts its
bytes), so the daemon can record and show it without decoding the answer.
"""
from __future__ import annotations

import json
import struct

PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20
MAX_BODY = 1 << 30


class ProtocolError(Exception):
    """The other side sent something that is not a frame (or went away mid-frame)."""


def encode(header: dict, body: bytes = b"", attachment: bytes = b"") -> bytes:
    if attachment:
        header = {**header, "attachment": len(attachment)}
    raw = json.dumps(header).encode()
    return PREFIX.pack(len(raw), len(body)) + raw + body + attachment


def attachment_length(header: dict) -> int:
    length = header.get("attachment") or 0
    if not isinstance(length, int) or not 0 <= length <= MAX_BODY:
        raise ProtocolError(f"bad attachment length {length!r}")
    return length


def decode_prefix(prefix: bytes) -> tuple[int, int]:
    header_len, body_len = PREFIX.unpack(prefix)
    if header_len > MAX_HEADER or body_len > MAX_BODY:
        raise ProtocolError(f"frame too large: header {header_len} bytes, body {body_len} bytes")
    return header_len, body_len


def read_frame(stream) -> tuple[dict, bytes] | None:
    """Blocking read from a binary file; None at a clean end of stream."""
    prefix = stream.read(PREFIX.size)
    if not prefix:
        return None
    if len(prefix) < PREFIX.size:
        raise ProtocolError("stream ended inside a frame prefix")
    header_len, body_len = decode_prefix(prefix)
    header, body = stream.read(header_len), stream.read(body_len)
    if len(header) < header_len or len(body) < body_len:
        raise ProtocolError("stream ended inside a frame")
    return json.loads(header), body
