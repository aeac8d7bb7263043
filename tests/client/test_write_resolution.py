"""Writes under faults: resent when certainly not done, read back when the answer was lost.

Each write the pack makes once (an upload, a retrohunt job, a collection, a livehunt ruleset)
is hit by one fault aimed at writes alone (``method="WRITE"``), and the emulator counts what
was created: always exactly one, with one send when the first was applied and two when it was
not.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from prefect_virustotal.client import (
    APIConnectionError,
    RetryPolicy,
    TransientError,
    UnexpectedResponseError,
    VirusTotalClient,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY
from tests.hunting import campaign_marker, marker_rule

RULESET = 'rule resolved { strings: $a = "resolved-marker" condition: $a }'

#: (fault kind, options, whether the faulted write was applied by the emulator)
FAULTS: list[tuple[str, dict[str, Any], bool]] = [
    ("drop", {"after_processing": True}, True),
    ("drop", {}, False),
    ("truncate", {}, True),
    ("non_json", {}, False),
    ("deadline", {}, False),
    ("transient", {}, False),
    ("too_many_requests", {}, False),
]


@pytest.fixture
async def vt(emulator: Emulator, clock: FakeClock) -> AsyncIterator[VirusTotalClient]:
    emulator.scanning.set_durations(queued=0, running=0)
    async with VirusTotalClient(
        PREMIUM_KEY,
        base_url=emulator.base_url,
        transport=emulator.transport(),
        clock=clock,
        retry=RetryPolicy(initial_delay=0.001, max_delay=0.01, quota_delay=0.01),
    ) as client:
        yield client


def _owner(emulator: Emulator) -> str:
    key = emulator.quotas.get(PREMIUM_KEY)
    assert key is not None
    return key.owner


Write = Callable[[VirusTotalClient, Emulator], Awaitable[Any]]


async def _upload(vt: VirusTotalClient, emulator: Emulator) -> Any:
    return await vt.files.upload(f"a file nobody has seen {uuid.uuid4().hex}".encode())


async def _private_upload(vt: VirusTotalClient, emulator: Emulator) -> Any:
    return await vt.private.upload(f"a private file {uuid.uuid4().hex}".encode())


async def _job(vt: VirusTotalClient, emulator: Emulator) -> Any:
    return await vt.retrohunt.create(marker_rule(campaign_marker(emulator.world, 3)))


async def _collection(vt: VirusTotalClient, emulator: Emulator) -> Any:
    return await vt.collections.create("incident 4711", items=["a.example"])


async def _ruleset(vt: VirusTotalClient, emulator: Emulator) -> Any:
    return await vt.livehunt.create("watch resolved", RULESET)


#: What each write leaves behind, counted at the emulator.
WRITES: dict[str, tuple[Write, str, Callable[[Emulator], int]]] = {
    "upload": (_upload, "/files", lambda e: e.scanning.uploads),
    "private_upload": (_private_upload, "/private/files", lambda e: e.scanning.uploads),
    "retrohunt_job": (_job, "/intelligence/retrohunt_jobs", lambda e: len(e.hunting.jobs)),
    "collection": (_collection, "/collections", lambda e: len(e.collections.collections)),
    "ruleset": (
        _ruleset,
        "/intelligence/hunting_rulesets",
        lambda e: len(list(e.hunting.rulesets_of(_owner(e)))),
    ),
}


@pytest.mark.parametrize(("kind", "options", "applied"), FAULTS, ids=[f"{k}{o}" for k, o, _ in FAULTS])
@pytest.mark.parametrize("what", list(WRITES))
async def test_one_fault_on_a_write_still_makes_exactly_one(
    what: str, kind: Any, options: dict[str, Any], applied: bool, vt: VirusTotalClient, emulator: Emulator
) -> None:
    write, path, made = WRITES[what]
    emulator.faults.add(kind, count=1, method="WRITE", **options)
    result = await write(vt, emulator)
    assert result.id
    assert made(emulator) == 1
    sends = emulator.count(method="POST", path_prefix=path)
    # Applied and answer lost: read back, found, never sent again. Not applied: sent once more.
    assert sends == (1 if applied else 2)
    uncertain = kind in ("drop", "truncate", "non_json", "deadline")
    assert vt.read_backs == (1 if uncertain else 0)
    # The read-back's requests are requests of the run: counted, and named in its figures.
    assert vt.request_count == emulator.count()
    assert ("reading back 1 lost answer" in vt.request_figures()) is uncertain


async def test_a_failed_read_back_fails_typed_and_writes_nothing_more(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    emulator.faults.add("drop", count=1, method="WRITE")
    emulator.faults.add("transient", method="GET", path_prefix="/intelligence/retrohunt_jobs")
    with pytest.raises(APIConnectionError) as caught:
        await _job(vt, emulator)
    assert isinstance(caught.value.__cause__, TransientError)  # the read-back's own failure
    assert emulator.count(method="POST", path_prefix="/intelligence/retrohunt_jobs") == 1
    assert len(emulator.hunting.jobs) == 0


async def test_a_write_is_sent_at_most_three_times(vt: VirusTotalClient, emulator: Emulator) -> None:
    emulator.faults.add("drop", method="WRITE")  # every send dropped before it is applied
    with pytest.raises(APIConnectionError):
        await _collection(vt, emulator)
    assert emulator.count(method="POST", path_prefix="/collections") == 3
    assert vt.read_backs == 3
    assert len(emulator.collections.collections) == 0


async def test_an_upload_that_arrived_without_a_findable_analysis_is_not_sent_again(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    emulator.faults.add("drop", count=1, method="WRITE", after_processing=True)
    emulator.faults.add("error", code="NotFoundError", path_prefix="/analyses")
    with pytest.raises(APIConnectionError) as caught:
        await _upload(vt, emulator)
    assert isinstance(caught.value.__cause__, UnexpectedResponseError)
    assert emulator.scanning.uploads == 1


async def test_an_earlier_job_with_the_same_rules_is_not_taken_for_the_lost_one(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    rules = marker_rule(campaign_marker(emulator.world, 3))
    earlier = await vt.retrohunt.create(rules)
    clock.advance(600)
    emulator.faults.add("drop", count=1, method="WRITE")  # lost before it was applied
    job = await vt.retrohunt.create(rules)
    assert job.id != earlier.id
    assert len(emulator.hunting.jobs) == 2


async def test_a_write_that_timed_out_is_read_back_then_sent_again(emulator: Emulator) -> None:
    # httpx enforces timeouts in its network layer only: serve on loopback, wait for real. The
    # emulator reads the body after the delay, so the client's disconnect means not applied.
    emulator.faults.add("latency", seconds=1.5, count=1, method="WRITE")
    with emulator.serving() as url:
        async with VirusTotalClient(PREMIUM_KEY, base_url=url, timeout=1.0) as client:
            job = await client.retrohunt.create(marker_rule(campaign_marker(emulator.world, 3)))
    assert job.id
    assert len(emulator.hunting.jobs) == 1
    assert emulator.count(method="POST", path_prefix="/intelligence/retrohunt_jobs") == 2
    assert client.read_backs == 1 and client.read_back_requests == 1
