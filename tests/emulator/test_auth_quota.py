"""Authentication, per-key quotas on the fake clock, and the user endpoints."""

from __future__ import annotations

import pytest

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, PUBLIC_DEMO_KEY, Emulator, FakeClock, World

from .helpers import api, error_of

DAY = 86400


@pytest.mark.asyncio
async def test_missing_wrong_and_inactive_keys(emu: Emulator, world: World) -> None:
    emu.add_key("sleeping-key", active=False)
    path = f"/domains/{world.pick('domain')}"
    async with api(emu, key=None) as client:
        assert error_of(await client.get(path)) == (
            401,
            "AuthenticationRequiredError",
            "X-Apikey header is missing",
        )
        assert error_of(await client.get(path, headers={"x-apikey": "wrong"}))[:2] == (
            401,
            "WrongCredentialsError",
        )
        assert error_of(await client.get(path, headers={"x-apikey": "sleeping-key"}))[:2] == (
            401,
            "UserNotActiveError",
        )
        for header in ("X-Apikey", "X-APIKEY", "x-apikey"):
            assert (await client.get(path, headers={header: PUBLIC_DEMO_KEY})).status_code == 200


@pytest.mark.asyncio
async def test_public_minute_quota(emu: Emulator, fake_clock: FakeClock, world: World) -> None:
    path = f"/domains/{world.pick('domain')}"
    async with api(emu, key=PUBLIC_DEMO_KEY) as client:
        # Requests refused by authentication cost nothing.
        for _ in range(3):
            assert (await client.get(path, headers={"x-apikey": "wrong"})).status_code == 401
        statuses = [(await client.get(path)).status_code for _ in range(4)]
        assert statuses == [200] * 4
        status, code, message = error_of(await client.get(path))
        assert (status, code) == (429, "QuotaExceededError")
        assert "minute" in message
        assert "daily" not in message
        assert "monthly" not in message
        fake_clock.advance(59)
        assert (await client.get(path)).status_code == 429, "fixed window: same minute"
        fake_clock.advance(1)
        # The refused requests did not consume anything: a full minute quota again.
        assert [(await client.get(path)).status_code for _ in range(5)] == [200] * 4 + [429]
    assert emu.count(status=429) == 3


@pytest.mark.asyncio
async def test_not_found_counts_against_quota(emu: Emulator) -> None:
    async with api(emu, key=PUBLIC_DEMO_KEY) as client:
        for _ in range(4):
            assert (await client.get("/files/" + "0" * 64)).status_code == 404
        assert (await client.get("/files/" + "0" * 64)).status_code == 429


@pytest.mark.asyncio
async def test_daily_quota_resets_at_midnight_utc(world: World) -> None:
    clock = FakeClock(start=1767225600 + DAY - 120)  # 2026-01-01T23:58:00Z
    emulator = Emulator(clock=clock, world=world)
    emulator.add_key("small-daily", tier="premium", per_minute=1000, per_day=3)
    path = f"/domains/{world.pick('domain')}"
    async with api(emulator, key="small-daily") as client:
        assert [(await client.get(path)).status_code for _ in range(3)] == [200] * 3
        status, code, message = error_of(await client.get(path))
        assert (status, code) == (429, "QuotaExceededError")
        assert "daily quota of 3" in message
        assert "minute" not in message
        clock.advance(60)
        assert (await client.get(path)).status_code == 429
        clock.advance(60)  # 2026-01-02T00:00:00Z
        assert (await client.get(path)).status_code == 200


@pytest.mark.asyncio
async def test_monthly_quota(world: World) -> None:
    clock = FakeClock(start=1767225600 + 30 * DAY)  # 2026-01-31T00:00:00Z
    emulator = Emulator(clock=clock, world=world)
    emulator.add_key("small-monthly", tier="premium", per_month=2)
    path = f"/domains/{world.pick('domain')}"
    async with api(emulator, key="small-monthly") as client:
        assert [(await client.get(path)).status_code for _ in range(2)] == [200] * 2
        status, code, message = error_of(await client.get(path))
        assert (status, code) == (429, "QuotaExceededError")
        assert "monthly" in message
        assert "daily" not in message
        assert "minute" not in message
        clock.advance(DAY)  # 2026-02-01
        assert (await client.get(path)).status_code == 200


@pytest.mark.asyncio
async def test_user_and_overall_quotas(emu: Emulator) -> None:
    async with api(emu, key=PUBLIC_DEMO_KEY) as client:
        quotas = (await client.get(f"/users/{PUBLIC_DEMO_KEY}/overall_quotas")).json()["data"]
        assert quotas["api_requests_daily"]["user"] == {"allowed": 500, "used": 1}
        assert quotas["api_requests_monthly"]["user"] == {"allowed": 15500, "used": 1}
        assert quotas["api_requests_hourly"]["user"] == {"allowed": 240, "used": 1}
        user = (await client.get("/users/emulator-public")).json()["data"]
        assert user["type"] == "user"
        assert user["id"] == "emulator-public"
        assert user["attributes"]["quotas"]["api_requests_daily"] == {"allowed": 500, "used": 2}
        assert isinstance(user["attributes"]["user_since"], int)
        assert error_of(await client.get("/users/emulator-premium"))[:2] == (403, "ForbiddenError")
        assert error_of(await client.get(f"/users/{PREMIUM_DEMO_KEY}"))[:2] == (403, "ForbiddenError")
    async with api(emu) as client:
        assert error_of(await client.get("/users/nobody"))[:2] == (404, "NotFoundError")
