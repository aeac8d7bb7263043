"""Livehunt rulesets through the real client, and the notifications a new file triggers."""

from __future__ import annotations

import pytest

from prefect_virustotal.client import (
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
    YaraSyntaxError,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.hunting import BAD_RULES, marker_rule

RULESETS = "/api/v3/intelligence/hunting_rulesets"


async def test_matching_file_makes_notifications_and_ioc_stream_entries(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    ruleset = await vt.livehunt.create(
        "acme-loader", marker_rule("ACME-LOADER", name="acme_loader", tags="apt crimeware")
    )
    assert ruleset.attributes.enabled is True
    assert ruleset.attributes.rule_names == ["acme_loader"]
    assert ruleset.attributes.number_of_rules == 1
    owner = emulator.quotas.get("test-premium-key-0123456789")
    assert owner is not None

    clock.advance(3600)
    quiet = emulator.add_file(b"nothing to see here")
    assert emulator.notifications.hunting == []
    sha256 = emulator.add_file(b"MZ\x90\x00 padding ACME-LOADER padding")
    assert emulator.world.get("file", sha256) is not None
    assert quiet != sha256

    (note,) = emulator.notifications.hunting
    assert note.sha256 == sha256
    assert note.owner == owner.owner
    assert note.ruleset_id == ruleset.id and note.ruleset_name == "acme-loader"
    assert note.rule_name == "acme_loader" and note.rule_tags == ["apt", "crimeware"]
    assert note.date == int(clock.time())
    assert "begin_highlight" in note.snippet and "41 43 4D 45" in note.snippet
    assert note.source_country and note.source_key
    (entry,) = [e for e in emulator.notifications.ioc_stream if e.entity_id == sha256]
    assert entry.origin == "hunting" and entry.entity_type == "file"
    assert entry.sources == [{"type": "hunting_ruleset", "id": ruleset.id, "label": "acme-loader"}]
    assert entry.hunting_info is not None and entry.hunting_info["rule_name"] == "acme_loader"

    files = await vt.livehunt.list_matching_files(ruleset.id).collect()
    assert [f.id for f in files] == [sha256]
    context = files[0].context_attributes or {}
    assert context["ruleset_id"] == ruleset.id and context["rule_name"] == "acme_loader"
    assert context["notification_id"] == note.id


async def test_disabled_rulesets_and_other_users_are_not_notified(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    ruleset = await vt.livehunt.create("off", marker_rule("OFF-MARKER"), enabled=False)
    emulator.add_file(b"OFF-MARKER one")
    assert emulator.notifications.hunting == []
    await vt.livehunt.enable(ruleset.id)
    emulator.add_file(b"OFF-MARKER two")
    assert len(emulator.notifications.hunting) == 1
    # A world file added directly (as uploads do) triggers the same evaluation.
    emulator.world.add_file(b"OFF-MARKER three")
    assert len(emulator.notifications.hunting) == 2
    # A file already in the world is not new: no second notification.
    emulator.add_file(b"OFF-MARKER two")
    assert len(emulator.notifications.hunting) == 2


async def test_limit_per_24_hours_rate_limits(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    ruleset = await vt.livehunt.create("noisy", marker_rule("NOISY"), limit=2)
    for i in range(3):
        emulator.add_file(f"NOISY {i}".encode())
    assert len(emulator.notifications.hunting) == 2
    assert (await vt.livehunt.get(ruleset.id)).attributes.rate_limited is True
    clock.advance(86400 + 1)
    emulator.add_file(b"NOISY later")
    assert len(emulator.notifications.hunting) == 3


async def test_ruleset_crud(vt: VirusTotalClient, emulator: Emulator, clock: FakeClock) -> None:
    first = await vt.livehunt.create(
        "alpha-hunt",
        marker_rule("ALPHA"),
        limit=50,
        notification_emails=["soc@example.com"],
        tags=["team-a"],
        match_object_type="file",
    )
    clock.advance(10)
    second = await vt.livehunt.create("beta-hunt", marker_rule("BETA"), enabled=False)
    got = await vt.livehunt.get(first.id)
    assert got.attributes.limit == 50
    assert got.attributes.notification_emails == ["soc@example.com"]
    assert got.attributes.tags == ["team-a"]
    assert got.attributes.creation_date is not None

    assert [r.id for r in await vt.livehunt.list(order="name+").collect()] == [first.id, second.id]
    assert [r.id for r in await vt.livehunt.list(order="creation_date-").collect()] == [second.id, first.id]
    assert [r.id for r in await vt.livehunt.list(filter="enabled:true").collect()] == [first.id]
    assert [r.id for r in await vt.livehunt.list(filter="name:beta*").collect()] == [second.id]
    assert [r.id for r in await vt.livehunt.list(filter="tag:team-a").collect()] == [first.id]

    clock.advance(10)
    renamed = await vt.livehunt.rename(first.id, "alpha-renamed")
    assert renamed.attributes.name == "alpha-renamed"
    assert renamed.attributes.modification_date and renamed.attributes.creation_date
    assert renamed.attributes.modification_date > renamed.attributes.creation_date
    changed = await vt.livehunt.update(
        first.id,
        rules=marker_rule("ALPHA", name="one") + marker_rule("ALPHA2", name="two"),
        limit=5,
        notification_emails=[],
        tags=["x", "y"],
    )
    assert changed.attributes.rule_names == ["one", "two"]
    assert changed.attributes.limit == 5 and changed.attributes.tags == ["x", "y"]
    assert (await vt.livehunt.disable(first.id)).attributes.enabled is False

    await vt.livehunt.delete(second.id)
    with pytest.raises(NotFoundError):
        await vt.livehunt.get(second.id)
    assert [r.id for r in await vt.livehunt.list().collect()] == [first.id]


async def test_bad_input_makes_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    with pytest.raises(YaraSyntaxError) as caught:
        await vt.livehunt.create("bad", BAD_RULES)
    assert caught.value.rule_name == "broken"
    with pytest.raises(InvalidParameterError):
        await vt.livehunt.create("", marker_rule("X"))
    with pytest.raises(InvalidParameterError):
        await vt.livehunt.create("x", marker_rule("X"), limit=0)
    with pytest.raises(InvalidParameterError):
        await vt.livehunt.create("x", marker_rule("X"), match_object_type="email")
    with pytest.raises(InvalidParameterError):
        await vt.livehunt.update("123")
    with pytest.raises(YaraSyntaxError):
        await vt.livehunt.update("123", rules=BAD_RULES)
    with pytest.raises(InvalidParameterError):
        vt.livehunt.list(order="name; drop")
    assert emulator.count() == 0


async def test_vt_module_rules_are_stored_but_never_match_here(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    source = 'import "vt"\nrule new_file { condition: vt.metadata.new_file }\n'
    ruleset = await vt.livehunt.create("vt-module", source)
    assert ruleset.attributes.rule_names == ["new_file"]
    emulator.add_file(b"anything")
    assert emulator.notifications.hunting == []
    assert emulator.count("POST", RULESETS) == 1


async def test_match_object_type_is_sent_as_the_reference_spells_it(vt: VirusTotalClient) -> None:
    # create-hunting-ruleset: "Allowed values are file, url, domain and ip" (not ip_address).
    by_ip = await vt.livehunt.create("ip-hunt", marker_rule("X"), match_object_type="ip")
    assert by_ip.attributes.match_object_type == "ip"
    # The IP object's type name is taken as a synonym, and sent as the reference's value.
    synonym = await vt.livehunt.create("ip-hunt-2", marker_rule("Y"), match_object_type="ip_address")
    assert synonym.attributes.match_object_type == "ip"
    moved = await vt.livehunt.update(synonym.id, match_object_type="domain")
    assert moved.attributes.match_object_type == "domain"
