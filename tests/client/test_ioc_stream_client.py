"""The client's IoC Stream and livehunt notification areas against the emulator."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from prefect_virustotal.client import (
    BadRequestError,
    DeletionInProgressError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
    hunting_filter,
    ioc_stream_filter,
)
from prefect_virustotal.client.models import Alert, FileAttributes, FileObject
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY

BASE = 1767225600


async def test_stream_items_of_every_entity_type(vt: VirusTotalClient, emulator: Emulator) -> None:
    for i, kind in enumerate(["file", "url", "domain", "ip_address"]):
        emulator.inject_ioc_notification(key=PREMIUM_KEY, date=BASE + i, entity_type=kind, origin="hunting")
    items = await vt.ioc_stream.list(order="date+", page_size=3).collect()
    assert [i.entity.type for i in items] == ["file", "url", "domain", "ip_address"]
    assert emulator.count("GET", "/ioc_stream") == 2
    alerts = [Alert.from_ioc_stream(i) for i in items]
    assert alerts[0].entity is not None and alerts[0].entity_type == "file"
    assert all(a.rule_name == "emulated_rule" and a.origin == "hunting" for a in alerts)
    assert alerts[0].event_id == Alert.from_ioc_stream(items[0]).event_id
    filtered = await vt.ioc_stream.list(
        filter=ioc_stream_filter(since=BASE + 2, entity_type="ip_address")
    ).collect()
    assert [i.entity.type for i in filtered] == ["ip_address"]
    descriptors = await vt.ioc_stream.list(descriptors_only=True).collect()
    assert all(Alert.from_ioc_stream(i).entity is None for i in descriptors)

    one = await vt.ioc_stream.get(items[0].notification_id)
    assert one.attributes.entity_type == "file"
    await vt.ioc_stream.delete(items[0].notification_id)
    with pytest.raises(NotFoundError):
        await vt.ioc_stream.delete(items[0].notification_id)
    await vt.ioc_stream.delete_all(filter="entity_type:url")
    assert len(await vt.ioc_stream.list().collect()) == 2


async def test_bad_input_costs_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    with pytest.raises(InvalidParameterError):
        ioc_stream_filter(origin="notHunting")
    with pytest.raises(InvalidParameterError):
        ioc_stream_filter(since=datetime(2026, 1, 1))  # naive
    with pytest.raises(InvalidParameterError):
        vt.ioc_stream.list(order="size+")
    with pytest.raises(InvalidParameterError):
        vt.ioc_stream.list(page_size=41)
    with pytest.raises(InvalidParameterError):
        await vt.ioc_stream.get("../users/me")
    with pytest.raises(InvalidParameterError):
        await vt.hunting_notifications.delete_all(tag="a b")
    assert emulator.count() == 0
    with pytest.raises(BadRequestError, match="Valid origins are: hunting,subscriptions"):
        await vt.ioc_stream.list(filter="origin:notHunting").collect()


async def test_hunting_notifications(vt: VirusTotalClient, emulator: Emulator) -> None:
    sha = emulator.world.pick("file")
    n = emulator.inject_hunting_notification(key=PREMIUM_KEY, date=BASE, sha256=sha, rule_name="r1")
    assert (
        ioc_stream_filter(since=datetime.fromtimestamp(BASE, tz=timezone.utc)) == "date:2026-01-01T00:00:00+"
    )
    listed = await vt.hunting_notifications.list(filter=hunting_filter(since=BASE, tag="r1")).collect()
    alert = Alert.from_hunting_notification(listed[0])
    assert alert.entity_id == sha and alert.rule_name == "r1" and alert.origin == "hunting"
    assert (await vt.hunting_notifications.get(n.id)).attributes.rule_name == "r1"
    files = await vt.hunting_notifications.list_files().collect()
    assert isinstance(files[0].file, type(files[0].file)) and files[0].context.ruleset_name == "emulated"
    assert FileObject.model_validate(files[0].file.model_dump()).id == sha
    await vt.hunting_notifications.delete(n.id)
    await vt.hunting_notifications.delete_all()
    assert await vt.hunting_notifications.list().collect() == []


async def test_a_second_bulk_deletion_while_one_runs_is_named_so(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    emulator.inject_ioc_notification(key=PREMIUM_KEY, date=BASE, entity_type="file")
    emulator.notifications.bulk_delete_seconds = 60
    await vt.ioc_stream.delete_all()
    with pytest.raises(DeletionInProgressError, match="a deletion is still running"):
        await vt.ioc_stream.delete_all(filter="entity_type:url")
    # Named, not retried as if it were a quota: one request, no waiting.
    assert emulator.count("DELETE", "/ioc_stream") == 2
    clock.advance(61)
    await vt.ioc_stream.delete_all()


async def test_hunting_notification_files_take_count_limit(vt: VirusTotalClient, emulator: Emulator) -> None:
    for i in range(5):
        emulator.inject_hunting_notification(
            key=PREMIUM_KEY, date=BASE + i, sha256=emulator.world.pick("file")
        )
    capped = await vt.hunting_notifications.list_files(count_limit=3, page_size=2).collect()
    assert len(capped) == 3
    assert "count_limit=3" in emulator.requests[-1].query
    with pytest.raises(InvalidParameterError):
        vt.hunting_notifications.list_files(count_limit=0)


async def test_stream_as_alerts_validates_each_object_only_when_read(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    for i, kind in enumerate(["file", "url", "domain", "ip_address"] * 2):
        emulator.inject_ioc_notification(key=PREMIUM_KEY, date=BASE + i, entity_type=kind, origin="hunting")
    eager = [Alert.from_ioc_stream(i) for i in await vt.ioc_stream.list(order="date+").collect()]
    # Five listings of the same page, each alert read once in a different way.
    lazy_pages = [await vt.ioc_stream.list_alerts(order="date+").collect() for _ in range(5)]

    def fresh() -> list[Alert]:
        return lazy_pages.pop(0)

    lazy = fresh()
    assert all(a._raw_entity is not None and a.has_entity for a in lazy)  # kept as sent
    # What the poller's events read never validates the object...
    assert [a.model_dump(mode="json", exclude={"entity"}) for a in lazy] == [
        a.model_dump(mode="json", exclude={"entity"}) for a in eager
    ]
    assert [a.event_id for a in lazy] == [a.event_id for a in eager]
    assert all(a._raw_entity is not None for a in lazy)
    # ...and reading it gives the very object the eager path gives.
    assert [a.entity for a in lazy] == [a.entity for a in eager]
    assert [type(a.entity) for a in lazy] == [type(a.entity) for a in eager]
    assert lazy[0].entity is not None and eager[0].entity is not None and lazy[0]._raw_entity is None
    assert type(lazy[0].entity.attributes) is type(eager[0].entity.attributes) is FileAttributes
    # Dumping, comparing and copying see the object too, without reading it first.
    assert [a.model_dump() for a in fresh()] == [a.model_dump() for a in eager]
    assert [a.model_dump_json() for a in fresh()] == [a.model_dump_json() for a in eager]
    assert fresh() == eager
    copied = [a.model_copy(deep=True) for a in fresh()]
    assert [a.entity for a in copied] == [a.entity for a in eager]
    # Replacing the entity replaces the raw one.
    (replaced,) = await vt.ioc_stream.list_alerts(order="date+", limit=1).collect()
    replaced.entity = None
    assert replaced.entity is None and not replaced.has_entity
    assert emulator.count("GET", "/ioc_stream") == 7


def test_a_malformed_stream_item_is_refused_when_listed() -> None:
    from prefect_virustotal.client import UnexpectedResponseError
    from prefect_virustotal.client._ioc_stream import parse_ioc_stream_alert

    context = {"notification_id": "1", "notification_date": BASE, "origin": "hunting", "sources": []}
    good = parse_ioc_stream_alert({"type": "domain", "id": "example.com", "context_attributes": context})
    assert good.entity is None and not good.has_entity and good.entity_id == "example.com"
    for bad in (
        {"id": "x", "attributes": {}, "context_attributes": context},  # no type
        {"type": "file", "id": "x", "attributes": [], "context_attributes": context},
        {"type": "file", "id": "x", "attributes": {"size": 1}, "context_attributes": {"origin": "hunting"}},
        "not an object",
    ):
        with pytest.raises(UnexpectedResponseError):
            parse_ioc_stream_alert(bad)


async def test_a_list_page_is_decoded_once(
    vt: VirusTotalClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of full objects is ~350 kB of JSON: the 200's check and the parse share one decode."""
    for i in range(3):
        emulator.inject_ioc_notification(key=PREMIUM_KEY, date=BASE + i, entity_type="file")
    decodes = 0
    decode = httpx.Response.json

    def counting(self: httpx.Response, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return decode(self, **kwargs)

    monkeypatch.setattr(httpx.Response, "json", counting)
    alerts = await vt.ioc_stream.list_alerts(order="date+").collect()
    assert len(alerts) == 3 and emulator.count("GET", "/ioc_stream") == 1
    assert decodes == 1
