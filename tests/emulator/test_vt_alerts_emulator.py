"""VT Alerts in the emulator: watchlist assets per user, and notifications the world raises."""

from __future__ import annotations

import re

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, PUBLIC_DEMO_KEY, Emulator, FakeClock
from tests.conftest import fresh_world

from .helpers import api, error_of


def _asset(kind: str, value: str) -> dict[str, object]:
    return {"data": {"type": "alerting_asset", "attributes": {"asset_type": kind, "value": value}}}


async def test_assets_are_per_user_and_validated(fake_clock: FakeClock) -> None:
    emu = Emulator(seed=0, clock=fake_clock, world=fresh_world())
    emu.add_key("other-premium-key-0123", tier="premium")
    async with api(emu) as http, api(emu, "other-premium-key-0123") as other:
        made = (await http.post("/alerts/assets", json=_asset("domain", "Acme-Corp.example"))).json()["data"]
        assert made["type"] == "alerting_asset" and made["attributes"]["value"] == "acme-corp.example"
        assert re.fullmatch(r"\d+", made["id"])
        ip = (await http.post("/alerts/assets", json=_asset("ip range", "198.51.100.7/24"))).json()["data"]
        assert ip["attributes"]["value"] == "198.51.100.0/24"
        for bad in (_asset("email", "x"), _asset("ip range", "not-a-cidr"), _asset("domain", "")):
            assert error_of(await http.post("/alerts/assets", json=bad))[:2] == (400, "InvalidArgumentError")
        listed = (await http.get("/alerts/assets")).json()["data"]
        assert [a["id"] for a in listed] == [made["id"], ip["id"]]
        assert (await other.get("/alerts/assets")).json()["data"] == []
        assert error_of(await other.get(f"/alerts/assets/{made['id']}"))[0] == 404
        assert (await http.delete(f"/alerts/assets/{made['id']}")).status_code == 200
        assert error_of(await http.get(f"/alerts/assets/{made['id']}"))[0] == 404
    async with api(emu, PUBLIC_DEMO_KEY) as public:
        assert error_of(await public.get("/alerts/assets"))[:2] == (403, "ForbiddenError")


async def test_the_world_raises_notifications_for_watched_assets(fake_clock: FakeClock) -> None:
    emu = Emulator(seed=0, clock=fake_clock, world=fresh_world())
    emu.scanning.set_durations(queued=0, running=0)
    async with api(emu) as http:
        await http.post("/alerts/assets", json=_asset("domain", "acme-corp.example"))
        await http.post("/alerts/assets", json=_asset("ip range", "198.51.100.0/24"))
        await http.post("/urls", data={"url": "http://login.acme-corp.example/verify"})
        await http.post("/urls", data={"url": "http://198.51.100.9/payload"})
        await http.post("/urls", data={"url": "http://unrelated.example/"})
        fake_clock.advance(5)
        upload = b"MZ config: beacon to acme-corp.example every 60s"
        await http.post("/files", files={"file": ("implant.exe", upload)})
        page = (await http.get("/alerts/notifications", params={"order": "created+"})).json()
        notes = page["data"]
        assert [n["attributes"]["detection_category"] for n in notes] == [
            "DETECTED_URL",
            "DETECTED_URL",
            "PATTERN_EMBEDDED_IN_FILE",
        ]
        first = notes[0]
        assert first["type"] == "alerting_notification"
        attributes = first["attributes"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", attributes["created"])
        assert attributes["event_severity"] in ("info", "low", "medium", "high")
        assert attributes["is_read"] is False and attributes["use_case_category"]
        assert attributes["event_message_json"]["timestamp"]["seconds"] > 0
        one = (await http.get(f"/alerts/notifications/{first['id']}")).json()["data"]
        assert one == first
        newest = (await http.get("/alerts/notifications")).json()["data"]
        assert [n["id"] for n in newest] == [n["id"] for n in reversed(notes)]
    injected = emu.inject_vt_alert(key=PREMIUM_DEMO_KEY, entity_type="ip_address")
    async with api(emu) as http:
        assert (await http.get(f"/alerts/notifications/{injected.id}")).status_code == 200
