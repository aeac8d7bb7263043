"""The client's ``vt.collections`` against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from prefect_virustotal.client import (
    ForbiddenError,
    InvalidArgumentError,
    InvalidIndicatorError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
)
from prefect_virustotal.client.models import Descriptor
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY

OTHER_KEY = "test-other-user-key-0123456789"


@pytest.fixture
async def other(emulator: Emulator, clock: FakeClock) -> AsyncIterator[VirusTotalClient]:
    """A client with the key of another user."""
    emulator.add_key(OTHER_KEY, "premium", user_id="other-user")
    async with VirusTotalClient(
        OTHER_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as client:
        yield client


def _writes(emulator: Emulator) -> int:
    return sum(emulator.count(method=m, path_prefix="/collections") for m in ("POST", "PATCH", "DELETE"))


async def test_create_from_indicators_and_text(vt: VirusTotalClient, emulator: Emulator) -> None:
    sha256 = emulator.world.pick("file", "malicious")
    created = await vt.collections.create(
        "IR-1",
        description="phishing wave",
        tags=["ir-1"],
        items=[sha256, "evil[.]example", "hxxps://evil[.]example/login", "198.51.100.9", "evil.example"],
        raw_text="also seen: 203.0.113.5 and hxxp://other[.]example/x",
    )
    attributes = created.attributes
    assert attributes.name == "IR-1" and attributes.tags == ["ir-1"]
    assert (attributes.files_count, attributes.domains_count) == (1, 1)
    assert (attributes.urls_count, attributes.ip_addresses_count) == (2, 2)
    assert attributes.items_count == 6 and attributes.creation_date is not None
    assert emulator.count(method="POST", path_prefix="/collections") == 1
    listed = await vt.collections.all_items(created.id)
    assert listed.emulated and listed.count == 6
    urls = sorted(item.attributes.url for item in listed.items["urls"])
    assert urls == ["http://other.example/x", "https://evil.example/login"]
    fetched = await vt.collections.get(created.id)
    assert fetched.attributes.link == f"https://www.virustotal.com/gui/collection/{created.id}"


async def test_large_create_and_add_are_batched(vt: VirusTotalClient, emulator: Emulator) -> None:
    domains = [f"host{i}.example" for i in range(250)]
    created = await vt.collections.create("big", items=domains)
    assert created.attributes.domains_count == 250
    # One create carrying 100, then 150 more in batches of 100 (POST /collections/{id}/domains).
    assert emulator.count(method="POST", path_prefix=f"/collections/{created.id}/domains") == 2
    ips = [f"10.0.{i // 250}.{i % 250}" for i in range(450)]
    update = await vt.collections.add_items(created.id, ips, batch_size=200)
    assert update.requests == 3 and update.count == 450 and update.operation == "add"
    removed = await vt.collections.remove_items(created.id, ips[:120] + domains[:5])
    assert removed.requests == 3  # 100 + 20 IPs, 5 domains
    assert emulator.count(method="DELETE", path_prefix=f"/collections/{created.id}") == 3
    counts = (await vt.collections.get(created.id)).attributes
    assert (counts.ip_addresses_count, counts.domains_count) == (330, 245)


async def test_oversized_batch_is_refused_by_the_service(vt: VirusTotalClient, emulator: Emulator) -> None:
    created = await vt.collections.create("c")
    with pytest.raises(InvalidArgumentError):
        await vt.collections.add_items(created.id, [f"h{i}.example" for i in range(300)], batch_size=300)


async def test_invalid_input_costs_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    before = len(emulator.requests)
    with pytest.raises(InvalidIndicatorError):
        await vt.collections.add_items("abc123", ["good.example", "not an indicator"])
    with pytest.raises(InvalidParameterError):
        await vt.collections.get("../files/abc")
    with pytest.raises(InvalidParameterError):
        await vt.collections.create("  ")
    with pytest.raises(InvalidParameterError):
        await vt.collections.update("abc123")
    with pytest.raises(InvalidParameterError):
        await vt.collections.add_items("abc123", ["a.example"], batch_size=0)
    with pytest.raises(InvalidParameterError):
        await vt.collections.add_comment("abc123", "")
    with pytest.raises(InvalidParameterError):
        vt.collections.list_items("abc123", "graphs")
    assert len(emulator.requests) == before


async def test_update_rename_and_delete(vt: VirusTotalClient, emulator: Emulator) -> None:
    created = await vt.collections.create("old name", items=["a.example"])
    updated = await vt.collections.update(
        created.id, name="new name", description="d", tags=["x"], raw_text="add 192.0.2.1 too"
    )
    assert updated.attributes.name == "new name" and updated.attributes.description == "d"
    assert updated.attributes.tags == ["x"] and updated.attributes.ip_addresses_count == 1
    await vt.collections.delete(created.id)
    with pytest.raises(NotFoundError):
        await vt.collections.get(created.id)


async def test_urls_by_url_and_by_id(vt: VirusTotalClient, emulator: Emulator) -> None:
    created = await vt.collections.create("urls", items=["http://a.example/1", "http://b.example/2"])
    listed = await vt.collections.list_items(created.id, "urls", descriptors_only=True).collect()
    assert all(len(d.id) == 64 for d in listed)
    # Remove one by its SHA-256 id only (no URL known), the other by URL.
    by_id = Descriptor(type="url", id=listed[0].id)
    await vt.collections.remove_items(created.id, [by_id, "http://b.example/2"])
    assert (await vt.collections.get(created.id)).attributes.urls_count == 0


async def test_non_owner_is_refused(vt: VirusTotalClient, other: VirusTotalClient) -> None:
    created = await vt.collections.create("mine", items=["a.example"])
    assert (await other.collections.get(created.id)).attributes.name == "mine"
    with pytest.raises(ForbiddenError):
        await other.collections.update(created.id, name="hijacked")
    with pytest.raises(ForbiddenError):
        await other.collections.add_items(created.id, ["b.example"])
    with pytest.raises(ForbiddenError):
        await other.collections.remove_items(created.id, ["a.example"])
    with pytest.raises(ForbiddenError):
        await other.collections.delete(created.id)
    comment = await other.collections.add_comment(created.id, "seen it too #apt")
    assert comment.attributes.tags == ["apt"]
    comments = await vt.collections.list_comments(created.id).collect()
    assert [c.attributes.text for c in comments] == ["seen it too #apt"]


async def test_user_collections(vt: VirusTotalClient, emulator: Emulator) -> None:
    owner = emulator.quotas.get(PREMIUM_KEY)
    assert owner is not None
    ids = [(await vt.collections.create(f"c{i}")).id for i in range(3)]
    listed = await vt.collections.list_of_user(owner.owner, page_size=2).collect()
    assert [c.id for c in listed] == ids
    with pytest.raises(InvalidParameterError):
        vt.collections.list_of_user("has/slash")


async def test_create_after_a_lost_answer_is_read_back_and_adding_is_retried(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    emulator.faults.add("drop", count=1, method="POST", path_prefix="/collections", after_processing=True)
    created = await vt.collections.create("once")
    assert len(emulator.collections.collections) == 1  # created, the answer lost, not sent again
    (cid,) = emulator.collections.collections
    assert created.id == cid and vt.read_backs == 1
    emulator.faults.add(
        "drop", count=1, method="POST", path_prefix=f"/collections/{cid}", after_processing=True
    )
    update = await vt.collections.add_items(cid, ["a.example", "b.example"])
    assert update.requests == 1
    assert emulator.count(method="POST", path_prefix=f"/collections/{cid}/domains") == 2
    assert (await vt.collections.get(cid)).attributes.domains_count == 2
    assert _writes(emulator) == 3
