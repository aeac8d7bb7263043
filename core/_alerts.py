"""Alert polling without Prefect: the checkpoint state machine and the listing state machine.

``poll_alerts`` (flows) hands new IoC Stream, livehunt or VT Alerts notifications on exactly
once across crashes. What it remembers and how it reads a source live here, so that both can
be tested with plain asyncio against the emulator; the flow only stores the checkpoint,
emits the events and runs the tasks.

The checkpoint is one JSON value in the checkpoint store (see ``_checkpoints``)::

    {"v": 1, "watermark": <epoch second>, "seen": [<digest>, ...],
     "inflight": [<digest>, ...], "inflight_until": <epoch second>,
     "pending_ack": [<notification id>, ...], "skipped_seconds": <count>}

- ``watermark``: every notification dated before this second has been handed on.
- ``seen``: digests (12 hex characters of SHA-256) of the notifications of the watermark
  second already handed on (same-second notifications exist; a one-second step would drop
  or repeat them). At most :data:`MAX_SEEN_IDS`; past that the watermark steps on.
- ``inflight_until`` and ``inflight``: the batch being handed on, written before its hand-off
  starts. A batch is every new notification from the checkpoint up to its last one, so it is
  stored as that last second plus the digests of the batch's notifications at that second.
- ``pending_ack``: ids handed on but not yet deleted at VirusTotal (acknowledgement on),
  trimmed so that the whole value fits the store's cap (:data:`MAX_CHECKPOINT_BYTES`).

The listing reads a source ``order=date+`` (``created+`` for VT Alerts) from the watermark,
``batch_pages`` pages at a time, and returns what it found (:class:`AlertBatch`); it changes
nothing it is given.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, Field

from prefect_virustotal.client import (
    BadRequestError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
    hunting_filter,
    ioc_stream_filter,
)
from prefect_virustotal.client.models import AcknowledgeResult, Alert, AlertPage, AlertSource

from ._checkpoints import MAX_CHECKPOINT_BYTES, checkpoint_fits, checkpoint_name, checkpoint_size

ALERT_SOURCES: tuple[AlertSource, ...] = ("ioc_stream", "hunting_notifications", "vt_alerts")
"""The lists ``poll_alerts`` reads."""
MAX_SEEN_IDS = 150
"""Digests of same-second notifications the checkpoint keeps (150 x 15 bytes of JSON)."""
MAX_INFLIGHT_IDS = 100
"""Digests of a batch's last second the checkpoint keeps; past that the whole second is suspect."""
MAX_PAGE_SIZE = 40
"""The most notifications one list request returns."""
_DIGEST_CHARS = 12


def check_alert_source(source: str) -> AlertSource:
    """``source`` as an :data:`AlertSource`.

    Raises:
        InvalidParameterError: not one of :data:`ALERT_SOURCES`.
    """
    for known in ALERT_SOURCES:
        if source == known:
            return known
    raise InvalidParameterError(f"source must be one of {', '.join(ALERT_SOURCES)}, got {source!r}")


def notification_digest(notification_id: str) -> str:
    """The short, fixed-size form of a notification id kept in the checkpoint."""
    return hashlib.sha256(notification_id.encode()).hexdigest()[:_DIGEST_CHARS]


def alert_checkpoint_name(source: str) -> str:
    """``virustotal-alerts-ioc-stream``, ``-hunting-notifications`` or ``-vt-alerts``.

    The names earlier versions used (dashes, not underscores), so existing checkpoints
    carry on.
    """
    return checkpoint_name("alerts", check_alert_source(source).replace("_", "-"))


def _second(alert: Alert) -> int:
    return int(alert.date.timestamp())


