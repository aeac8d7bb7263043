"""The analysis wait's schedule: close to the analysis' end on a premium key, thrifty on a public one."""

from __future__ import annotations

import itertools

import pytest

from prefect_virustotal.client import InvalidParameterError, LocalRateLimiter, VirusTotalClient
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY


def _polls(emulator: Emulator) -> list[float]:
    return [r.time for r in emulator.requests if r.path.startswith("/api/v3/analyses/")]


@pytest.mark.parametrize("duration", [30, 60, 120])
async def test_a_premium_key_sees_the_end_within_a_tenth_of_the_duration(
    emulator: Emulator, clock: FakeClock, duration: int
) -> None:
    async with VirusTotalClient(
        PREMIUM_KEY,
        base_url=emulator.base_url,
        transport=emulator.transport(),
        clock=clock,
        limiter=LocalRateLimiter(1000, clock=clock),
    ) as vt:
        emulator.scanning.set_durations(queued=duration / 3, running=duration * 2 / 3)
        analysis = await vt.files.upload(f"sample of {duration}s".encode())
        start = clock.monotonic()
        done = await vt.analyses.wait(analysis.id)
        waited = clock.monotonic() - start
    assert done.attributes.completed
    # The old schedule (5 s growing by 1.5) saw a 30 s analysis at 40.6 s: 1.35x.
    assert duration <= waited <= 1.1 * duration
    polls = _polls(emulator)
    assert len(polls) <= 30  # logarithmic in the duration, not one every initial_interval
    assert emulator.count(status=429) == 0


async def test_a_resumed_wait_paces_by_the_analysis_age(emulator: Emulator, clock: FakeClock) -> None:
    async with VirusTotalClient(
        PREMIUM_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as vt:
        emulator.scanning.set_durations(queued=300, running=900)
        analysis = await vt.files.upload(b"long sample")
        clock.advance(600)  # the flow crashed; a rerun attaches to the analysis ten minutes on
        await vt.analyses.wait(analysis.id)
    gaps = [b - a for a, b in itertools.pairwise(_polls(emulator))]
    # Its own date says it has been going 600 s: the first pause is a tenth of that (capped at
    # max_interval), not the 5 s a fresh wait starts with.
    assert gaps[0] == pytest.approx(60)
    assert len(gaps) <= 12


async def test_a_public_key_still_polls_once_a_minute(emulator: Emulator, clock: FakeClock) -> None:
    async with VirusTotalClient(
        PUBLIC_KEY,
        base_url=emulator.base_url,
        transport=emulator.transport(),
        clock=clock,
        limiter=LocalRateLimiter(4, clock=clock),
    ) as vt:
        emulator.scanning.set_durations(queued=10, running=20)
        analysis = await vt.files.upload(b"public sample")
        await vt.analyses.wait(analysis.id)
    polls = _polls(emulator)
    assert [b - a for a, b in itertools.pairwise(polls)] == [60]


async def test_a_bad_precision_costs_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    analysis = await vt.files.upload(b"x")
    before = len(emulator.requests)
    with pytest.raises(InvalidParameterError):
        await vt.analyses.wait(analysis.id, precision=0)
    assert len(emulator.requests) == before
