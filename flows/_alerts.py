"""``poll_alerts``: new IoC Stream or livehunt notifications, handed on once, across crashes.

The checkpoint is one Prefect Variable (JSON, at most 5,000 characters)::

    {"v": 1, "watermark": <epoch second>, "seen": [<digest>, ...],
     "inflight": [<digest>, ...], "inflight_until": <epoch second>,
     "pending_ack": [<notification id>, ...]}

- ``watermark``: every notification dated before this second has been handed on.
- ``seen``: digests (12 hex characters of SHA-256) of the notifications of the watermark
  second already handed on (same-second notifications exist; a one-second step would drop
  or repeat them). At most ``MAX_SEEN_IDS``; past that, see ``poll_alerts``.
- ``inflight_until`` and ``inflight``: the batch being handed on, written before its hand-off
  starts. A batch is every new notification from the checkpoint up to its last one, so it is
  stored as that last second plus the digests of the batch's notifications at that second.
- ``pending_ack``: ids handed on but not yet deleted at VirusTotal (acknowledgement on).

Per batch (``batch_pages`` pages of ``order=date+``, ``filter=date:<watermark>+``, cursor):
fetch page by page -> drop seen ids -> write ``inflight`` (the same write records the previous
batch's advance) -> hand each alert on (the user's task, then one Prefect event) -> flush the
events -> advance ``watermark``/``seen`` in memory. With acknowledgement on, the advance and
``pending_ack`` are written before deleting at VirusTotal. Whatever is still unwritten is
written at the end of the run, and before an error leaves it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.utilities import get_or_create_client
from prefect.events import emit_event
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectAlreadyExists, PrefectHTTPStatusError
from prefect.variables import Variable
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import BadRequestError, InvalidParameterError
from prefect_virustotal.client.models import Alert, AlertSource, LookupStatus
from prefect_virustotal.core import vt_link
from prefect_virustotal.flows._enrich import EMULATED_BANNER
from prefect_virustotal.tasks import acknowledge_alerts, fetch_alert_page, lookup_indicators

MAX_SEEN_IDS = 150
"""Digests of same-second notifications the checkpoint keeps (150 x 15 characters)."""
MAX_INFLIGHT_IDS = 100
"""Digests of a batch's last second the checkpoint keeps; past that the whole second is suspect."""
MAX_CHECKPOINT_CHARS = 4_900
"""Prefect Variables hold at most 5,000 characters of JSON."""
_DIGEST_CHARS = 12
_SOURCES = ("ioc_stream", "hunting_notifications", "vt_alerts")
_ENRICHABLE = {"file", "domain", "ip_address"}


def notification_digest(notification_id: str) -> str:
    """The short, fixed-size form of a notification id kept in the checkpoint."""
    return hashlib.sha256(notification_id.encode()).hexdigest()[:_DIGEST_CHARS]


def default_checkpoint_name(source: str) -> str:
    """``virustotal-alerts-ioc-stream`` or ``virustotal-alerts-hunting-notifications``."""
    return f"virustotal-alerts-{source.replace('_', '-')}"


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

    def is_new(self, alert: Alert) -> bool:
        """Not handed on yet, as far as the checkpoint knows."""
        if self.watermark is None:
            return True
        second = int(alert.date.timestamp())
        if second != self.watermark:
            return second > self.watermark
        return notification_digest(alert.notification_id) not in self.seen

    def mark_in_flight(self, batch: Sequence[Alert]) -> None:
        """Record a batch (new alerts in ``date+`` order) as being handed on."""
        if not batch:
            self.clear_in_flight()
            return
        last = int(batch[-1].date.timestamp())
        at_last = [notification_digest(a.notification_id) for a in batch if int(a.date.timestamp()) == last]
        if len(at_last) > MAX_INFLIGHT_IDS:
            # A crowded last second: suspect all of it rather than overflow the Variable.
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
            if until is not None and int(alert.date.timestamp()) < until:
                return True
            return notification_digest(alert.notification_id) in digests

        return suspect

    def advance(self, delivered: Sequence[Alert]) -> None:
        """Record alerts handed on (a prefix of a page in ``date+`` order)."""
        for alert in delivered:
            second = int(alert.date.timestamp())
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

    def dump(self) -> dict[str, Any]:
        """The Variable's value, trimmed to fit: only ``pending_ack`` is ever trimmed."""
        value = self.model_dump()
        while len(json.dumps(value)) > MAX_CHECKPOINT_CHARS and value["pending_ack"]:
            value["pending_ack"] = value["pending_ack"][:-1]
        return value


