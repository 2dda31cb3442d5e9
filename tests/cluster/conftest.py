"""Two "Macs" (daemons on loopback with their own ports, run dirs and simulated VMs) and one Ray session per
module."""
from __future__ import annotations

import pytest

from cluster import DaemonAddress
from tests.support import DaemonProcess


def address_of(daemon: DaemonProcess, base_url: str | None = None) -> DaemonAddress:
    """The daemon's address with its token (in the URL as /t/<token>, as a user would write it)."""
    return DaemonAddress.parse(f"{base_url or f'http://127.0.0.1:{daemon.port}'}/t/{daemon.token}")


@pytest.fixture(scope="module")
def macs(tmp_path_factory):
    daemons = [DaemonProcess(tmp_path_factory.mktemp(f"mac{i}"), envs=4) for i in range(2)]
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons
    finally:
        for daemon in daemons:
            daemon.stop()


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="Ray is in the `cluster` extra (scripts/test.sh installs it)")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING",
             configure_logging=False)
    yield ray
    ray.shutdown()
