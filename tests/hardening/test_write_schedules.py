"""Random fault schedules over the writes of a submission, a retrohunt and a collection sync.

Whatever faults hit whichever requests (reads and writes, answers lost before or after the
write was applied), two things always hold, checked against the emulator's own state:

* no duplicate write: at most one upload, one retrohunt job, one collection;
* no lost acknowledged write: whatever the client returned as done is there (the analysis, the
  job, the collection, the items added) and what it returned as removed is gone.

A call that fails must fail with a typed ``VirusTotalError``, and with at most two faults in the
schedule none fails (the writes are resent or resolved, the reads retried). The client is the real one over
the emulator's in-process transport, on a fake clock (backoff costs no real time), so a schedule
runs in milliseconds; the example count stays modest so the whole property runs in seconds.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_virustotal.client import RetryPolicy, VirusTotalClient, VirusTotalError
from prefect_virustotal.emulator import Emulator, FakeClock, World
from tests.conftest import PREMIUM_KEY
from tests.hunting import campaign_marker, marker_rule

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

KINDS = ("transient", "too_many_requests", "drop", "drop_after", "truncate", "non_json", "deadline")

fault = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "count": st.integers(1, 3),
        "skip": st.integers(0, 12),
        "writes_only": st.booleans(),
    }
)
schedule = st.lists(fault, max_size=4)
ADDED = ["a.example", "b.example", "c.example"]
REMOVED = ["a.example"]


@functools.cache
def _world() -> World:
    """One world for every example (building it takes a second); each sample is new to it."""
    return World(0)


async def _run(plan: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    emulator = Emulator(seed=0, clock=clock, world=_world())
    emulator.add_key(PREMIUM_KEY, tier="premium")
    emulator.scanning.set_durations(queued=0, running=0)
    for entry in plan:
        kind = entry["kind"]
        emulator.faults.add(
            "drop" if kind == "drop_after" else kind,
            count=entry["count"],
            skip=entry["skip"],
            method="WRITE" if entry["writes_only"] else None,
            after_processing=kind == "drop_after",
        )
    retry = RetryPolicy(initial_delay=0.01, max_delay=0.05, quota_delay=0.05)
    async with VirusTotalClient(
        PREMIUM_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock, retry=retry
    ) as vt:
        failures: list[VirusTotalError] = []

        async def attempt(call: Any) -> Any:
            try:
                return await call
            except VirusTotalError as exc:
                failures.append(exc)  # a typed failure is allowed; anything else fails the test
                return None

        # A submission: the upload, then its analysis read back.
        analysis = await attempt(vt.files.upload(f"a sample nobody has seen {uuid.uuid4().hex}".encode()))
        assert emulator.scanning.uploads <= 1, "duplicate upload"
        if analysis is not None:
            assert emulator.scanning.uploads == 1, "an acknowledged upload is lost"
            assert emulator.world.get_analysis(analysis.id) is not None, "acknowledged analysis missing"

        # A retrohunt job.
        job = await attempt(vt.retrohunt.create(marker_rule(campaign_marker(emulator.world, 3))))
        assert len(emulator.hunting.jobs) <= 1, "duplicate retrohunt job"
        if job is not None:
            assert [j.id for j in emulator.hunting.jobs.values()] == [job.id], "acknowledged job lost"

        # A sync: the collection, items added, items removed.
        collection = await attempt(vt.collections.create("incident 4711", items=["z.example"]))
        held = [c for c in emulator.collections.collections.values() if c.name == "incident 4711"]
        assert len(held) <= 1, "duplicate collection"
        if collection is not None:
            assert [c.id for c in held] == [collection.id], "acknowledged collection lost"
            domains = lambda: set(held[0].items.get("domains", ()))  # noqa: E731 - a one-line view
            if await attempt(vt.collections.add_items(collection.id, ADDED)) is not None:
                assert set(ADDED) <= domains(), "acknowledged items lost"
            if await attempt(vt.collections.remove_items(collection.id, REMOVED)) is not None:
                assert not set(REMOVED) & domains(), "acknowledged removal lost"

    # Two faults, wherever they land, are ridden out: a write gets three attempts, a read four.
    if sum(entry["count"] for entry in plan) <= 2:
        assert not failures, f"gave up under {plan}: {failures}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule)
def test_no_duplicate_and_no_lost_acknowledged_write(plan: list[dict[str, Any]]) -> None:
    asyncio.run(_run(plan))
