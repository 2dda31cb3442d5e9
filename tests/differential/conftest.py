"""The OSWorld reference process, shared by the whole differential suite (one subprocess per session)."""
from __future__ import annotations

import os

import pytest

from daemon.evaluation.external.adapter import DesktopEnvMetrics

from .harness import ROOT, documented_differences

REFERENCE_PYTHON = ROOT / ".venv-osworld" / "bin" / "python"
REFERENCE_RUNNER = ROOT / "tests" / "differential" / "osworld_reference.py"


@pytest.fixture(scope="session")
def osworld():
    if not REFERENCE_PYTHON.exists():
        reason = (f"OSWorld reference venv not built at {REFERENCE_PYTHON.parent.parent} (bash scripts/"
                  f"reference_venv.sh needs PyPI; scripts/test.sh runs it)")
        if os.environ.get("OSWORLD_REFERENCE_REQUIRED"):
            pytest.fail(reason)
        pytest.skip(reason)
    metrics = DesktopEnvMetrics(str(REFERENCE_PYTHON), runner=REFERENCE_RUNNER)
    yield metrics
    metrics.close()


@pytest.fixture(scope="session")
def differences():
    return documented_differences()
