"""``poll_alerts``: new IoC Stream or livehunt notifications, handed on once, across crashes.

The checkpoint is one Prefect Variable (JSON, at most 5,000 characters)::

    {"v": 1, "watermark": <epoch second>, "seen": [<digest>, ...],
     "inflight": [<digest>, ...], "pending_ack": [<notification id>, ...]}

- ``watermark``: every notification dated before this second has been handed on.
- ``seen``: digests (12 hex characters of SHA-256) of the notifications of the watermark
  second already handed on (same-second notifications exist; a one-second step would drop
  or repeat them). At most ``MAX_SEEN_IDS``; past that, see ``poll_alerts``.
- ``inflight``: digests of the page being handed on, written before the hand-off starts.
- ``pending_ack``: ids handed on but not yet deleted at VirusTotal (acknowledgement on).

Per page: fetch (``order=date+``, ``filter=date:<watermark>+``, cursor) -> drop seen ids ->
write ``inflight`` -> hand each alert on (the user's task, then one Prefect event) -> flush
the events -> advance ``watermark``/``seen``, clear ``inflight``, set ``pending_ack`` (one
write) -> delete at VirusTotal -> clear ``pending_ack``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections import Counter
from collections.abc import Callable, Sequence
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
from prefect_virustotal.client.models import Alert, LookupStatus
from prefect_virustotal.flows._enrich import EMULATED_BANNER
from prefect_virustotal.tasks import acknowledge_alerts, fetch_alert_page, lookup_indicators

MAX_SEEN_IDS = 150
"""Digests of same-second notifications the checkpoint keeps (150 x 15 characters)."""
MAX_CHECKPOINT_CHARS = 4_900
"""Prefect Variables hold at most 5,000 characters of JSON."""
_DIGEST_CHARS = 12
_SOURCES = ("ioc_stream", "hunting_notifications")
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
        "vt.link": alert.link,
    }
    if alert.entity_type == "file":
        resource["vt.sha256"] = alert.entity_id
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
    results = await lookup_indicators(block, [a.entity_id for a in wanted])
    for alert, result in zip(wanted, results, strict=True):
        if result.status == LookupStatus.FOUND:
            alert.entity = result.report
    return len(wanted)


@flow(name="poll_alerts", log_prints=False)
async def poll_alerts(
    credentials: VirusTotalCredentials | str = "virustotal",
    source: str = "ioc_stream",
    filter: str | None = None,
    start: datetime | None = None,
    checkpoint: str | None = None,
    max_alerts: int = 500,
    max_requests: int = 100,
    page_size: int = 40,
    acknowledge: bool = False,
    enrich: bool = False,
    emit_events: bool = True,
    handoff: Callable[[Alert], Any] | None = None,
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
          be written while recovering) during a page's hand-off can alerts of that one page
          (at most ``page_size``) be handed on again. The next run flags exactly those with
          ``possible_duplicate=True``, and their events carry the same event id as before
          (uuid5 of source and notification id, ``Alert.event_id``): downstream can dedupe.
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
        source: ``ioc_stream`` or ``hunting_notifications`` (poll one: livehunt matches
            appear in both).
        filter: more filter text, e.g. ``origin:hunting`` or ``entity_type:file``.
        start: where the first run begins; None reads the whole stream.
        checkpoint: the Variable's name; ``virustotal-alerts-<source>`` by default.
        max_alerts: most alerts handed on per run (the rest wait for the next run).
        max_requests: most VirusTotal requests per run (reads, deletions, lookups).
        page_size: notifications per request, at most 40; also the most alerts a hard
            kill can repeat.
        acknowledge: delete each notification at VirusTotal after its hand-off.
        enrich: look up the objects of alerts that came without them (files, domains, IPs).
        emit_events: emit a Prefect event per alert.
        handoff: a task (or function) called with each ``Alert`` before its event.

    Returns:
        Counts of what the run did; the alerts themselves went to the hand-off.

    Raises:
        InvalidParameterError: a bad source, cap or page size.

    Example:
        ```python
        report = await poll_alerts(credentials="virustotal", acknowledge=True)
        ```
    """
    if source not in _SOURCES:
        raise InvalidParameterError(f"source must be one of {', '.join(_SOURCES)}, got {source!r}")
    if max_alerts < 1 or max_requests < 1 or not 1 <= page_size <= 40:
        raise InvalidParameterError("max_alerts and max_requests must be >= 1 and page_size in 1..40")
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    name = checkpoint or default_checkpoint_name(source)
    state = await load_checkpoint(name)
    report = PollReport(source=source)
    origins: Counter[str] = Counter()
    suspects = set(state.inflight)
    first_second = int(start.timestamp()) if start is not None else None

    async def acknowledge_pending() -> None:
        result = await acknowledge_alerts(block, list(state.pending_ack), source)
        report.requests += result.requests
        report.acknowledged += len(result.deleted) + len(result.already_gone)
        state.pending_ack = []
        await save_checkpoint(name, state)

    if state.pending_ack:
        if acknowledge:
            await acknowledge_pending()
        else:
            state.pending_ack = []
            await save_checkpoint(name, state)

    cursor: str | None = None
    since: int | None = None
    while True:
        if report.requests >= max_requests:
            report.stopped = "max_requests"
            break
        if report.handed_on >= max_alerts:
            report.stopped = "max_alerts"
            break
        if cursor is None:
            # A cursor belongs to the query that issued it: the date filter changes only
            # when a listing starts again.
            since = state.watermark if state.watermark is not None else first_second
        try:
            page = await fetch_alert_page(block, source, since, filter, cursor, page_size)
        except BadRequestError as exc:
            # InvalidArgumentError derives from BadRequestError: an expired or refused cursor.
            if cursor is None:
                raise
            logger.warning("cursor refused (%s); reading again from the checkpoint", exc.code)
            report.requests += 1
            report.cursor_restarts += 1
            cursor = None
            continue
        report.pages += 1
        report.requests += page.requests
        report.emulated = report.emulated or page.emulated
        fresh: list[Alert] = []
        for alert in page.alerts:
            if state.is_new(alert):
                fresh.append(alert)
            elif state.watermark is not None and int(alert.date.timestamp()) < state.watermark:
                report.out_of_order += 1
        room = max_alerts - report.handed_on
        capped = len(fresh) > room
        fresh = fresh[:room]
        if fresh:
            for alert in fresh:
                alert.possible_duplicate = notification_digest(alert.notification_id) in suspects
            if enrich:
                report.requests += await _enrich(block, fresh)
            state.inflight = [notification_digest(a.notification_id) for a in fresh]
            await save_checkpoint(name, state)
            delivered: list[Alert] = []
            try:
                for alert in fresh:
                    await _hand_on(alert, handoff, emit_events)
                    delivered.append(alert)
                if emit_events:
                    await _flush_events()
                _record(state, fresh, acknowledge)
                await save_checkpoint(name, state)
            except BaseException:
                _record(state, delivered, acknowledge)  # idempotent: safe after a failed advance
                try:
                    await save_checkpoint(name, state)
                except Exception:
                    logger.exception("could not record the hand-off progress; the next run flags this page")
                raise
            report.handed_on += len(fresh)
            report.possible_duplicates += sum(a.possible_duplicate for a in fresh)
            origins.update(a.origin for a in fresh)
            if acknowledge:
                await acknowledge_pending()
                if page.cursor is not None and not capped:
                    cursor = None  # deletions shift later pages: read again from the checkpoint
                    continue
        if capped:
            report.stopped = "max_alerts"
            break
        if page.cursor is None:
            break
        cursor = page.cursor

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


def _record(state: AlertCheckpoint, delivered: Sequence[Alert], acknowledge: bool) -> None:
    """Advance past the alerts handed on; the page is no longer in flight."""
    state.advance(delivered)
    state.inflight = []
    if acknowledge:
        state.pending_ack = list(dict.fromkeys([*state.pending_ack, *(a.notification_id for a in delivered)]))
