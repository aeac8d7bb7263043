"""The emulator's test-only request log route and the per-minute key option of its CLI."""

from __future__ import annotations

import httpx

from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.emulator.__main__ import _key


async def test_request_log_route_lists_requests_without_keys() -> None:
    emulator = Emulator(seed=0, clock=FakeClock())
    emulator.add_key("admin-route-key-0123456789", tier="premium", per_minute=2)
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://emu") as http:
        for _ in range(3):
            await http.get("/api/v3/domains/example.com", headers={"x-apikey": "admin-route-key-0123456789"})
        body = (await http.get("/_emulator/requests")).json()
        later = (await http.get("/_emulator/requests", params={"since": "9999999999"})).json()
        bad = await http.get("/_emulator/requests", params={"since": "soon"})
    statuses = [r["status"] for r in body["requests"]]
    assert statuses[:2] != [429, 429] and statuses[2] == 429  # the third one is over the minute
    assert all(set(r) == {"time", "method", "path", "status"} for r in body["requests"])
    assert "admin-route-key" not in str(body)
    assert later == {"requests": []}
    assert bad.status_code == 400


def test_cli_key_with_its_own_minute_quota() -> None:
    key = _key("k-123:premium:120")
    assert (key.key, key.tier.value, key.minute_quota) == ("k-123", "premium", 120)
    assert _key("k-123:public").minute_quota == 4
    assert _key("a:b:7").key == "a:b:7"  # not a tier: the whole text is the key