class PollReport(BaseModel):
    """What one ``poll_alerts`` run did.

    Attributes:
        source: ``ioc_stream`` or ``hunting_notifications``.
        handed_on: alerts handed on in this run.
        possible_duplicates: of those, alerts a killed run may have handed on already.
        acknowledged: notifications deleted at VirusTotal.
        by_origin: alerts per origin.
        pages: pages fetched.
        requests: VirusTotal requests sent (retries included).
        stopped: ``max_alerts`` or ``max_requests`` when a cap ended the run early.
        cursor_restarts: times a refused cursor made the run read again from the checkpoint.
        out_of_order: notifications listed after the watermark had passed their second.
        watermark: the checkpoint's second after the run.
        emulated: the data came from the pack's emulator: fiction.
    """

    source: str
    handed_on: int = 0
    possible_duplicates: int = 0
    acknowledged: int = 0
    by_origin: dict[str, int] = Field(default_factory=dict)
    pages: int = 0
    requests: int = 0
    stopped: str | None = None
    cursor_restarts: int = 0
    out_of_order: int = 0
    watermark: datetime | None = None
    emulated: bool = False


async def load_checkpoint(name: str) -> AlertCheckpoint:
    """The checkpoint stored in the Variable ``name``; an empty one the first time."""
    value = await Variable.aget(name)
    if not value:
        return AlertCheckpoint()
    raw = json.loads(value) if isinstance(value, str) else value
    return AlertCheckpoint.model_validate(raw)


async def save_checkpoint(name: str, checkpoint: AlertCheckpoint) -> None:
    """Overwrite the Variable ``name`` with the checkpoint.

    One PATCH per write (``Variable.aset(overwrite=True)`` sends three requests: read, update,
    read back); the Variable is created only the first time. Two writes per page make this
    the flow's most frequent Prefect API call.
    """
    value = checkpoint.dump()
    client, _ = get_or_create_client()
    try:
        await client.update_variable(VariableUpdate(name=name, value=value))
        return
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
    try:
        await client.create_variable(VariableCreate(name=name, value=value))
    except ObjectAlreadyExists:  # created meanwhile by another run: overwrite it
        await client.update_variable(VariableUpdate(name=name, value=value))


def _event_resources(alert: Alert) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The entity as the event's resource; the notification, rule and sources as related."""
    resource = {
        "prefect.resource.id": f"virustotal.{alert.entity_type}.{alert.entity_id}",
        "prefect.resource.name": alert.entity_id,
        "vt.entity_type": alert.entity_type,
        "vt.entity_id": alert.entity_id,
        "vt.origin": alert.origin,
        "vt.notification_id": alert.notification_id,
        "vt.link": vt_link(alert.entity_type, alert.entity_id),
    }
    if alert.entity_type == "file":
        resource["vt.sha256"] = alert.entity_id
    for label in ("event_severity", "use_case_category", "detection_category"):  # VT Alerts
        value = getattr(alert, label)
        if value:
            resource[f"vt.{label}"] = value
    related = [
        {
            "prefect.resource.id": f"virustotal.notification.{alert.notification_id}",
            "prefect.resource.role": "notification",
            "vt.source": alert.source,
        }
    ]
    if alert.rule_name:
        rule = {
            "prefect.resource.id": f"virustotal.rule.{alert.ruleset_id or '-'}.{alert.rule_name}",
            "prefect.resource.role": "rule",
            "prefect.resource.name": alert.rule_name,
        }
        if alert.ruleset_name:
            rule["vt.ruleset_name"] = alert.ruleset_name
        related.append(rule)
    for source in alert.sources:
        related.append(
            {
                "prefect.resource.id": f"virustotal.{source.type}.{source.id}",
                "prefect.resource.role": source.type,
                "prefect.resource.name": source.label or source.id,
            }
        )
    return resource, related


