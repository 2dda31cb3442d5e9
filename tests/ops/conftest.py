"""A real supervisord running the repo's own supervisord.conf in a temp directory (see sandbox.py)."""
from __future__ import annotations

import pytest

from tests.ops.sandbox import Supervised, clean_env, make_here, wait_for
from tests.support import free_port


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    port = free_port()
    here = make_here(tmp_path_factory.mktemp("supervised"), port)
    instance = Supervised(here, port, clean_env())
    instance.start()
    try:
        wait_for(instance.health, 60, "/health of the supervised daemon")
        yield instance
    finally:
        instance.shutdown()
        from daemon.simulator import stop_all
        stop_all(here / "run" / "sim")
