"""A daemon per test module with small timeouts (tests/faults/helpers.py), faults cleared after each test."""
from __future__ import annotations

import pytest

from daemon.simulator import clear_faults
from tests.support import DaemonProcess

from .helpers import FAST_FAULTS


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = DaemonProcess(tmp_path_factory.mktemp("faults"), **FAST_FAULTS).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "daemon" in request.fixturenames:
        clear_faults(request.getfixturevalue("daemon").home)
