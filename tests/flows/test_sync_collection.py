"""``sync_collection`` end to end: real flow, tasks and client, the emulator counting writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import ForbiddenError, InvalidParameterError
from prefect_virustotal.core import MemoryCheckpointStore, collection_checkpoint
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import sync_collection
from tests.conftest import PREMIUM_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _writes(emulator: Emulator) -> int:
    """Write requests the emulator saw (every collection write is POST, PATCH or DELETE)."""
    return sum(emulator.count(method=m) for m in ("POST", "PATCH", "DELETE"))


def _held(emulator: Emulator, collection_id: str) -> dict[str, set[str]]:
    collection = emulator.collections.get(collection_id)
    assert collection is not None
    return {rel: set(items) for rel, items in collection.items.items() if items}


async def test_sync_creates_converges_and_then_writes_nothing(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    sha256 = mounted.world.pick("file", "malicious")
    md5 = mounted.world.get("file", sha256).attributes["md5"]  # type: ignore[union-attr]
    wanted = [md5, "evil[.]example", "hxxp://Evil.Example", "198.51.100.3", "not an indicator"]
    first = await sync_collection(
        "case-converge", indicators=wanted, credentials=credentials, description="d1", tags=["ir"]
    )
    assert first.created and first.emulated and first.invalid == ["not an indicator"]
    assert len(first.added) == 4 and first.removed == []
    held = _held(mounted, first.collection_id)
    assert held["files"] == {sha256} and held["domains"] == {"evil.example"}
    writes = _writes(mounted)
    # The create carries no items (it is not retried); they follow in one idempotent POST per
    # relationship: files, domains, urls, ip_addresses.
    assert writes == 1 + 4

    second = await sync_collection(
        "case-converge", indicators=wanted, credentials=credentials, description="d1", tags=["ir"]
    )
    assert _writes(mounted) == writes, "a second run must not write"
    assert not second.changed and second.unchanged == 4 and second.collection_id == first.collection_id

    changed = ["evil.example", "203.0.113.9", "http://evil.example/", "http://new.example/p"]
    third = await sync_collection(
        "case-converge", indicators=changed, credentials=credentials, description="d2", tags=["ir", "closed"]
    )
    assert sorted(third.added) == ["203.0.113.9", "http://new.example/p"]
    assert sorted(third.removed) == ["198.51.100.3", sha256]
    assert third.updated_attributes == ["description", "tags"]
    held = _held(mounted, first.collection_id)
    assert set(held) == {"domains", "ip_addresses", "urls"} and held["ip_addresses"] == {"203.0.113.9"}
    writes = _writes(mounted)
    fourth = await sync_collection(
        "case-converge", indicators=changed, credentials=credentials, description="d2", tags=["closed", "ir"]
    )
    assert not fourth.changed and _writes(mounted) == writes

    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    markdown = [str(a.data) for a in artifacts if a.key == "virustotal-collection-case-converge"]
    assert any(f"https://www.virustotal.com/gui/collection/{first.collection_id}" in m for m in markdown)
    assert any("EMULATED" in m and "203[.]0[.]113[.]9" in m for m in markdown)
    assert all(PREMIUM_KEY not in m for m in markdown)


async def test_thousands_of_items_sync_in_batches(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    domains = [f"host{i:04d}.ioc.example" for i in range(1500)]
    # Public addresses: internal ones (10.x) are never added to a collection.
    ips = [f"45.{i // 250}.{i % 250}.1" for i in range(1000)]
    urls = [f"https://cdn{i}.ioc.example/payload" for i in range(500)]
    report = await sync_collection("case-bulk", indicators=domains + ips + urls, credentials=credentials)
    assert report.created and len(report.added) == 3000
    cid = report.collection_id
    assert mounted.count(method="POST", path_prefix=f"/collections/{cid}/") == 15 + 10 + 5
    assert {rel: len(ids) for rel, ids in _held(mounted, cid).items()} == {
        "domains": 1500,
        "ip_addresses": 1000,
        "urls": 500,
    }

    mounted.reset_log()
    wanted = domains[300:] + [f"extra{i}.ioc.example" for i in range(250)] + ips + urls[:400]
    report = await sync_collection("case-bulk", indicators=wanted, credentials=credentials, batch_size=150)
    assert (len(report.added), len(report.removed), report.unchanged) == (250, 400, 2600)
    assert mounted.count(method="POST", path_prefix=f"/collections/{cid}/") == 2  # 250 domains / 150
    assert (
        mounted.count(method="DELETE", path_prefix=f"/collections/{cid}/") == 2 + 1
    )  # 300 domains, 100 urls
    # Reading 2,950 items took paged GETs (at most 40 per page), not one per item.
    assert mounted.count(method="GET", path_prefix=f"/collections/{cid}/") < 100

    writes = _writes(mounted)
    again = await sync_collection("case-bulk", indicators=wanted, credentials=credentials, batch_size=150)
    assert not again.changed and again.unchanged == 2850 and _writes(mounted) == writes


async def test_sync_by_id_from_text_and_file_with_rename(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    first = await sync_collection(
        "case-text", text="seen hxxps://login[.]example/x and 192.0.2.44", credentials=credentials
    )
    assert sorted(first.added) == ["192.0.2.44", "https://login.example/x"]
    ioc_file = tmp_path / "iocs.txt"
    ioc_file.write_text("https://login.example/x\nbad[.]example\n")
    report = await sync_collection(
        first.collection_id, path=str(ioc_file), name="Case (text)", credentials=credentials
    )
    assert not report.created and report.name == "Case (text)" and report.updated_attributes == ["name"]
    assert report.added == ["bad.example"] and report.removed == ["192.0.2.44"]
    assert _held(mounted, first.collection_id) == {
        "domains": {"bad.example"},
        "urls": {mounted.world.url_id("https://login.example/x")},
    }


async def test_sync_finds_by_name_among_the_owners_collections(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    owner = mounted.quotas.get(PREMIUM_KEY)
    assert owner is not None
    existing = mounted.collections.create(owner.owner, "case-listed", "made elsewhere")
    report = await sync_collection(
        "case-listed", indicators=["a.example"], user_id=owner.owner, credentials=credentials
    )
    assert not report.created and report.collection_id == existing.id and report.added == ["a.example"]


async def test_sync_refuses_other_users_and_empty_input(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    theirs = mounted.collections.create("other-user", "their case")
    with pytest.raises(ForbiddenError):
        await sync_collection(theirs.id, indicators=["a.example"], credentials=credentials)
    before = len(mounted.requests)
    with pytest.raises(InvalidParameterError):
        await sync_collection("case-empty", credentials=credentials)
    with pytest.raises(InvalidParameterError):
        await sync_collection("case-empty", indicators=["??"], credentials=credentials)
    assert len(mounted.requests) == before


async def test_the_stable_name_is_remembered_in_the_store_the_flow_is_given(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    store = MemoryCheckpointStore()
    first = await sync_collection(
        "case-store", indicators=["a.example"], credentials=credentials, checkpoints=store
    )
    name = collection_checkpoint("case-store")
    assert store.values.keys() == {name} and store.writes == 1
    assert await store.load(name) == {"id": first.collection_id, "name": "case-store"}
    async with get_client() as prefect:
        assert await prefect.read_variable_by_name(name) is None, "no Prefect Variable for a given store"
    second = await sync_collection(
        "case-store", indicators=["a.example", "b.example"], credentials=credentials, checkpoints=store
    )
    assert second.collection_id == first.collection_id and second.added == ["b.example"]
    assert store.writes == 1, "an unchanged mapping is not written again"
    # Without the store's memory the stable name is a new collection: the store is what finds it.
    fresh = await sync_collection(
        "case-store", indicators=["a.example"], credentials=credentials, checkpoints=MemoryCheckpointStore()
    )
    assert fresh.created and fresh.collection_id != first.collection_id
