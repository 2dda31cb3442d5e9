"""The env phase table (daemon/worker/states.py): every allowed transition is accepted silently, an illegal
one is logged once with its env and recorded, and the phases keep the wire values /health has always shown."""
from __future__ import annotations

import logging

import pytest

from daemon.logs import env_logger
from daemon.worker import states
from daemon.worker.states import TRANSITIONS, Phase, transition

ILLEGAL_SAMPLE = [
    (Phase.IDLE, Phase.RUNNING),            # an episode runs only after a reset
    (Phase.IDLE, Phase.DONE),
    (Phase.STARTING, Phase.RUNNING),
    (Phase.RESETTING, Phase.DONE),
    (Phase.GUEST_LOST, Phase.RUNNING),      # a lost guest is recovered before anything else
    (Phase.GUEST_LOST, Phase.IDLE),
    (Phase.RECOVERING, Phase.RUNNING),
    (Phase.BROKEN, Phase.RUNNING),
    (Phase.DONE, Phase.RUNNING),            # a done episode is never stepped again
    (Phase.IDLE, Phase.STARTING),           # nothing goes back to starting
    (Phase.RUNNING, Phase.STARTING),
]


@pytest.fixture
def recorded(monkeypatch):
    """A private record of violations, so the ones this test makes on purpose stay out of the session's."""
    monkeypatch.setattr(states, "_violations", [])
    return states.violations


def test_the_wire_values_are_the_ones_health_has_always_shown():
    assert [phase.value for phase in Phase] == ["starting", "adopting", "idle", "resetting", "running",
                                                "done", "guest_lost", "recovering", "broken"]


def test_every_phase_has_a_way_out_and_recovery_is_reachable_from_every_working_phase():
    assert set(TRANSITIONS) == set(Phase)
    for phase, targets in TRANSITIONS.items():
        assert targets, phase
        if phase not in (Phase.RECOVERING, Phase.BROKEN):
            assert Phase.RECOVERING in targets, phase


@pytest.mark.parametrize("current,new", [(c, n) for c, targets in TRANSITIONS.items() for n in targets])
def test_every_allowed_transition_is_accepted(current, new, recorded, caplog):
    assert transition(env_logger("test", 3), current, new) is new
    assert recorded() == [] and states.ILLEGAL not in caplog.text


@pytest.mark.parametrize("phase", list(Phase))
def test_staying_in_a_phase_is_allowed(phase, recorded):
    assert transition(env_logger("test", 0), phase, phase) is phase
    assert recorded() == []


@pytest.mark.parametrize("current,new", ILLEGAL_SAMPLE)
def test_an_illegal_transition_is_logged_once_with_its_env_and_recorded(current, new, recorded, caplog):
    caplog.set_level(logging.ERROR)
    log = env_logger("test", 2)
    assert transition(log, current, new) is new           # made anyway: /health must tell the truth
    transition(log, current, new)
    assert recorded() == [(2, current, new)]
    lines = [r for r in caplog.records if states.ILLEGAL in r.getMessage()]
    assert len(lines) == 1 and lines[0].env == 2
    assert f"{current.value} -> {new.value}" in lines[0].getMessage()
