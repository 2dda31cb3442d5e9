"""One operation's time budget (a reset, a step, an evaluate), shared by every vmrun and guest call it makes.

Each call's own timeout is clipped to what is left, so an operation ends within its budget with a clear error
instead of running into the pool's deadline (which kills the worker and costs a VM recovery). The budget
belongs to the thread that started it: the worker's reset-ahead thread keeps its own beside the operation in
flight.
"""
from __future__ import annotations

import threading
import time


class BudgetSpent(Exception):
    """Nothing is left of the operation's budget: the call was not made."""


class Budget:
    def __init__(self) -> None:
        self._local = threading.local()     # .end: time.monotonic() at which it is spent; absent: no budget

    def start(self, seconds: float, since: float | None = None) -> None:
        self._local.end = (time.monotonic() if since is None else since) + seconds

    def clear(self) -> None:
        self._local.end = None

    def spent(self) -> bool:
        end = getattr(self._local, "end", None)
        return end is not None and time.monotonic() >= end

    def clip(self, seconds: float) -> float:
        """`seconds`, or less when less is left; BudgetSpent when nothing is."""
        end = getattr(self._local, "end", None)
        if end is None:
            return seconds
        left = end - time.monotonic()
        if left <= 0:
            raise BudgetSpent("the operation's time budget is spent (see deadlines.* in the config)")
        return min(seconds, left)
