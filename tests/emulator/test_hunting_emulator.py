"""The emulator's hunting routes (livehunt, retrohunt) spoken to with plain httpx."""

from __future__ import annotations

import pytest

from prefect_virustotal.emulator import Emulator, FakeClock
from tests.emulator.helpers import api, error_of

RULES = 'rule r { strings: $a = "x" condition: $a }'


def _ruleset(kind: str) -> dict[str, object]:
    attributes = {"name": f"by-{kind}", "rules": RULES, "match_object_type": kind}
    return {"data": {"type": "hunting_ruleset", "attributes": attributes}}


@pytest.mark.parametrize("kind", ["file", "url", "domain", "ip"])
async def test_match_object_type_takes_the_reference_values(emu: Emulator, kind: str) -> None:
    async with api(emu) as http:
        answer = await http.post("/intelligence/hunting_rulesets", json=_ruleset(kind))
        assert answer.status_code == 200
        assert answer.json()["data"]["attributes"]["match_object_type"] == kind


@pytest.mark.parametrize("kind", ["ip_address", "email", ""])
async def test_match_object_type_refuses_other_values(emu: Emulator, kind: str) -> None:
    async with api(emu) as http:
        status, code, _ = error_of(await http.post("/intelligence/hunting_rulesets", json=_ruleset(kind)))
    assert (status, code) == (400, "InvalidArgumentError")
    assert emu.hunting.rulesets == {}


def _job(**attributes: object) -> dict[str, object]:
    return {"data": {"type": "retrohunt_job", "attributes": {"rules": RULES, **attributes}}}


async def test_retrohunt_statuses_are_only_the_documented_ones(emu: Emulator, fake_clock: FakeClock) -> None:
    documented = {"starting", "running", "aborting", "aborted", "finished"}
    seen: list[str] = []
    async with api(emu) as http:
        job = (await http.post("/intelligence/retrohunt_jobs", json=_job())).json()["data"]
        other = (await http.post("/intelligence/retrohunt_jobs", json=_job())).json()["data"]
        await http.post(f"/intelligence/retrohunt_jobs/{other['id']}/abort")
        for _ in range(30):
            for ident in (job["id"], other["id"]):
                body = (await http.get(f"/intelligence/retrohunt_jobs/{ident}")).json()["data"]
                seen.append(body["attributes"]["status"])
            fake_clock.advance(30)
    assert set(seen) == documented
    assert seen[0] == "starting"


async def test_retrohunt_notification_email_is_one_string(emu: Emulator) -> None:
    async with api(emu) as http:
        one = await http.post("/intelligence/retrohunt_jobs", json=_job(notification_email="soc@example.com"))
        assert one.json()["data"]["attributes"]["notification_email"] == "soc@example.com"
        listed = _job(notification_email=["a@example.com", "b@example.com"])
        status, code, _ = error_of(await http.post("/intelligence/retrohunt_jobs", json=listed))
    assert (status, code) == (400, "InvalidArgumentError")
