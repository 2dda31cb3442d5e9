"""Checks every test gets: no illegal env phase transition (daemon/worker/states.py) in this process. A daemon
run by tests/support.py is checked for one in its log when it stops."""
from __future__ import annotations

import pytest

from daemon.worker import states


@pytest.fixture(autouse=True)
def no_illegal_phase_transition():
    before = len(states.violations())
    yield
    assert states.violations()[before:] == [], "an env phase moved outside states.TRANSITIONS"