class AlertCheckpoint(BaseModel):
    """What ``poll_alerts`` remembers between runs (see the module docstring)."""

    v: int = 1
    watermark: int | None = None
    seen: list[str] = Field(default_factory=list)
    inflight: list[str] = Field(default_factory=list)
    inflight_until: int | None = None
    pending_ack: list[str] = Field(default_factory=list)
    skipped_seconds: int = 0
    """Crowded seconds (more than ``MAX_SEEN_IDS`` notifications) the watermark stepped past."""

    @classmethod
    def from_stored(cls, value: Any) -> AlertCheckpoint:
        """The checkpoint a store returned (None the first time: an empty checkpoint)."""
        if not value:
            return cls()
        if isinstance(value, str):  # a value written as JSON text by hand
            return cls.model_validate_json(value)
        return cls.model_validate(value)

    def is_new(self, alert: Alert) -> bool:
        """Not handed on yet, as far as the checkpoint knows."""
        if self.watermark is None:
            return True
        second = _second(alert)
        if second != self.watermark:
            return second > self.watermark
        return notification_digest(alert.notification_id) not in self.seen

    def is_late(self, alert: Alert) -> bool:
        """Listed after the watermark passed its second: out of order, never handed on."""
        return self.watermark is not None and _second(alert) < self.watermark

    def mark_in_flight(self, batch: Sequence[Alert]) -> None:
        """Record a batch (new alerts in ``date+`` order) as being handed on."""
        if not batch:
            self.clear_in_flight()
            return
        last = _second(batch[-1])
        at_last = [notification_digest(a.notification_id) for a in batch if _second(a) == last]
        if len(at_last) > MAX_INFLIGHT_IDS:
            # A crowded last second: suspect all of it rather than overflow the checkpoint.
            self.inflight_until, self.inflight = last + 1, []
        else:
            self.inflight_until, self.inflight = last, at_last

    def clear_in_flight(self) -> None:
        """No batch is being handed on."""
        self.inflight, self.inflight_until = [], None

    def in_flight(self) -> Callable[[Alert], bool]:
        """Whether a new alert belonged to the batch in flight when this checkpoint was written."""
        until, digests = self.inflight_until, frozenset(self.inflight)

        def suspect(alert: Alert) -> bool:
            if until is not None and _second(alert) < until:
                return True
            return notification_digest(alert.notification_id) in digests

        return suspect

    def advance(self, delivered: Sequence[Alert]) -> None:
        """Record alerts handed on (a prefix of a batch in ``date+`` order)."""
        for alert in delivered:
            second = _second(alert)
            digest = notification_digest(alert.notification_id)
            if self.watermark is None or second > self.watermark:
                self.watermark, self.seen = second, [digest]
            elif second == self.watermark and digest not in self.seen:
                self.seen.append(digest)
        if len(self.seen) > MAX_SEEN_IDS and self.watermark is not None:
            # Too many to remember for one second: step past it (see poll_alerts, "Limits").
            self.watermark += 1
            self.seen = []
            self.skipped_seconds += 1

    def record_hand_off(self, delivered: Sequence[Alert], acknowledge: bool) -> None:
        """After a batch's hand-off (whole or cut short): advance past what went out.

        The batch is no longer in flight; with acknowledgement on, what went out waits to be
        deleted at VirusTotal.
        """
        self.advance(delivered)
        self.clear_in_flight()
        if acknowledge:
            self.pending_ack = list(
                dict.fromkeys([*self.pending_ack, *(a.notification_id for a in delivered)])
            )

    def dump(self) -> dict[str, Any]:
        """The stored value, trimmed to the store's cap: only ``pending_ack`` is ever trimmed.

        Everything else is bounded (``MAX_SEEN_IDS`` and ``MAX_INFLIGHT_IDS`` digests of 12
        characters, about 3,900 bytes at most), so the value always fits
        :data:`MAX_CHECKPOINT_BYTES` and a store never refuses it. Trimmed ids stay at
        VirusTotal, below the watermark: never handed on again.
        """
        value = self.model_dump()
        if checkpoint_fits(value):
            return value
        ids: list[str] = value["pending_ack"]
        value["pending_ack"] = []
        room = MAX_CHECKPOINT_BYTES - checkpoint_size(value)
        kept: list[str] = []
        for notification_id in ids:
            cost = checkpoint_size(notification_id) + (1 if kept else 0)  # the comma
            if cost > room:
                break
            kept.append(notification_id)
            room -= cost
        value["pending_ack"] = kept
        return value