def emit_alert_event(alert: Alert) -> None:
    """Emit ``virustotal.alert.<origin>`` with the alert's deterministic id."""
    resource, related = _event_resources(alert)
    payload = alert.model_dump(mode="json", exclude={"entity"})
    emit_event(
        event=f"virustotal.alert.{alert.origin}",
        resource=resource,
        related=related,
        payload=payload,
        id=alert.event_id,
    )


async def _flush_events() -> None:
    """Wait until Prefect's events worker has passed every queued event to its client."""
    await asyncio.to_thread(EventsWorker.instance().wait_until_empty)


async def _hand_on(alert: Alert, handoff: Callable[[Alert], Any] | None, emit: bool) -> None:
    """The user's task first (if it raises, nothing about this alert went out), then the event."""
    if handoff is not None:
        outcome = handoff(alert)
        if inspect.isawaitable(outcome):
            await outcome
    if emit:
        emit_alert_event(alert)


async def _enrich(block: VirusTotalCredentials, alerts: Sequence[Alert]) -> int:
    """Attach reports to alerts that came without their object; the lookups made."""
    wanted = [a for a in alerts if a.entity is None and a.entity_type in _ENRICHABLE and a.entity_id]
    if not wanted:
        return 0
    results = await lookup_indicators([a.entity_id for a in wanted], credentials=block)
    for alert, result in zip(wanted, results, strict=True):
        if result.status == LookupStatus.FOUND:
            alert.entity = result.report
    return len(wanted)


