"""What one worker operation reports to the daemon beside its answer: time per part and what the step did.

It travels in the response frame's header (`"report"`), so the daemon can count metrics and record
trajectories without the worker doing any I/O of its own. The screenshot the answer carries follows the answer
raw, in a frame of its own (daemon/worker/protocol.py): the daemon keeps and records it without decoding the
answer's base64.
"""
from __future__ import annotations

import contextlib
import time


class OperationReport:
    def __init__(self, op: str = ""):
        self.op = op
        self.started = time.time()
        self.parts: dict[str, float] = {}
        self.notes: dict = {}
        self.frame: bytes = b""                 # the image this operation's answer carries, before base64
        self.frame_of: dict = {}

    @contextlib.contextmanager
    def part(self, name: str):
        """Adds the time spent inside the block to `name`
        (a part can be entered several times per operation)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - began

    def note(self, **fields) -> None:
        self.notes.update(fields)

    def keep_frame(self, image: bytes, episode_id: str, image_format: str) -> None:
        self.frame, self.frame_of = image, {"episode_id": episode_id, "image_format": image_format}

    def header(self) -> dict:
        return {"op": self.op, "started": self.started, "parts": self.parts, "frame": bool(self.frame),
                **self.notes}

    def frame_header(self, request_id: int) -> dict:
        """The header of the frame that carries the screenshot: whose it is and its index (0: after reset)."""
        return {"id": None, "frame_of": request_id, "index": self.notes.get("step_idx", 0), **self.frame_of}
