"""The shared quota: the limiter's arithmetic, the Prefect-backed limiter, the daily reserve."""

from __future__ import annotations

import logging
import random

import pytest
from prefect.client.orchestration import get_client
from pydantic import SecretStr

from prefect_virustotal.blocks import (
    DailyReserveError,
    PrefectRateLimiter,
    SharedRateLimitError,
    VirusTotalCredentials,
    ensure_daily_budget,
    rate_limit_name_for,
    rate_limit_settings,
)
from prefect_virustotal.blocks._ratelimit import (
    GUARD_SECONDS,
    SLOT_TTL,
    SLOTS_PER_REQUEST,
)
from prefect_virustotal.client import InvalidParameterError, LocalRateLimiter, VirusTotalClient
from prefect_virustotal.client.models import OverallQuotas
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import check_daily_budget
from tests.conftest import PREMIUM_KEY

SMALL_DAY_KEY = "small-day-key-0123456789"


@pytest.mark.parametrize(
    ("quota", "capacity"), [(4, 1), (39, 1), (60, 2), (120, 2), (360, 4), (1000, 13), (10_000, 87)]
)
def test_settings_leave_room_for_the_batch_and_the_spending_delay(quota: int, capacity: int) -> None:
    limit, decay = rate_limit_settings(quota)
    assert limit == capacity * SLOTS_PER_REQUEST
    per_second = decay / SLOTS_PER_REQUEST
    # A bucket hands out at most capacity + rate * W requests in W seconds; a request reaches
    # the API less than GUARD_SECONDS after its slot was taken (SLOT_TTL after it was asked
    # for, plus the path), so a minute sees slots taken within less than 60 + GUARD_SECONDS.
    assert GUARD_SECONDS > SLOT_TTL
    assert capacity + per_second * (60 + GUARD_SECONDS) <= quota + 1 + 1e-9
    # What the limit allows at most (96.7 % for 360/min, 97.9 % with --guard 0.8).
    assert per_second * 60 / quota >= 0.95


def test_a_responsive_server_can_take_a_guard_that_allows_over_97_percent() -> None:
    """The default for 360/min: a limit of 4 requests (a batch of 2, 2 of headroom) and a guard of
    1.5 s, 96.7 % at most; ``setup --guard 0.8`` for a server that answers well within 0.7 s
    keeps 4 and allows 97.9 %."""
    limit, decay = rate_limit_settings(360)
    assert limit == 4 * SLOTS_PER_REQUEST
    assert 4 + decay / SLOTS_PER_REQUEST * (60 + GUARD_SECONDS) <= 361 + 1e-9
    assert decay / SLOTS_PER_REQUEST * 60 / 360 >= 0.966
    limit, decay = rate_limit_settings(360, guard=0.8)
    assert limit == 4 * SLOTS_PER_REQUEST
    assert decay / SLOTS_PER_REQUEST * 60 / 360 >= 0.978
    with pytest.raises(ValueError, match="guard"):
        rate_limit_settings(360, 3, 0.5)


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        rate_limit_settings(0)
    with pytest.raises(ValueError, match="batch"):
        rate_limit_settings(4, batch=5)


@pytest.mark.parametrize("quota", [4, 60, 360])
def test_no_minute_exceeds_the_quota_whatever_the_takers_do(quota: int) -> None:
    """Simulate the server's arithmetic (floor decay, clock restarted by every update) with
    takers asking for random numbers of requests at random times, spending within SLOT_TTL."""
    limit, decay = rate_limit_settings(quota)
    capacity = limit // SLOTS_PER_REQUEST
    rng = random.Random(quota)
    active, updated, now = 0, 0.0, 0.0
    sent: list[float] = []
    while now < 600:
        want = rng.randint(1, capacity)
        if rng.random() < 0.7:  # as the limiter does: come back when the slots are free
            free_at = updated + max(0, active + want * SLOTS_PER_REQUEST - limit) / decay
            now = max(now, free_at) + rng.choice([0.0, 0.0001, 0.05])
        else:  # or at any time (other takers, plain rate_limit)
            now += rng.choice([0.0, 0.001, 0.01, 0.1, 0.5])
        decayed = max(0, active - int(decay * (now - updated)))
        if decayed + want * SLOTS_PER_REQUEST <= limit:
            active, updated = decayed + want * SLOTS_PER_REQUEST, now
            sent += [now + rng.uniform(0, SLOT_TTL) for _ in range(want)]
        else:
            updated = now  # a refusal restarts the clock; the stored count stays
    sent.sort()
    assert len(sent) > 5 * quota  # the takers kept the limit busy
    for i, start in enumerate(sent):  # every 60-second window, however aligned
        assert sum(1 for t in sent[i : i + quota + 1] if t < start + 60) <= quota


