"""Fault injection: deterministic, scoped by key, path and method."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from prefect_virustotal.emulator import PUBLIC_DEMO_KEY, Emulator, FaultPlan, World

from .helpers import api, error_of


async def statuses(emulator: Emulator, path: str, n: int, key: str | None = None) -> list[int]:
    async with api(emulator, **({"key": key} if key else {})) as client:
        return [(await client.get(path)).status_code for _ in range(n)]


@pytest.mark.asyncio
async def test_transient_rate_is_seeded(world: World) -> None:
    path = f"/domains/{world.pick('domain')}"
    runs = []
    for _ in range(2):
        emulator = Emulator(world=world)
        fault = emulator.faults.add("transient", rate=0.2)
        runs.append(await statuses(emulator, path, 100))
        assert fault.fired == runs[-1].count(503)
    assert runs[0] == runs[1]
    assert 8 <= runs[0].count(503) <= 35
    assert set(runs[0]) == {200, 503}


@pytest.mark.asyncio
async def test_count_faults_and_their_bodies(emu: Emulator, world: World) -> None:
    path = f"/domains/{world.pick('domain')}"
    emu.faults.add("transient", count=2)
    assert await statuses(emu, path, 3) == [503, 503, 200]
    assert emu.count(status=503) == 2
    assert emu.requests[0].fault == "transient"
    emu.faults.add("deadline", count=1)
    emu.faults.add("too_many_requests", count=1, retry_after=7)
    emu.faults.add("too_many_requests", count=1)
    async with api(emu) as client:
        assert error_of(await client.get(path))[:2] == (504, "DeadlineExceededError")
        burst = await client.get(path)
        assert error_of(burst)[:2] == (429, "TooManyRequestsError")
        assert burst.headers["retry-after"] == "7"
        plain = await client.get(path)
        assert plain.status_code == 429
        assert "retry-after" not in plain.headers
        assert (await client.get(path)).status_code == 200


@pytest.mark.asyncio
async def test_faults_cost_no_quota(emu: Emulator, world: World) -> None:
    path = f"/domains/{world.pick('domain')}"
    emu.faults.add("transient", count=10)
    assert await statuses(emu, path, 15, key=PUBLIC_DEMO_KEY) == [503] * 10 + [200] * 4 + [429]


@pytest.mark.asyncio
async def test_scoping_by_key_path_and_method(emu: Emulator, world: World) -> None:
    domain, ip = world.pick("domain"), world.pick("ip_address")
    emu.faults.add("transient", key=PUBLIC_DEMO_KEY)
    emu.faults.add("deadline", path_prefix="/ip_addresses")
    emu.faults.add("non_json", method="POST")
    assert await statuses(emu, f"/domains/{domain}", 2, key=PUBLIC_DEMO_KEY) == [503, 503]
    assert await statuses(emu, f"/domains/{domain}", 2) == [200, 200]
    assert await statuses(emu, f"/ip_addresses/{ip}", 1) == [504]
    async with api(emu) as client:
        page = await client.post(f"/domains/{domain}")
    assert page.status_code == 502
    assert page.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        page.json()
    emu.faults.clear()
    assert await statuses(emu, f"/ip_addresses/{ip}", 1, key=PUBLIC_DEMO_KEY) == [200]


@pytest.mark.asyncio
async def test_dropped_connection(emu: Emulator, world: World) -> None:
    path = f"/domains/{world.pick('domain')}"
    emu.faults.add("drop", count=1)
    emu.faults.add("drop", count=1, after_processing=True, key=PUBLIC_DEMO_KEY)
    async with api(emu) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            await client.get(path)
        assert (await client.get(path)).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(path, headers={"x-apikey": PUBLIC_DEMO_KEY})
        quotas = await client.get(
            f"/users/{PUBLIC_DEMO_KEY}/overall_quotas", headers={"x-apikey": PUBLIC_DEMO_KEY}
        )
    assert [r.status for r in emu.requests] == [None, 200, None, 200]
    # The request dropped after processing was served, so it was counted.
    assert quotas.json()["data"]["api_requests_daily"]["user"]["used"] == 2


@pytest.mark.asyncio
async def test_truncated_body(emu: Emulator, world: World) -> None:
    emu.faults.add("truncate", count=1)
    async with api(emu) as client:
        response = await client.get(f"/domains/{world.pick('domain')}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content) > 0
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.asyncio
async def test_latency_is_real(emu: Emulator, world: World) -> None:
    emu.faults.add("latency", seconds=0.05)
    emu.faults.add("latency", seconds=0.05, count=1)
    started = time.perf_counter()
    assert await statuses(emu, f"/domains/{world.pick('domain')}", 1) == [200]
    assert time.perf_counter() - started >= 0.1


def test_plan_validation() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="unknown fault kind"):
        plan.add("meteor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="error code"):
        plan.add("error")
    with pytest.raises(ValueError, match="rate"):
        plan.add("transient", rate=1.5)
    fault = plan.add("transient", count=1)
    assert plan.faults == (fault,)
    plan.remove(fault)
    assert not plan.faults


@pytest.mark.asyncio
async def test_a_write_fault_spares_reads_and_answers_carry_the_emulator_date(
    emu: Emulator, world: World
) -> None:
    emu.faults.add("transient", method="WRITE")
    async with api(emu) as client:
        read = await client.get(f"/domains/{world.pick('domain')}")
        created = await client.post("/collections", json={"data": {"type": "collection", "attributes": {}}})
        removed = await client.delete("/collections/anything")
    assert (read.status_code, created.status_code, removed.status_code) == (200, 503, 503)
    # ``Date`` is on the emulator's clock (a client dates a lost write in the service's time).
    assert parsedate_to_datetime(read.headers["date"]).timestamp() == int(emu.clock.time())
    assert len(read.headers.get_list("date")) == 1
    with emu.serving() as url:  # on loopback too: one Date (uvicorn's own is off), the emulator's
        async with httpx.AsyncClient(headers={"x-apikey": PUBLIC_DEMO_KEY}) as loopback:
            served = await loopback.get(f"{url}/domains/{world.pick('domain')}")
    assert served.headers.get_list("date") == [read.headers["date"]]
