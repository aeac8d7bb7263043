"""The analysis wait's schedule: close to the analysis' end on a premium key, thrifty on a public one."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from prefect_virustotal.client import (
    AnalysisTimeoutError,
    InvalidParameterError,
    LocalRateLimiter,
    VirusTotalClient,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY

T = TypeVar("T")


def _polls(emulator: Emulator) -> list[float]:
    return [r.time for r in emulator.requests if r.path.startswith("/api/v3/analyses/")]


class VirtualClock(FakeClock):
    """The fake clock for concurrent sleepers: time moves to the earliest wake-up only once every
    task is asleep (``FakeClock`` adds each sleeper's pause to one shared time instead, which
    bunches concurrent pollers up in a way no real clock does)."""

    def __init__(self) -> None:
        super().__init__()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.monotonic() + max(0.0, seconds), next(self._order), wake))
        await wake

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(200):  # every runnable task reaches its next sleep (all in process)
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                when, _, wake = heapq.heappop(self._sleepers)
                self.advance(max(0.0, when - self.monotonic()))
                wake.set_result(None)
        return task.result()


def _client(
    emulator: Emulator, clock: FakeClock, key: str, per_minute: int | None = None
) -> VirusTotalClient:
    """A client of ``key`` on the emulator and the fake clock, paced at ``per_minute`` if given."""
    limiter = LocalRateLimiter(per_minute, clock=clock) if per_minute else None
    return VirusTotalClient(
        key, base_url=emulator.base_url, transport=emulator.transport(), clock=clock, limiter=limiter
    )


@pytest.mark.parametrize("duration", [30, 60, 120])
async def test_a_premium_key_sees_the_end_within_a_tenth_of_the_duration(
    emulator: Emulator, clock: FakeClock, duration: int
) -> None:
    async with _client(emulator, clock, PREMIUM_KEY, 1000) as vt:
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
    async with _client(emulator, clock, PREMIUM_KEY) as vt:
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
    async with _client(emulator, clock, PUBLIC_KEY, 4) as vt:
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


def _virtual_emulator() -> tuple[Emulator, VirtualClock]:
    clock = VirtualClock()
    emulator = Emulator(seed=0, clock=clock)
    emulator.add_key(PUBLIC_KEY, tier="public")
    emulator.add_key(PREMIUM_KEY, tier="premium")
    return emulator, clock


async def _wait_on_own_client(
    emulator: Emulator, clock: FakeClock, analysis_id: str, timeout: float
) -> float:
    """One wait with its own client and limiter on the public key (as one task run would have)."""
    async with _client(emulator, clock, PUBLIC_KEY, 4) as client:
        began = clock.monotonic()
        with contextlib.suppress(AnalysisTimeoutError):
            await client.analyses.wait(analysis_id, timeout=timeout)
        return clock.monotonic() - began


async def _uploads(emulator: Emulator, clock: FakeClock, count: int) -> list[str]:
    async with _client(emulator, clock, PREMIUM_KEY) as vt:
        return [(await vt.files.upload(f"shared budget {i}".encode())).id for i in range(count)]


async def test_concurrent_waits_of_one_public_key_share_its_poll_budget() -> None:
    """Eight waits, each with its own client and limiter (as eight task runs would have): their
    polls together keep to a quarter of the key's 4 a minute, so the key never sees a 429."""
    emulator, clock = _virtual_emulator()
    emulator.scanning.set_durations(queued=60, running=120)
    ids = await clock.run(_uploads(emulator, clock, 8))
    emulator.reset_log()
    start = clock.monotonic()

    async def all_waits() -> list[float]:
        return await asyncio.gather(*(_wait_on_own_client(emulator, clock, i, 3600) for i in ids))

    await clock.run(all_waits())
    elapsed = clock.monotonic() - start
    assert emulator.count(status=429) == 0
    # One poll a minute for all eight together (each alone would poll once a minute).
    polls = _polls(emulator)
    assert len(polls) <= elapsed / 60 + 1
    assert all(b - a >= 59.9 for a, b in itertools.pairwise(polls))


async def test_a_wait_gives_up_at_its_deadline_when_the_budget_has_no_turn_left() -> None:
    emulator, clock = _virtual_emulator()
    emulator.scanning.set_durations(queued=600, running=600)
    ids = await clock.run(_uploads(emulator, clock, 4))
    emulator.reset_log()

    async def all_waits() -> list[float]:
        return await asyncio.gather(*(_wait_on_own_client(emulator, clock, i, 90) for i in ids))

    waited = await clock.run(all_waits())
    # Bounded: nobody waits for a turn past its own deadline; the turns went to two polls.
    assert all(w <= 90.5 for w in waited)
    assert emulator.count(status=429) == 0 and len(_polls(emulator)) == 2


@pytest.mark.parametrize("duration", [30, 120])
async def test_a_private_analysis_is_seen_when_its_sandbox_says_it_ends(
    emulator: Emulator, clock: FakeClock, duration: int
) -> None:
    async with _client(emulator, clock, PREMIUM_KEY, 1000) as vt:
        emulator.scanning.set_durations(queued=duration / 6, running=duration * 5 / 6)
        analysis = await vt.private.upload(f"private sample of {duration}s".encode())
        start = clock.monotonic()
        done = await vt.analyses.wait(analysis.id, private=True)
        waited = clock.monotonic() - start
    assert done.attributes.completed
    # The proportional schedule alone sees the end up to a tenth late; the sandbox's own
    # progress puts a poll at its end.
    assert duration <= waited <= duration + 1.5
    polls = [r for r in emulator.requests if r.path.startswith("/api/v3/private/analyses/")]
    assert len(polls) <= 30  # no more than the proportional schedule spends
