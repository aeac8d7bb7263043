"""The emulator's hunting routes (livehunt, retrohunt) spoken to with plain httpx."""

from __future__ import annotations

import pytest

from prefect_virustotal.emulator import Emulator
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
