"""The core's tests need no Prefect: run alone (``CORE_ONLY=1``), they fail if anything imports it."""

from __future__ import annotations

import os
import sys

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CORE_ONLY") != "1":
        return
    loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
    if loaded:
        print(f"\nprefect imported by the core's tests: {loaded[:5]}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
