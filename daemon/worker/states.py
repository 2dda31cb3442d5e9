"""The phases of an env and the transitions allowed between them: one table for the worker and the pool.

The worker moves its own phase (adoption, reset, step, evaluate, a lost guest, recovery of its VM); the pool
mirrors every phase the worker reports and adds its own (starting, recovering, broken); `/health` shows the
pool's. Both move only through `transition`, so the table below is the whole lifecycle. Staying in a phase is
always allowed (a step that does not end the episode is running → running).

A transition outside the table is a bug: it is logged once (env, from, to), recorded in `violations()` and
made anyway, so the env goes on serving and `/health` tells the truth; tests fail on any recorded or logged.
Leaf module: it imports nothing of the daemon.
"""
from __future__ import annotations

import enum
import logging

ILLEGAL = "illegal phase transition"     # the log line's words: tests look for them in the daemon's log


class Phase(str, enum.Enum):
    STARTING = "starting"               # pool: no worker has been spawned yet
    ADOPTING = "adopting"               # worker: taking over a VM a previous daemon left running
    IDLE = "idle"                       # no episode running: ready for a reset
    RESETTING = "resetting"
    RUNNING = "running"                 # an episode is being stepped
    DONE = "done"                       # the episode ended (terminal action, max steps, or evaluated)
    GUEST_LOST = "guest_lost"           # the guest stopped answering mid-episode: the pool recovers the VM
    RECOVERING = "recovering"           # the VM (in the pool: the worker too) goes back to a known-good state
    BROKEN = "broken"                   # a recovery attempt failed: retried with backoff, then the watchdog


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.STARTING: frozenset({Phase.IDLE, Phase.RECOVERING}),           # spawned | the spawn failed
    Phase.ADOPTING: frozenset({Phase.IDLE, Phase.RECOVERING}),
    Phase.IDLE: frozenset({Phase.ADOPTING, Phase.RESETTING, Phase.RECOVERING}),
    Phase.RESETTING: frozenset({Phase.RUNNING, Phase.IDLE, Phase.RECOVERING}),       # started | failed
    Phase.RUNNING: frozenset({Phase.RESETTING, Phase.DONE, Phase.GUEST_LOST, Phase.RECOVERING}),
    Phase.DONE: frozenset({Phase.RESETTING, Phase.GUEST_LOST, Phase.RECOVERING}),     # lost while evaluating
    Phase.GUEST_LOST: frozenset({Phase.RECOVERING}),
    Phase.RECOVERING: frozenset({Phase.IDLE, Phase.BROKEN}),
    Phase.BROKEN: frozenset({Phase.RECOVERING, Phase.IDLE}),             # retried | a later attempt worked
}

_violations: list[tuple[object, Phase, Phase]] = []


def allowed(current: Phase, new: Phase) -> bool:
    return new is current or new in TRANSITIONS[current]


def transition(log: logging.LoggerAdapter, current: Phase, new: Phase) -> Phase:
    """The phase after moving from `current` to `new`: `new`, checked against the table (see the module doc).
    `log` is the env's logger (daemon.logs.env_logger): its line and record name the env."""
    violation = (log.extra["env"], current, new)
    if not allowed(current, new) and violation not in _violations:
        log.error("%s: %s -> %s", ILLEGAL, current.value, new.value)
        _violations.append(violation)
    return new


def violations() -> list[tuple[object, Phase, Phase]]:
    """Every illegal transition this process made (each once): (env_idx, from, to)."""
    return list(_violations)
