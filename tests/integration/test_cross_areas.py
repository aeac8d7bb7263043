"""Areas built apart, working together: uploads feed livehunt, livehunt feeds the IoC Stream."""

from __future__ import annotations

from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.emulator import Emulator

RULE = """
rule cross_area_marker {
    strings:
        $m = "CROSS-AREA-MARKER-7f3c"
    condition:
        $m
}
"""


async def test_an_uploaded_file_triggers_livehunt_and_reaches_the_ioc_stream(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    ruleset = await vt.livehunt.create("cross-area", RULE)
    assert ruleset.id
    await vt.files.upload(b"MZ....CROSS-AREA-MARKER-7f3c....", filename="dropper.bin")
    await vt.files.upload(b"nothing to see here", filename="benign.txt")
    hunting = emulator.notifications.hunting
    assert [n.rule_name for n in hunting] == ["cross_area_marker"]
    stream = [n for n in emulator.notifications.ioc_stream if n.origin == "hunting"]
    assert [n.entity_id for n in stream] == [hunting[0].sha256]
