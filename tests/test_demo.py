"""The bundled demo ticket names objects that exist in the seed-0 emulator world."""

from __future__ import annotations

from pathlib import Path

from prefect_virustotal.client import extract_indicators
from prefect_virustotal.emulator import Emulator

TICKET = Path(__file__).resolve().parent.parent / "demo" / "ticket.txt"


def test_demo_ticket_matches_the_world() -> None:
    world = Emulator(seed=0).world
    found = extract_indicators(TICKET.read_text())
    kinds = {i.kind for i in found}
    assert kinds == {"file", "url", "domain", "ip_address"}
    known = [i for i in found if world.get(i.kind, i.id) is not None]
    unknown = [i.value for i in found if world.get(i.kind, i.id) is None]
    assert unknown == ["0" * 61 + "bad"]
    assert len(known) == len(found) - 1
