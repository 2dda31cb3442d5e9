"""Frames between the pool and a worker over the worker's stdin/stdout.

A frame is struct.pack(">II", len(header), len(body)) + header + body: the header is UTF-8 JSON, the body raw
bytes (the JSON answer exactly as the HTTP client receives it, built once in the worker). After an answer that
carries a screenshot, the worker sends the image raw in a frame of its own (`"frame_of": request id`), off the
answer's path: the daemon records and shows it without decoding the answer's base64.
"""
from __future__ import annotations

import json
import struct

PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20
MAX_BODY = 1 << 30


class ProtocolError(Exception):
    """The other side sent something that is not a frame (or went away mid-frame)."""


def encode(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return PREFIX.pack(len(raw), len(body)) + raw + body


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