@flow(name="virustotal-poll-alerts", log_prints=False)
async def poll_alerts(
    source: AlertSource = "ioc_stream",
    filter: str | None = None,
    start: datetime | None = None,
    checkpoint: str | None = None,
    limit: int = 500,
    request_budget: int = 100,
    page_size: int = 40,
    batch_pages: int = 5,
    acknowledge: bool = False,
    enrich: bool = False,
    emit_events: bool = True,
    handoff: Callable[[Alert], Any] | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> PollReport:
    """Hand on new VirusTotal alerts exactly once, then advance a durable checkpoint.

    Meant to run on a schedule, one run at a time. Reads the IoC Stream (files, URLs,
    domains, IPs; origins ``hunting`` and ``subscriptions``) or the livehunt notifications
    since the checkpoint in a Prefect Variable, page by page (never the whole stream in
    memory), skips what was handed on already, and hands each new alert on: the optional
    ``handoff`` task, then a Prefect event ``virustotal.alert.<origin>`` whose resource is
    the entity (``vt.sha256`` for files) and whose related resources are the notification,
    the rule and the sources, so that an automation can start a runbook. Then the
    checkpoint advances, and only then, if asked, the notifications are deleted at
    VirusTotal (acknowledged).

    Guarantee:
        - Nothing is lost: a notification listed at or after the watermark is handed on by
          this run or a later one (caps defer, never drop).
        - A failure that raises (the hand-off task, a VirusTotal or Prefect error, a
          cancellation) hands nothing on twice: before re-raising, the run records which
          alerts of the page went out, and the next run starts after them.
        - Only if the process dies outright (SIGKILL, power loss, or the checkpoint cannot
          be written while recovering) during a batch's hand-off, or between two batches,
          can alerts of that one batch (at most ``batch_pages * page_size``) be handed on
          again. The next run flags them with ``possible_duplicate=True`` (with them, any
          notification listed late with a date inside that batch's span), and their events
          carry the same event id as before (uuid5 of source and notification id,
          ``Alert.event_id``): downstream can dedupe.
        - A notification is deleted at VirusTotal only after its hand-off and the checkpoint
          advance; deletions interrupted by a crash are retried by the next run.

    Limits:
        - The checkpoint keeps ``MAX_SEEN_IDS`` (150) digests for the watermark second. If
          more notifications share one second, the watermark steps to the next second:
          notifications of that second not yet listed are skipped (counted in the
          Variable's ``skipped_seconds``). ``pending_ack`` is trimmed to fit 5,000
          characters: trimmed ids stay at VirusTotal, below the watermark, never repeated.
        - Relies on VirusTotal honouring ``order=date+`` and ``date:<iso>+``; a
          notification listed after the watermark passed its second is counted in
          ``out_of_order`` and not handed on.

    Args:
        credentials: a credentials block, or the name of a saved one.
        source: ``ioc_stream``, ``hunting_notifications`` (poll one: livehunt matches
            appear in both) or ``vt_alerts`` (VT Alerts watchlist notifications; no filter,
            no acknowledgement).
        filter: more filter text, e.g. ``origin:hunting`` or ``entity_type:file``.
        start: where the first run begins; None reads the whole stream.
        checkpoint: the Variable's name; ``virustotal-alerts-<source>`` by default.
        limit: most alerts handed on per run (the rest wait for the next run).
        request_budget: most VirusTotal requests per run (reads, deletions, lookups).
        page_size: notifications per request, at most 40.
        batch_pages: pages handed on between two checkpoint writes (one write per batch,
            plus one before deleting when ``acknowledge`` is on). More pages, fewer writes;
            ``batch_pages * page_size`` is also the most alerts a hard kill can repeat and
            the most the run holds in memory.
        acknowledge: delete each notification at VirusTotal after its hand-off.
        enrich: look up the objects of alerts that came without them (files, domains, IPs).
        emit_events: emit a Prefect event per alert.
        handoff: a task (or function) called with each ``Alert`` before its event.

    Returns:
        Counts of what the run did; the alerts themselves went to the hand-off.

    Raises:
        InvalidParameterError: a bad source, cap, page size or batch size.

    Example:
        ```python
        report = await poll_alerts(credentials="virustotal", acknowledge=True)
        ```
    """
    if source not in _SOURCES:
        raise InvalidParameterError(f"source must be one of {', '.join(_SOURCES)}, got {source!r}")
    if source == "vt_alerts" and (acknowledge or filter):
        raise InvalidParameterError("VT Alerts notifications take no filter and cannot be acknowledged")
    if limit < 1 or request_budget < 1 or not 1 <= page_size <= 40 or batch_pages < 1:
        raise InvalidParameterError(
            "limit, request_budget and batch_pages must be >= 1 and page_size in 1..40"
        )
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    name = checkpoint or default_checkpoint_name(source)
    state = await load_checkpoint(name)
    report = PollReport(source=source)
    origins: Counter[str] = Counter()
    suspect = state.in_flight()
    first_second = int(start.timestamp()) if start is not None else None
    unsaved = False  # the checkpoint in memory is ahead of the Variable

    async def save() -> None:
        nonlocal unsaved
        await save_checkpoint(name, state)
        unsaved = False

    async def acknowledge_pending() -> None:
        nonlocal unsaved
        result = await acknowledge_alerts(list(state.pending_ack), source, credentials=block)
        report.requests += result.requests
        report.acknowledged += len(result.deleted) + len(result.already_gone)
        state.pending_ack = []
        unsaved = True  # written with the next batch: deleting twice is harmless

    listing = _Listing(block, source, filter, page_size, batch_pages, limit, request_budget, first_second)
    try:
        if state.pending_ack:
            if acknowledge:
                await acknowledge_pending()
            else:
                state.pending_ack = []
                unsaved = True
        more = True
        while more and report.stopped is None:
            batch, more, failure = await listing.next_batch(state, report, logger)
            if batch:
                for alert in batch:
                    alert.possible_duplicate = suspect(alert)
                if enrich:
                    report.requests += await _enrich(block, batch)
                state.mark_in_flight(batch)
                try:
                    await save()  # also records the previous batch's advance
                except BaseException:
                    state.clear_in_flight()  # nothing of this batch went out
                    unsaved = True
                    raise
                delivered: list[Alert] = []
                try:
                    for alert in batch:
                        await _hand_on(alert, handoff, emit_events)
                        delivered.append(alert)
                    if emit_events:
                        await _flush_events()
                finally:
                    _record(state, delivered, acknowledge)
                    unsaved = True
                report.handed_on += len(batch)
                report.possible_duplicates += sum(a.possible_duplicate for a in batch)
                origins.update(a.origin for a in batch)
                if acknowledge:
                    await save()  # the advance and pending_ack are durable before deleting
                    await acknowledge_pending()
                    listing.restart()  # deletions shift later pages: read again from the checkpoint
            if failure is not None:
                raise failure
        if unsaved:
            await save()
    except BaseException:
        if unsaved:
            try:
                await save()
            except Exception:
                logger.exception("could not record the hand-off progress; the next run flags this batch")
        raise

    report.by_origin = dict(origins)
    if state.watermark is not None:
        report.watermark = datetime.fromtimestamp(state.watermark, tz=timezone.utc)
    if report.emulated:
        logger.warning(EMULATED_BANNER)
    logger.info(
        "%s: handed on %d alerts (%d possible duplicates), acknowledged %d, %d requests%s",
        source,
        report.handed_on,
        report.possible_duplicates,
        report.acknowledged,
        report.requests,
        f", stopped by {report.stopped}" if report.stopped else "",
    )
    return report


@dataclass
class _Listing:
    """Reads a source page after page, batch after batch, within the run's caps.

    A cursor belongs to the query that issued it: the date filter (``since``) changes only
    when a listing starts again from the checkpoint.
    """

    block: VirusTotalCredentials
    source: str
    filter: str | None
    page_size: int
    batch_pages: int
    max_alerts: int
    max_requests: int
    first_second: int | None
    cursor: str | None = None
    since: int | None = None

    def restart(self) -> None:
        """Read again from the checkpoint with the next batch."""
        self.cursor = None

    async def next_batch(
        self, state: AlertCheckpoint, report: PollReport, logger: Any
    ) -> tuple[list[Alert], bool, Exception | None]:
        """Up to ``batch_pages`` pages of new alerts: (alerts, more to read, error).

        An error after some pages is returned, not raised, so that the alerts already read
        are handed on (their quota not spent twice) before the run fails. A refused cursor
        ends the batch and makes the next one start again from the checkpoint. Sets
        ``report.stopped`` when a cap is reached.
        """
        batch: list[Alert] = []
        ids: set[str] = set()
        for _ in range(self.batch_pages):
            if report.requests >= self.max_requests:
                report.stopped = "max_requests"
                break
            if report.handed_on + len(batch) >= self.max_alerts:
                report.stopped = "max_alerts"
                break
            if self.cursor is None:
                self.since = state.watermark if state.watermark is not None else self.first_second
            try:
                page = await fetch_alert_page(
                    self.source, self.since, self.filter, self.cursor, self.page_size, credentials=self.block
                )
            except BadRequestError as exc:
                # InvalidArgumentError derives from BadRequestError: an expired or refused cursor.
                if self.cursor is None:
                    return batch, False, exc
                logger.warning("cursor refused (%s); reading again from the checkpoint", exc.code)
                report.requests += 1
                report.cursor_restarts += 1
                self.restart()
                return batch, True, None
            except Exception as exc:
                return batch, False, exc
            report.pages += 1
            report.requests += page.requests
            report.emulated = report.emulated or page.emulated
            room = self.max_alerts - report.handed_on - len(batch)
            for alert in page.alerts:
                if alert.notification_id in ids:
                    continue
                if state.is_new(alert):
                    if room == 0:
                        report.stopped = "max_alerts"
                        break
                    batch.append(alert)
                    ids.add(alert.notification_id)
                    room -= 1
                elif state.watermark is not None and int(alert.date.timestamp()) < state.watermark:
                    report.out_of_order += 1
            self.cursor = page.cursor
            if report.stopped is not None or self.cursor is None:
                break
        return batch, self.cursor is not None, None


def _record(state: AlertCheckpoint, delivered: Sequence[Alert], acknowledge: bool) -> None:
    """Advance past the alerts handed on; the batch is no longer in flight."""
    state.advance(delivered)
    state.clear_in_flight()
    if acknowledge:
        state.pending_ack = list(dict.fromkeys([*state.pending_ack, *(a.notification_id for a in delivered)]))