def test_limiter_names() -> None:
    assert rate_limit_name_for("virustotal") == "virustotal-virustotal"
    with pytest.raises(ValueError, match="name"):
        PrefectRateLimiter("")


def test_the_block_selects_the_shared_limiter() -> None:
    local = VirusTotalCredentials(api_key=SecretStr("k" * 20))
    assert isinstance(local.limiter(), LocalRateLimiter)
    shared = VirusTotalCredentials(api_key=SecretStr("k" * 20), rate_limit_name="virustotal-x")
    limiter = shared.limiter()
    assert isinstance(limiter, PrefectRateLimiter)
    assert limiter.name == "virustotal-x"
    assert "k" * 20 not in repr(limiter)


@pytest.mark.usefixtures("prefect_harness")
async def test_a_missing_limit_is_an_error_not_a_no_op() -> None:
    limiter = PrefectRateLimiter("virustotal-no-such-limit")
    with pytest.raises(SharedRateLimitError, match="does not exist"):
        await limiter.acquire()


@pytest.mark.usefixtures("prefect_harness")
async def test_a_limit_without_decay_is_refused() -> None:
    async with get_client() as prefect:
        await prefect.upsert_global_concurrency_limit_by_name("virustotal-no-decay", 5)
    with pytest.raises(SharedRateLimitError, match="no slot decay"):
        await PrefectRateLimiter("virustotal-no-decay").acquire()


@pytest.mark.usefixtures("prefect_harness")
async def test_three_processes_pace_on_a_real_prefect_limit_within_its_bound() -> None:
    """Three limiters, each with its own plan and slots as a process has, share one limit on a
    real Prefect server, each with requests waiting: whatever their takes overlap and whoever
    is refused, the requests spent in any span of ``W`` seconds stay within what the bucket
    hands out in ``W`` plus the slot life (``c + r x (W + life)``): the bound that keeps every
    minute within the quota."""
    import asyncio

    from prefect_virustotal.blocks._ratelimit import PrefectLimits
    from tests.quota_windows import most_in_a_minute

    quota = 1200
    name = "virustotal-unit-three"
    limit, decay = rate_limit_settings(quota)
    async with get_client() as prefect:
        await prefect.upsert_global_concurrency_limit_by_name(name, limit, decay)
    limiters = [PrefectRateLimiter(name, requests_per_minute=quota, server=PrefectLimits()) for _ in range(3)]
    spent: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + 6.0

    async def requests(limiter: PrefectRateLimiter) -> None:
        while loop.time() < end:
            await limiter.acquire()
            spent.append(loop.time())

    await asyncio.gather(*(requests(limiter) for limiter in limiters for _ in range(6)))
    capacity, rate = limit / SLOTS_PER_REQUEST, decay / SLOTS_PER_REQUEST
    for window in (0.5, 1.0, 2.0, 4.0):
        assert most_in_a_minute(spent, window) <= capacity + rate * (window + SLOT_TTL), window
    stats = [limiter.stats for limiter in limiters]
    assert sum(s["taken"] - s["expired"] for s in stats) >= len(spent)  # a waiter may hold one
    assert sum(s["taken"] for s in stats) >= 20, stats  # the limit was kept busy


