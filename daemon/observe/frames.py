"""Screenshots leave the answer as base64; decoding one (1-2 MB) holds the GIL for several ms on a slow machine.

Off the event loop, that would still stall the loop for as long, so frames are decoded in slices with a GIL
release between them: the loop waits at most one slice (well under a millisecond) for its turn.
"""
from __future__ import annotations

import binascii
import time

SLICE = 64 * 1024                       # a multiple of 4: base64 decodes slice by slice


def decode_frame(b64: bytes) -> bytes:
    parts = []
    for start in range(0, len(b64), SLICE):
        parts.append(binascii.a2b_base64(b64[start:start + SLICE]))
        time.sleep(0)                   # releases the GIL: a waiting event loop runs now, not after the frame
    return b"".join(parts)
