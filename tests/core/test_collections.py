"""Collection diffing without Prefect: what a sync adds, removes and leaves, on real listings.

The collection is made and listed by the real client against the emulator; the plan is the
core's, the same ``sync_collection`` acts on.
"""

from __future__ import annotations

import pytest

from prefect_virustotal.client import InvalidParameterError, VirusTotalClient, parse_indicator
from prefect_virustotal.client.models import CollectionItems
from prefect_virustotal.core import (
    EMULATED_BANNER,
    CollectionSyncReport,
    collection_checkpoint,
    collection_sync_markdown,
    desired_indicators,
    plan_collection_sync,
)
from prefect_virustotal.emulator import Emulator


async def _listed(vt: VirusTotalClient, items: list[str]) -> CollectionItems:
    made = await vt.collections.create("case-core", items=items)
    return await vt.collections.all_items(made.id)


async def test_a_file_is_held_under_any_of_its_hashes_and_a_url_under_its_canonical_form(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    sha256 = emulator.world.pick("file", "malicious")
    attributes = emulator.world.get("file", sha256).attributes  # type: ignore[union-attr]
    listed = await _listed(vt, [sha256, "http://evil.example/a", "bad.example", "198.51.100.3"])
    desired = [
        parse_indicator(attributes["md5"]),
        parse_indicator("hxxp://EVIL.example/a"),
        parse_indicator("bad[.]example"),
        parse_indicator("203.0.113.9"),
    ]
    plan = plan_collection_sync(desired, listed, remove_missing=True, allow_mass_removal=False)
    assert plan.unchanged == 3
    assert [i.value for i in plan.to_add] == ["203.0.113.9"]
    assert plan.removed_shown() == ["198.51.100.3"]
    assert [(d.type, d.id) for d in plan.removal_descriptors()] == [("ip_address", "198.51.100.3")]


async def test_nothing_is_removed_unless_asked_and_never_most_of_it_by_accident(vt: VirusTotalClient) -> None:
    listed = await _listed(vt, ["a.example", "b.example", "c.example"])
    keep = [parse_indicator("a.example")]
    assert plan_collection_sync(keep, listed, remove_missing=False, allow_mass_removal=False).to_remove == []
    with pytest.raises(InvalidParameterError, match="remove 2 of the 3"):
        plan_collection_sync(keep, listed, remove_missing=True, allow_mass_removal=False)
    allowed = plan_collection_sync(keep, listed, remove_missing=True, allow_mass_removal=True)
    assert sorted(allowed.removed_shown()) == ["b.example", "c.example"]


def test_the_desired_set_reports_unused_lines_by_value_and_drops_url_credentials() -> None:
    desired, invalid = desired_indicators(
        ["evil[.]example", "https://admin:hunter2@intranet.example/login", "999.1.1.1"],
        "bad.example\n" + "a" * 63 + "\n# a comment\n",
        None,
    )
    assert [i.value for i in desired] == ["evil.example", "https://intranet.example/login", "bad.example"]
    assert invalid == ["999.1.1.1", "a" * 63]
    assert all("hunter2" not in i.value for i in desired)


def test_the_report_is_defanged_names_the_emulator_and_caps_its_lists() -> None:
    report = CollectionSyncReport(
        collection_id="c1",
        name="IR [x](http://evil.example)",
        link="https://www.virustotal.com/gui/collection/c1",
        added=[f"http://evil{n}.example/" for n in range(250)],
        emulated=True,
    )
    markdown = collection_sync_markdown(report)
    assert EMULATED_BANNER in markdown
    assert "http://evil" not in markdown and "hxxp://evil0[.]example/" in markdown
    assert "and 50 more" in markdown
    sha = "ab" * 32
    assert f"`{sha}`" in collection_sync_markdown(
        CollectionSyncReport(collection_id="c1", name="n", link="", added=[sha])
    )
    assert collection_checkpoint("IR-2041").startswith("virustotal-collection-")
    assert collection_checkpoint("IR-2041") != collection_checkpoint("IR-2042")