@pytest.mark.usefixtures("prefect_harness")
async def test_requests_draw_batches_from_the_server(mounted: Emulator) -> None:
    name = "virustotal-unit-batches"
    limit, decay = rate_limit_settings(6000, batch=10)  # fast: 10 requests per ~0.1 s
    async with get_client() as prefect:
        await prefect.upsert_global_concurrency_limit_by_name(name, limit, decay)
    block = VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_KEY), base_url=mounted.base_url, rate_limit_name=name, daily_budget=None
    )
    world = mounted.world
    ips = [world.pick("ip_address") for _ in range(3)]
    async with block.get_client() as vt:
        assert isinstance(vt.limiter, PrefectRateLimiter)
        import asyncio

        await asyncio.gather(*(vt.ip_addresses.get(ip) for ip in ips * 4))
        stats = vt.limiter.stats
    assert mounted.count("GET", "/ip_addresses") == 12
    assert stats["taken"] >= 12
    assert stats["taken"] - stats["expired"] == 12
    async with get_client() as prefect:
        state = await prefect.read_global_concurrency_limit_by_name(name)
    assert state.active_slots <= limit


async def test_overall_quotas_of_the_keys_own_user(
    vt: VirusTotalClient, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quotas = await vt.users.get_overall_quotas()
    assert isinstance(quotas, OverallQuotas)
    assert quotas.daily.allowed == 1_000_000
    assert quotas.daily.used == 1  # this request
    assert quotas.monthly.remaining == quotas.monthly.allowed - 1
    assert PREMIUM_KEY not in caplog.text  # the key travels in the path: logs hide it
    owner = emulator.quotas.get(PREMIUM_KEY).owner  # type: ignore[union-attr]
    by_id = await vt.users.get_overall_quotas(owner)
    assert by_id.daily.used == 2


async def test_a_malformed_user_id_costs_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    with pytest.raises(InvalidParameterError):
        await vt.users.get_overall_quotas("a/b")
    assert emulator.count() == 0


@pytest.fixture
def small_day(mounted: Emulator) -> VirusTotalCredentials:
    mounted.add_key(SMALL_DAY_KEY, tier="premium", per_day=20)
    # A premium key paces as one: with the public default (4/min) the process-wide limiter of
    # this key, shared by every test that uses it, made the fifth request wait a real minute.
    return VirusTotalCredentials(
        api_key=SecretStr(SMALL_DAY_KEY),
        base_url=mounted.base_url,
        requests_per_minute=10_000,
        daily_budget=None,
        daily_reserve=10,
    )


async def test_the_reserve_guard_refuses_work_that_would_eat_into_it(
    small_day: VirusTotalCredentials,
) -> None:
    quotas = await ensure_daily_budget(small_day, needed=9)  # 20 - 1 used - 9 = 10 left: fine
    assert quotas.daily.used == 1
    with pytest.raises(DailyReserveError, match="kept in reserve for incident response") as caught:
        await ensure_daily_budget(small_day, needed=9)  # 20 - 2 - 9 = 9 < 10
    assert "18 of today's 20 remain" in str(caught.value)
    assert SMALL_DAY_KEY not in str(caught.value)
    # An incident runbook may spend the reserve.
    await ensure_daily_budget(small_day, needed=9, reserve=0)


@pytest.mark.usefixtures("prefect_harness")
async def test_check_daily_budget_task(small_day: VirusTotalCredentials) -> None:
    quotas = await check_daily_budget(needed=1, credentials=small_day)
    assert quotas.daily.allowed == 20
    with pytest.raises(DailyReserveError):
        await check_daily_budget(needed=15, credentials=small_day)


@pytest.mark.usefixtures("prefect_harness")
async def test_enrich_iocs_refuses_to_eat_into_the_reserve(small_day: VirusTotalCredentials) -> None:
    from prefect_virustotal.flows import enrich_iocs

    with pytest.raises(DailyReserveError, match="reserve"):
        await enrich_iocs(indicators=[f"10.0.0.{i}" for i in range(1, 16)], credentials=small_day)