@dataclass(frozen=True)
class AlertListing:
    """Where a listing of one source stands: its query and its cursor.

    A cursor belongs to the query that issued it: the date filter (``since``) changes only
    when a listing starts again from the checkpoint (no cursor).

    Attributes:
        source: the list read.
        filter: more filter text (not for VT Alerts).
        page_size: notifications per request, at most 40.
        batch_pages: most pages per batch.
        first_second: where the very first run starts (None: the whole list).
        cursor: the next page's cursor; None to start again from the checkpoint.
        since: the date filter the cursor belongs to.
    """

    source: AlertSource
    filter: str | None = None
    page_size: int = MAX_PAGE_SIZE
    batch_pages: int = 5
    first_second: int | None = None
    cursor: str | None = None
    since: int | None = None

    def restarted(self) -> AlertListing:
        """The same listing, read again from the checkpoint with the next batch."""
        return replace(self, cursor=None)


@dataclass
class AlertBatch:
    """What one batch of listing found; nothing it was given is changed.

    Attributes:
        alerts: new alerts, oldest first, each once (at most the alerts allowed).
        listing: where the next batch starts.
        more: more pages to read.
        pages: pages fetched.
        requests: requests sent (retries and a refused cursor included).
        cursor_restarts: 1 when a refused cursor ended the batch (the next starts again).
        out_of_order: notifications listed after the watermark had passed their second.
        stopped: ``limit`` or ``request_budget`` when that cap (the alerts or the requests left)
            ended the batch.
        emulated: the pages came from the pack's emulator.
        error: the error that ended the batch after some pages (the alerts read before it
            are here, to be handed on before the run fails).
    """

    alerts: list[Alert]
    listing: AlertListing
    more: bool = False
    pages: int = 0
    requests: int = 0
    cursor_restarts: int = 0
    out_of_order: int = 0
    stopped: str | None = None
    emulated: bool = False
    error: Exception | None = field(default=None)


