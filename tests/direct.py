"""The command line in process on its direct path, as a user's shell without Prefect runs it.

A command answers directly when no Prefect API is configured (``cli.runs_direct``). In a test
process that can depend on what ran before: the session's Prefect harness, once started,
configures one for the rest of the session. ``direct_cli`` takes it away for one test, so that
a test of the command line's handling of its input runs the direct path whatever the order,
without Prefect's per-run cost; and it gives the test a local state folder (``$VT_STATE_DIR``)
of its own, never the user's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def direct_cli(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No Prefect API for this test, and a state folder of its own (its path)."""
    for name in list(os.environ):
        if name.startswith(("PREFECT_API", "PREFECT_PROFILE")):
            monkeypatch.delenv(name)
    state = tmp_path_factory.mktemp("vt-state")
    monkeypatch.setenv("VT_STATE_DIR", str(state))
    if "prefect.settings" not in sys.modules:
        yield state  # Prefect not even imported: nothing can name an API but the files it would read
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield state
