"""One daemon for these tests, with small timeouts (tests/faults/helpers.py); faults cleared after each test.
Each test resets the env it uses first, so the order of tests does not matter."""
from __future__ import annotations

import pytest

from daemon.simulator import clear_faults
from tests.support import DaemonProcess

from .helpers import FAST_FAULTS


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("faults"), envs=3, **FAST_FAULTS).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "daemon" in request.fixturenames:
        clear_faults(request.getfixturevalue("daemon").home)
