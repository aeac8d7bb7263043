"""The checkpoint store's interface, names and size cap: plain asyncio, no Prefect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prefect_virustotal.client import InvalidParameterError, VirusTotalError
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.core import (
    MAX_CHECKPOINT_BYTES,
    CheckpointStore,
    CheckpointTooLargeError,
    MemoryCheckpointStore,
    checkpoint_fits,
    checkpoint_name,
    checkpoint_size,
    submission_checkpoint,
)

ROOT = Path(__file__).resolve().parents[2]


def test_names_follow_one_scheme() -> None:
    assert checkpoint_name("retrohunt", "finished") == "virustotal-retrohunt-finished"
    assert checkpoint_name("alerts", "ioc_stream") == "virustotal-alerts-ioc_stream"
    for bad in ("", "Upper", "a b", "a/b", "x" * 300):
        with pytest.raises(InvalidParameterError):
            checkpoint_name("submit", bad)


def test_submission_identity_names_its_checkpoint() -> None:
    plain = submission_checkpoint("file", "a" * 64, False, None)
    assert plain.startswith("virustotal-submit-") and len(plain) == len("virustotal-submit-") + 40
    assert plain == submission_checkpoint("file", "a" * 64, False, None)
    assert plain != submission_checkpoint("file", "a" * 64, True, None)
    sandboxed = PrivateScanOptions(disable_sandbox=True)
    assert submission_checkpoint("file", "a" * 64, True, sandboxed) != submission_checkpoint(
        "file", "a" * 64, True, None
    )


def test_size_is_compact_utf8_json_as_the_server_counts() -> None:
    value = {"ids": ["é" * 10, 1, None]}
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert checkpoint_size(value) == len(compact)  # "é" is two bytes, no spaces
    # Measured on the JSON, not on Python's repr (which quotes and spaces differently).
    ids = [f"job-{n:06d}" for n in range(360)]
    assert len(str(ids)) > MAX_CHECKPOINT_BYTES >= checkpoint_size(ids)
    assert checkpoint_fits(ids)


async def test_memory_store_loads_saves_clears_copies() -> None:
    store = MemoryCheckpointStore()
    assert isinstance(store, CheckpointStore)
    assert await store.load("virustotal-x") is None
    value = {"cursor": "abc", "seen": [1, 2]}
    await store.save("virustotal-x", value)
    value["seen"].append(3)  # the store kept a copy
    loaded = await store.load("virustotal-x")
    assert loaded == {"cursor": "abc", "seen": [1, 2]}
    loaded["cursor"] = "changed"  # and hands out copies
    assert (await store.load("virustotal-x"))["cursor"] == "abc"
    await store.save("virustotal-x", {"cursor": "def"})
    assert await store.load("virustotal-x") == {"cursor": "def"} and store.writes == 2
    await store.clear("virustotal-x")
    await store.clear("virustotal-x")  # clearing twice is fine
    assert await store.load("virustotal-x") is None


async def test_a_checkpoint_over_the_cap_is_refused_and_nothing_written() -> None:
    store = MemoryCheckpointStore()
    await store.save("virustotal-big", {"ok": True})
    too_big = {"blob": "x" * MAX_CHECKPOINT_BYTES}
    with pytest.raises(CheckpointTooLargeError, match="virustotal-big") as caught:
        await store.save("virustotal-big", too_big)
    assert isinstance(caught.value, VirusTotalError)
    assert await store.load("virustotal-big") == {"ok": True}
    with pytest.raises(TypeError):
        await store.save("virustotal-big", {"not json": object()})


def test_core_tests_run_without_prefect() -> None:
    """The core's tests, run alone, never import Prefect (see conftest.py).

    ``make test`` runs ``tests/core`` once, alone, with ``CORE_ONLY=1``: that run is the proof
    (its ``pytest_sessionfinish`` fails it if anything imported Prefect), and this test only
    checks that nothing has so far. Run among the other tests, it runs the core's tests alone
    in a subprocess, with the same check.
    """
    if os.environ.get("CORE_ONLY") == "1":
        assert not [m for m in sys.modules if m == "prefect" or m.startswith("prefect.")]
        return
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).parent), "-q", "-k", "not without_prefect"],
        cwd=ROOT,
        env={**os.environ, "CORE_ONLY": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
