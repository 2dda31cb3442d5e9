"""What one worker operation reports to the daemon beside its answer: time per part and what the step did.

It travels in the response frame's header (`"report"`), so the daemon can count metrics and record trajectories
without the worker doing any I/O of its own. The screenshot is not copied into the header: the report names where
its base64 sits inside the answer body (`frame`: [start, end]), which the daemon slices off the answer it got.
"""
from __future__ import annotations

import contextlib
import time


class OperationReport:
    def __init__(self, op: str = ""):
        self.op = op
        self.started = time.time()
        self._clock = time.perf_counter()
        self.parts: dict[str, float] = {}
        self.notes: dict = {}
        self.frame_b64: bytes | None = None

    @contextlib.contextmanager
    def part(self, name: str):
        """Adds the time spent inside the block to `name` (a part can be entered several times per operation)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - began

    def note(self, **fields) -> None:
        self.notes.update(fields)

    def header(self, body: bytes) -> dict:
        report = {"op": self.op, "started": self.started, "elapsed": time.perf_counter() - self._clock,
                  "parts": self.parts, **self.notes}
        span = self._frame_span(body)
        if span is not None:
            report["frame"] = span
        return report

    def _frame_span(self, body: bytes) -> list[int] | None:
        """Where this operation's screenshot (base64) sits in the answer: its last image, near the body's end."""
        b64 = self.frame_b64
        if not b64:
            return None
        end = body.rfind(b64[-64:])
        if end < 0:
            return None
        end += len(b64[-64:])
        start = end - len(b64)
        return [start, end] if start >= 0 and body.startswith(b64, start) else None        # memcmp, no copy