async def read_alert_page(
    vt: VirusTotalClient,
    source: AlertSource,
    since: int | None = None,
    filter: str | None = None,
    cursor: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> AlertPage:
    """One page of a source, oldest first, as alerts (``requests`` and ``emulated`` set).

    Raises:
        InvalidParameterError: a filter for VT Alerts (no request made).
        InvalidArgumentError: VirusTotal refused the cursor (expired or foreign).
    """
    before = vt.request_count
    if source == "vt_alerts":
        # VT Alerts documents no filter (UNCONFIRMED): the whole list is read oldest first and
        # the poller's checkpoint drops what it has handed on already.
        if filter:
            raise InvalidParameterError("VT Alerts notifications take no filter")
        vpage = await vt.alerts.list_notifications(order="created+", page_size=page_size).fetch_page(cursor)
        alerts = [Alert.from_vt_alert(item) for item in vpage.items]
        if since is not None:
            alerts = [a for a in alerts if _second(a) >= since]
        page = AlertPage(alerts=alerts, cursor=vpage.cursor)
    elif source == "ioc_stream":
        query = ioc_stream_filter(since=since, extra=filter)
        # Each object is validated only if its alert's entity is read (the poller's events never do).
        ipage = await vt.ioc_stream.list_alerts(filter=query, order="date+", page_size=page_size).fetch_page(
            cursor
        )
        page = AlertPage(alerts=ipage.items, cursor=ipage.cursor)
    else:
        hquery = " ".join(part for part in (hunting_filter(since=since), filter) if part) or None
        hpage = await vt.hunting_notifications.list(
            filter=hquery, order="date+", page_size=page_size
        ).fetch_page(cursor)
        page = AlertPage(
            alerts=[Alert.from_hunting_notification(item) for item in hpage.items], cursor=hpage.cursor
        )
    page.requests = vt.request_count - before
    if vt.emulated:
        page.emulated = True
        for alert in page.alerts:
            alert.emulated = True
    return page


async def read_alert_batch(
    vt: VirusTotalClient,
    listing: AlertListing,
    checkpoint: AlertCheckpoint,
    alerts_left: int,
    requests_left: int,
) -> AlertBatch:
    """Up to ``listing.batch_pages`` pages of new alerts, within what the run may still spend.

    Drops what the checkpoint has handed on already. An error after some pages is returned
    in :attr:`AlertBatch.error`, not raised, so that the alerts already read are handed on
    (their quota not spent twice) before the run fails; an error on the first page too, so
    the caller has one path. A refused cursor ends the batch and the next one starts again
    from the checkpoint.

    Args:
        vt: the client.
        listing: where to read from (not changed; the batch says where to go on).
        checkpoint: what was handed on already (not changed).
        alerts_left: most new alerts to return.
        requests_left: most requests to send.
    """
    batch = AlertBatch(alerts=[], listing=listing)
    ids: set[str] = set()
    sent_before = vt.request_count
    for _ in range(listing.batch_pages):
        batch.requests = vt.request_count - sent_before
        if batch.requests >= requests_left:
            batch.stopped = "request_budget"
            break
        if len(batch.alerts) >= alerts_left:
            batch.stopped = "limit"
            break
        if listing.cursor is None:
            since = checkpoint.watermark if checkpoint.watermark is not None else listing.first_second
            listing = replace(listing, since=since)
        try:
            page = await read_alert_page(
                vt, listing.source, listing.since, listing.filter, listing.cursor, listing.page_size
            )
        except BadRequestError as exc:
            # InvalidArgumentError derives from BadRequestError: an expired or refused cursor.
            if listing.cursor is not None:
                batch.cursor_restarts = 1
                batch.listing, batch.more = listing.restarted(), True
            else:
                batch.listing, batch.more, batch.error = listing, False, exc
            break
        except Exception as exc:
            batch.listing, batch.more, batch.error = listing, False, exc
            break
        batch.pages += 1
        batch.emulated = batch.emulated or page.emulated
        room = alerts_left - len(batch.alerts)
        for alert in page.alerts:
            if alert.notification_id in ids:
                continue
            if checkpoint.is_new(alert):
                if room == 0:
                    batch.stopped = "limit"
                    break
                batch.alerts.append(alert)
                ids.add(alert.notification_id)
                room -= 1
            elif checkpoint.is_late(alert):
                batch.out_of_order += 1
        listing = replace(listing, cursor=page.cursor)
        batch.listing, batch.more = listing, page.cursor is not None
        if batch.stopped is not None or page.cursor is None:
            break
    batch.requests = vt.request_count - sent_before
    return batch


async def acknowledge_notifications(
    vt: VirusTotalClient, source: AlertSource, notification_ids: Sequence[str], concurrency: int = 4
) -> AcknowledgeResult:
    """Delete handed-on notifications at VirusTotal, ``concurrency`` at a time.

    A notification already gone (404) counts as acknowledged. Any other error is raised once
    every deletion has ended (those deleted stay deleted; deleting again is harmless).

    Raises:
        InvalidParameterError: VT Alerts notifications (no documented deletion; no request).
    """
    if source == "vt_alerts":
        # The reference documents no deletion of VT Alerts notifications.
        raise InvalidParameterError(
            "VT Alerts notifications cannot be acknowledged (deleted) through the API"
        )
    area = vt.ioc_stream if source == "ioc_stream" else vt.hunting_notifications
    semaphore = asyncio.Semaphore(max(1, concurrency))
    result = AcknowledgeResult()
    before = vt.request_count

    async def one(notification_id: str) -> None:
        async with semaphore:
            try:
                await area.delete(notification_id)
            except NotFoundError:
                result.already_gone.append(notification_id)
            else:
                result.deleted.append(notification_id)

    outcomes = await asyncio.gather(
        *(one(i) for i in dict.fromkeys(notification_ids)), return_exceptions=True
    )
    result.requests = vt.request_count - before
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise failures[0]
    return result
