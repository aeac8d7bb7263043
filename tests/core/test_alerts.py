"""The alert checkpoint and listing state machines without Prefect: plain asyncio, real client.

``read_alert_batch`` is what the ``fetch_alert_batch`` task runs and ``AlertCheckpoint`` is
what ``poll_alerts`` stores; here both are driven directly against the emulator, request by
request, with no test harness.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from prefect_virustotal.client import ForbiddenError, InvalidParameterError, VirusTotalClient
from prefect_virustotal.client.models import Alert
from prefect_virustotal.core import (
    MAX_CHECKPOINT_BYTES,
    MAX_INFLIGHT_IDS,
    MAX_SEEN_IDS,
    AlertCheckpoint,
    AlertListing,
    MemoryCheckpointStore,
    acknowledge_notifications,
    alert_checkpoint_name,
    checkpoint_size,
    notification_digest,
    read_alert_batch,
)
from prefect_virustotal.emulator import Emulator
from tests.conftest import PREMIUM_KEY

BASE = 1767225600
KINDS = ("file", "url", "domain", "ip_address")


def seed(emulator: Emulator, count: int, per_second: int = 7) -> list[str]:
    return [
        emulator.inject_ioc_notification(
            key=PREMIUM_KEY, date=BASE + i // per_second, entity_type=KINDS[i % 4], origin="subscriptions"
        ).id
        for i in range(count)
    ]


def alert(i: int, second: int) -> Alert:
    return Alert.model_validate(
        {
            "source": "ioc_stream",
            "notification_id": f"n{i}",
            "date": datetime.fromtimestamp(second, tz=timezone.utc),
            "origin": "subscriptions",
            "entity_type": "file",
            "entity_id": f"{i:064x}",
        }
    )


async def test_a_batch_returns_what_it_found_and_changes_nothing_it_was_given(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    ids = seed(emulator, 30)
    state = AlertCheckpoint()
    listing = AlertListing("ioc_stream", page_size=8, batch_pages=2)
    before = state.model_dump()
    first = await read_alert_batch(vt, listing, state, alerts_left=100, requests_left=100)
    assert state.model_dump() == before and listing.cursor is None  # nothing given was changed
    assert [a.notification_id for a in first.alerts] == ids[:16]
    assert (first.pages, first.requests, emulator.count()) == (2, 2, 2)
    assert first.more and first.listing.cursor is not None and first.emulated
    assert all(a.emulated for a in first.alerts) and first.error is None and first.stopped is None

    # The caller hands the batch on and records it; the next batch goes on from the cursor.
    state.record_hand_off(first.alerts, acknowledge=False)
    assert state.watermark == BASE + 15 // 7 and state.inflight_until is None
    second = await read_alert_batch(vt, first.listing, state, alerts_left=100, requests_left=100)
    assert [a.notification_id for a in second.alerts] == ids[16:]
    assert not second.more and second.listing.cursor is None and second.pages == 2
    state.record_hand_off(second.alerts, acknowledge=True)
    assert state.pending_ack == ids[16:]

    # Read again from the checkpoint: the query starts at the watermark, nothing is new.
    again = await read_alert_batch(vt, listing, state, alerts_left=100, requests_left=100)
    assert again.alerts == [] and again.listing.since == state.watermark and again.pages == 1


async def test_caps_end_a_batch_and_say_which(emulator: Emulator, vt: VirusTotalClient) -> None:
    ids = seed(emulator, 30)
    listing = AlertListing("ioc_stream", page_size=8, batch_pages=5)
    few = await read_alert_batch(vt, listing, AlertCheckpoint(), alerts_left=5, requests_left=100)
    assert [a.notification_id for a in few.alerts] == ids[:5] and few.stopped == "limit"
    emulator.reset_log()
    one = await read_alert_batch(vt, listing, AlertCheckpoint(), alerts_left=100, requests_left=1)
    assert len(one.alerts) == 8 and one.stopped == "request_budget" and emulator.count() == one.requests == 1
    emulator.reset_log()
    none = await read_alert_batch(vt, listing, AlertCheckpoint(), alerts_left=100, requests_left=0)
    assert none.alerts == [] and none.stopped == "request_budget" and emulator.count() == 0


async def test_a_refused_cursor_ends_the_batch_and_the_next_starts_from_the_checkpoint(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    ids = seed(emulator, 40)
    emulator.faults.add(
        kind="error", code="InvalidArgumentError", method="GET", path_prefix="/ioc_stream", skip=2, count=1
    )
    state = AlertCheckpoint()
    batch = await read_alert_batch(
        vt, AlertListing("ioc_stream", page_size=8, batch_pages=5), state, alerts_left=100, requests_left=100
    )
    assert [a.notification_id for a in batch.alerts] == ids[:16]  # the pages read before it
    assert batch.cursor_restarts == 1 and batch.more and batch.listing.cursor is None
    assert batch.requests == emulator.count() == 3 and batch.error is None
    state.record_hand_off(batch.alerts, acknowledge=False)
    rest = await read_alert_batch(vt, batch.listing, state, alerts_left=100, requests_left=100)
    assert Counter(a.notification_id for a in [*batch.alerts, *rest.alerts]) == Counter(ids)


async def test_an_error_after_some_pages_is_returned_with_what_was_read(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    ids = seed(emulator, 40)
    emulator.faults.add(kind="error", code="ForbiddenError", method="GET", path_prefix="/ioc_stream", skip=2)
    batch = await read_alert_batch(
        vt, AlertListing("ioc_stream", page_size=8, batch_pages=5), AlertCheckpoint(), 100, 100
    )
    assert isinstance(batch.error, ForbiddenError) and not batch.more
    assert [a.notification_id for a in batch.alerts] == ids[:16] and batch.pages == 2


async def test_every_source_reads_oldest_first(emulator: Emulator, vt: VirusTotalClient) -> None:
    sha256 = emulator.world.pick("file")
    emulator.inject_hunting_notification(key=PREMIUM_KEY, date=BASE, sha256=sha256, rule_name="evil_rule")
    vt_ids = [emulator.inject_vt_alert(key=PREMIUM_KEY, created=BASE + i).id for i in range(3)]
    hunting = await read_alert_batch(vt, AlertListing("hunting_notifications"), AlertCheckpoint(), 10, 10)
    (match,) = hunting.alerts
    assert match.entity_id == sha256 and match.rule_name == "evil_rule"
    state = AlertCheckpoint()
    watched = await read_alert_batch(vt, AlertListing("vt_alerts"), state, 10, 10)
    assert [a.notification_id for a in watched.alerts] == vt_ids
    state.record_hand_off(watched.alerts[:2], acknowledge=False)
    rest = await read_alert_batch(vt, AlertListing("vt_alerts"), state, 10, 10)
    assert [a.notification_id for a in rest.alerts] == vt_ids[2:]
    emulator.reset_log()
    refused = await read_alert_batch(vt, AlertListing("vt_alerts", filter="x"), state, 10, 10)
    assert isinstance(refused.error, InvalidParameterError) and emulator.count() == 0


def test_checkpoint_names_are_the_ones_users_already_have() -> None:
    assert alert_checkpoint_name("ioc_stream") == "virustotal-alerts-ioc-stream"
    assert alert_checkpoint_name("hunting_notifications") == "virustotal-alerts-hunting-notifications"
    assert alert_checkpoint_name("vt_alerts") == "virustotal-alerts-vt-alerts"
    with pytest.raises(InvalidParameterError):
        alert_checkpoint_name("elsewhere")


async def test_the_fullest_checkpoint_fits_the_stores_cap() -> None:
    """Seen and in-flight digests at their caps, and more ids to delete than fit."""
    state = AlertCheckpoint(
        watermark=BASE,
        seen=[notification_digest(f"s{i}") for i in range(MAX_SEEN_IDS)],
        inflight=[notification_digest(f"f{i}") for i in range(MAX_INFLIGHT_IDS)],
        inflight_until=BASE + 99,
        pending_ack=[f"{10**18 + i}é" for i in range(2_000)],  # non-ASCII: bytes, not characters
        skipped_seconds=3,
    )
    value = state.dump()
    size = checkpoint_size(value)
    assert size <= MAX_CHECKPOINT_BYTES
    kept = value["pending_ack"]
    assert kept == state.pending_ack[: len(kept)]  # a prefix: the oldest first
    # As many as fit: one more would not.
    assert size + checkpoint_size(state.pending_ack[len(kept)]) + 1 > MAX_CHECKPOINT_BYTES
    store = MemoryCheckpointStore()
    await store.save("virustotal-alerts-ioc-stream", value)  # never refused
    loaded = AlertCheckpoint.from_stored(await store.load("virustotal-alerts-ioc-stream"))
    assert loaded.seen == state.seen and loaded.pending_ack == kept
    # Without ids to delete, the rest is far below the cap: trimming always has room.
    assert checkpoint_size(state.model_copy(update={"pending_ack": []}).dump()) < 4_100
    assert AlertCheckpoint.from_stored(None) == AlertCheckpoint()
    assert AlertCheckpoint.from_stored(json.dumps(value)).pending_ack == kept


def test_a_crowded_second_steps_the_watermark_on() -> None:
    state = AlertCheckpoint()
    crowd = [alert(i, BASE) for i in range(MAX_SEEN_IDS + 1)]
    state.advance(crowd[:MAX_SEEN_IDS])
    assert state.watermark == BASE and len(state.seen) == MAX_SEEN_IDS
    assert not state.is_new(crowd[0]) and state.is_new(crowd[-1])
    state.advance(crowd[MAX_SEEN_IDS:])
    assert (state.watermark, state.seen, state.skipped_seconds) == (BASE + 1, [], 1)
    assert state.is_late(crowd[0]) and not state.is_new(crowd[0])


def test_a_crowded_last_second_marks_the_whole_second_in_flight() -> None:
    state = AlertCheckpoint()
    few = [alert(i, BASE + i // 3) for i in range(9)]
    state.mark_in_flight(few)
    assert state.inflight_until == BASE + 2 and len(state.inflight) == 3
    assert all(state.in_flight()(a) for a in few) and not state.in_flight()(alert(99, BASE + 2))
    crowd = [alert(i, BASE) for i in range(MAX_INFLIGHT_IDS + 1)]
    state.mark_in_flight(crowd)
    assert state.inflight_until == BASE + 1 and state.inflight == []
    assert state.in_flight()(alert(999, BASE)) and not state.in_flight()(alert(1000, BASE + 1))
    assert len(json.dumps(state.dump())) < 200


async def test_acknowledging_deletes_each_once_and_counts_the_gone(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    ids = seed(emulator, 6)
    await vt.ioc_stream.delete(ids[0])  # deleted meanwhile: a 404, acknowledged all the same
    emulator.reset_log()
    result = await acknowledge_notifications(vt, "ioc_stream", [*ids, ids[1]], concurrency=2)
    assert sorted(result.deleted) == sorted(ids[1:]) and result.already_gone == [ids[0]]
    assert result.requests == emulator.count() == 6  # the repeated id is deleted once
    assert len(emulator.notifications.ioc_stream) == 0
    emulator.reset_log()
    with pytest.raises(InvalidParameterError):
        await acknowledge_notifications(vt, "vt_alerts", ["1"])
    emulator.faults.add(kind="error", code="ForbiddenError", method="DELETE", count=1)
    more = seed(emulator, 2)
    with pytest.raises(ForbiddenError):
        await acknowledge_notifications(vt, "ioc_stream", more, concurrency=1)
    assert emulator.count() == 2  # the other deletion still went out
