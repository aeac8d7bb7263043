"""``poll_alerts``: new IoC Stream, livehunt or VT Alerts notifications, handed on once, across crashes.

The checkpoint (its shape, the digests, the in-flight record) and the listing are the core's
(``prefect_virustotal.core.AlertCheckpoint``, ``read_alert_batch``); this flow keeps the
checkpoint in a store (Prefect Variables by default), runs one task per batch, hands each
alert on and emits its event.

Per batch (``batch_pages`` pages of ``order=date+``, ``filter=date:<watermark>+``, cursor):
fetch the batch (one task run) -> write ``inflight`` (the same write records the previous
batch's advance) -> hand each alert on (the user's task, then one Prefect event) -> flush the
events -> advance ``watermark``/``seen`` in memory. With acknowledgement on, the advance and
``pending_ack`` are written before deleting at VirusTotal. Whatever is still unwritten is
written at the end of the run, and before an error leaves it.

Against a self-hosted Prefect server the flush is one ``POST /events`` per batch, and the run
never gets more than ``MAX_UNSTORED_EVENTS`` events ahead of the server's event store (the
server's in-memory queues drop what comes while they are full).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.utilities import get_or_create_client
from prefect.events import Event
from prefect.events.clients import PrefectEventsClient
from prefect.events.filters import EventFilter, EventIDFilter
from prefect.events.related import related_resources_from_run_context
from prefect.events.schemas.events import RelatedResource, Resource
from prefect.events.worker import EventsWorker, emit_events_to_cloud, should_emit_events
from prefect.exceptions import EventTooLarge, PrefectHTTPStatusError
from prefect.logging import get_logger
from prefect.settings import get_current_settings
from pydantic import BaseModel, Field, TypeAdapter

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import InvalidParameterError
from prefect_virustotal.client.models import Alert, AlertSource
from prefect_virustotal.core import (
    MAX_PAGE_SIZE,
    AlertBatch,
    AlertCheckpoint,
    AlertListing,
    CheckpointStore,
    LookupStatus,
    alert_checkpoint_name,
    check_alert_source,
    vt_link,
)
from prefect_virustotal.flows._enrich import EMULATED_BANNER
from prefect_virustotal.tasks import acknowledge_alerts, fetch_alert_batch, lookup_indicators

from ._checkpoints import VariableCheckpointStore

_ENRICHABLE = {"file", "domain", "ip_address"}


class PollReport(BaseModel):
    """What one ``poll_alerts`` run did.

    Attributes:
        source: ``ioc_stream``, ``hunting_notifications`` or ``vt_alerts``.
        handed_on: alerts handed on in this run.
        possible_duplicates: of those, alerts a killed run may have handed on already.
        acknowledged: notifications deleted at VirusTotal.
        by_origin: alerts per origin.
        pages: pages fetched.
        requests: VirusTotal requests sent (retries included).
        stopped: ``limit`` or ``request_budget`` when that cap of ``poll_alerts`` ended the run early
            (the rest waits for the next run).
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

    def add_batch(self, batch: AlertBatch) -> None:
        """Count what a batch's listing did (its alerts count once handed on)."""
        self.pages += batch.pages
        self.requests += batch.requests
        self.cursor_restarts += batch.cursor_restarts
        self.out_of_order += batch.out_of_order
        self.emulated = self.emulated or batch.emulated
        self.stopped = self.stopped or batch.stopped


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


def _alert_event(
    alert: Alert, run_related: Sequence[RelatedResource] = (), max_related: int = 50, max_labels: int = 500
) -> Event:
    """``virustotal.alert.<origin>`` with the alert's deterministic id.

    Built without Prefect's validation, which reads its settings for every resource, when
    the event is valid by construction: every resource here maps strings to strings, has a
    non-empty id and at most 10 labels (the tests validate every event the flow emits).
    An event that may not be (an empty source type as a role, more related resources or
    labels than the server takes) is validated as ``Event(...)`` would, and refused the
    same way. ``run_related`` (the flow run, its flow, deployment, tags) follows the
    alert's own related resources, as many as ``max_related`` leaves room for, as Prefect's
    events worker attaches them.
    """
    resource, related = _event_resources(alert)
    name = f"virustotal.alert.{alert.origin}"
    payload = alert.model_dump(mode="json", exclude={"entity"})
    room = max_related - len(related)
    if room < 0 or max_labels < 10 or not all(labels["prefect.resource.role"] for labels in related):
        return Event(
            event=name,
            resource=resource,
            related=[*related, *run_related[: max(room, 0)]],
            payload=payload,
            id=alert.event_id,
        )
    return Event.model_construct(
        event=name,
        resource=Resource.model_construct(root=resource),
        related=[*(RelatedResource.model_construct(root=labels) for labels in related), *run_related[:room]],
        payload=payload,
        id=alert.event_id,
    )


def _size_bound(alert: Alert, run_related_bytes: int) -> int:
    """Bytes the alert's event can take at most as JSON, without serialising it.

    Every label and payload value is one of the alert's strings or a short fixed piece;
    none of the alert's strings appears more than six times, and no character takes more
    than six bytes of JSON (``\\uXXXX``). Keys, punctuation and fixed pieces are bounded
    by 4 KiB plus 512 bytes per source and tag.
    """
    texts = [
        alert.notification_id,
        alert.origin,
        alert.entity_type,
        alert.entity_id,
        alert.rule_name or "",
        alert.ruleset_id or "",
        alert.ruleset_name or "",
        alert.event_severity or "",
        alert.use_case_category or "",
        alert.detection_category or "",
        *alert.tags,
    ]
    for source in alert.sources:
        texts += [source.type, source.id, source.label or ""]
        if source.model_extra:  # whatever else VirusTotal said of the source goes in the payload
            texts.append(json.dumps(source.model_extra))
    if alert.model_extra:
        texts.append(json.dumps(alert.model_extra))
    chars = sum(len(text) for text in texts)
    return 4096 + 512 * (len(alert.sources) + len(alert.tags)) + 36 * chars + run_related_bytes


def emit_alert_event(alert: Alert) -> None:
    """Emit ``virustotal.alert.<origin>`` with the alert's deterministic id."""
    _AlertEvents().emit(alert)


_NO_RUN_RESOURCES: list[RelatedResource] = []

_EVENT_LIST = TypeAdapter(list[Event])

POST_EVENTS_MAX_BYTES = 4_000_000
"""Most bytes of events (by their size bound) in one ``POST /events`` request; more go in several."""

MAX_UNSTORED_EVENTS = 2_000
"""Most of a run's posted events the Prefect server may hold before it has stored them.

A Prefect server hands each event it accepts to its services (the event persister, the
triggers that start automations, the task-run recorder) through an in-memory queue per
service, and drops what arrives while a queue holds 10,000. Polling a backlog, the flow can
send events faster than the server stores them (one event at a time through Prefect's events
worker, 100,000 notifications in one run on PostgreSQL: 46,943 of the events were stored):
before posting more, the run waits until all but this many of its events are stored.
"""

STORED_WAIT_SECONDS = 120.0
"""Longest a run waits for the server to store a posted request's events before going on (warned)."""


def _streams_to_prefect_server(worker: EventsWorker) -> bool:
    """Whether Prefect's events worker sends to the self-hosted Prefect server at ``PREFECT_API_URL``.

    Only then does the flow post a batch's events to that server itself. Prefect Cloud, an
    ephemeral server the worker started for itself, or any other events client (a test's, a
    null one) keep getting them through the worker.
    """
    return (
        worker.client_type is PrefectEventsClient
        and not dict(worker.client_options).get("api_url")
        and not emit_events_to_cloud()
    )


async def run_related_resources() -> list[RelatedResource]:
    """The flow run's related resources (run, flow, deployment, work pool, tags), looked up once.

    What Prefect's events worker attaches to each event sent from inside a run; empty
    outside one.
    """
    async with get_client() as client:
        return await related_resources_from_run_context(client)


class _EventPoster:
    """Posts a run's alert events to the Prefect server, never far ahead of what it has stored.

    One per run: the requests posted (their event ids) that the server may not have stored
    yet, oldest first. When a request would leave more than ``max_unstored`` events unstored,
    the oldest requests, down to half that allowance, are first looked up together in the
    server's event store (``POST /events/filter`` by id) until all are there, at most
    ``STORED_WAIT_SECONDS``: one look-up for several batches rather than one per batch.
    """

    def __init__(self, max_unstored: int = MAX_UNSTORED_EVENTS) -> None:
        self.max_unstored = max_unstored
        self.unstored: deque[list[UUID]] = deque()

    async def post(self, client: PrefectClient, events: list[Event]) -> None:
        """``POST /events``: answered 204 once the server has accepted them all."""
        await self._make_room(client, len(events))
        await client.request(
            "POST",
            "/events",
            content=_EVENT_LIST.dump_json(events),
            headers={"Content-Type": "application/json"},
        )
        self.unstored.append([event.id for event in events])

    async def _make_room(self, client: PrefectClient, coming: int) -> None:
        held = sum(map(len, self.unstored))
        if held + coming <= self.max_unstored:
            return
        ids: list[UUID] = []
        while self.unstored and (not ids or held + coming > self.max_unstored // 2):
            oldest = self.unstored.popleft()
            ids += oldest
            held -= len(oldest)
        deadline = time.monotonic() + STORED_WAIT_SECONDS
        pause = 0.05
        while True:
            page = await client.read_events(EventFilter(id=EventIDFilter(id=ids)), limit=1)
            if page.total >= len(ids):
                return
            if time.monotonic() > deadline:
                get_logger(__name__).warning(
                    "The Prefect server stored %d of %d alert events within %.0f s; going on",
                    page.total,
                    len(ids),
                    STORED_WAIT_SECONDS,
                )
                return
            await asyncio.sleep(pause)  # the server's event persister writes in batches
            pause = min(pause * 2, 1.0)


class _AlertEvents:
    """One Prefect event per alert, as ``emit_event`` sends it, for a batch of alerts.

    ``emit_event`` reads Prefect's settings and finds the events worker for every event, and
    the worker then looks up the run's related resources again for every event (in its
    thread, under the GIL): here the worker and settings are found once per batch, the
    run's resources once per run (``run_related``), and each event is built without
    re-validation and sized by a bound (serialised to be measured only when the bound is
    near the cap). What is sent is the same: one event per alert with the same id, resources
    and related resources; over the server's size cap refused (``EventTooLarge``); any other
    failure logged and not raised.

    With a ``poster`` (the flow's batches), when the worker would stream the events to a
    self-hosted Prefect server (``_streams_to_prefect_server``), they are kept until
    ``flush`` and posted to that server together (Prefect's REST ``POST /events``, "record
    a batch of events"), paced by the server's storing (``_EventPoster``): one request per
    batch instead of one queue hop, one websocket message and one server-side read per
    event, and ``flush`` returns once the server has answered that it accepted them. A
    request that fails (after the Prefect client's own retries) hands its events to the
    worker instead, and ``flush`` waits for the worker. Otherwise each event goes to the
    worker as it is emitted, and ``flush`` waits until the worker has passed them all to
    its client.
    """

    def __init__(
        self,
        run_related: Sequence[RelatedResource] = _NO_RUN_RESOURCES,
        *,
        poster: _EventPoster | None = None,
    ) -> None:
        self.worker = EventsWorker.instance() if should_emit_events() else None
        settings = get_current_settings().server.events
        self.max_size = settings.maximum_size_bytes
        self.max_related = settings.maximum_related_resources
        self.max_labels = settings.maximum_labels_per_resource
        self.run_related = list(run_related)
        self.run_related_bytes = sum(len(r.model_dump_json()) + 1 for r in self.run_related)
        self.poster = poster if self.worker is not None and _streams_to_prefect_server(self.worker) else None
        self.held: list[tuple[Event, int]] = []  # (event, its size bound), posted by flush()
        self.through_worker = False

    def emit(self, alert: Alert) -> None:
        if self.worker is None:
            return
        try:
            event = _alert_event(alert, self.run_related, self.max_related, self.max_labels)
            bound = _size_bound(alert, self.run_related_bytes)
            if bound > self.max_size:
                size = event.size_bytes  # near the cap: measure exactly
                if size > self.max_size:
                    raise EventTooLarge(size, self.max_size)
            if self.poster is not None:
                self.held.append((event, bound))
            else:
                self._to_worker(event)
        except EventTooLarge:
            raise
        except Exception:
            get_logger(__name__).exception("Error emitting event: virustotal.alert.%s", alert.origin)

    def _to_worker(self, event: Event) -> None:
        assert self.worker is not None
        self.through_worker = True
        if self.run_related:
            # Sent from an empty context: the worker finds no run there and adds nothing;
            # the event already carries the run's resources.
            contextvars.Context().run(self.worker.send, event)
        else:
            self.worker.send(event)

    async def flush(self) -> None:
        """Post the held events; wait until the worker has passed on whatever went through it."""
        held, self.held = self.held, []
        chunk: list[Event] = []
        size = 0
        for event, bound in held:
            if chunk and size + bound > POST_EVENTS_MAX_BYTES:
                await self._post(chunk)
                chunk, size = [], 0
            chunk.append(event)
            size += bound
        if chunk:
            await self._post(chunk)
        if self.worker is not None and self.through_worker:
            await asyncio.to_thread(self.worker.wait_until_empty)

    async def _post(self, events: list[Event]) -> None:
        assert self.poster is not None
        client, from_context = get_or_create_client()
        try:
            if from_context:
                await self.poster.post(client, events)
            else:
                async with client:
                    await self.poster.post(client, events)
        except PrefectHTTPStatusError as error:
            if error.response.status_code == 422:  # refused as invalid: resending would not help
                get_logger(__name__).exception("Error emitting %d virustotal.alert events", len(events))
                return
            self._fall_back(events, error)
        except Exception as error:
            self._fall_back(events, error)

    def _fall_back(self, events: list[Event], error: Exception) -> None:
        get_logger(__name__).warning(
            "Could not post %d events to the Prefect server (%s); sending them through the events worker",
            len(events),
            error,
        )
        for event in events:
            self._to_worker(event)


async def _hand_on(alert: Alert, handoff: Callable[[Alert], Any] | None, events: _AlertEvents | None) -> None:
    """The user's task first (if it raises, nothing about this alert went out), then the event."""
    if handoff is not None:
        outcome = handoff(alert)
        if inspect.isawaitable(outcome):
            await outcome
    if events is not None:
        events.emit(alert)


async def _enrich(block: VirusTotalCredentials, alerts: Sequence[Alert]) -> int:
    """Attach reports to alerts that came without their object; the lookups made."""
    wanted = [a for a in alerts if not a.has_entity and a.entity_type in _ENRICHABLE and a.entity_id]
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
    checkpoints: CheckpointStore | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> PollReport:
    """Hand on new VirusTotal alerts exactly once, then advance a durable checkpoint.

    Meant to run on a schedule, one run at a time. Reads the IoC Stream (files, URLs,
    domains, IPs; origins ``hunting`` and ``subscriptions``), the livehunt notifications or
    the VT Alerts notifications since the checkpoint (a Prefect Variable unless
    ``checkpoints`` says otherwise), page by page (never the whole stream in memory), skips
    what was handed on already, and hands each new alert on: the optional ``handoff`` task,
    then a Prefect event ``virustotal.alert.<origin>`` whose resource is the entity
    (``vt.sha256`` for files) and whose related resources are the notification, the rule
    and the sources, so that an automation can start a runbook. Then the checkpoint
    advances, and only then, if asked, the notifications are deleted at
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
          checkpoint's ``skipped_seconds``). ``pending_ack`` is trimmed so the checkpoint fits
          the store's cap (``MAX_CHECKPOINT_BYTES``, 4,900 bytes of JSON; a Variable holds
          5,000): trimmed ids stay at VirusTotal, below the watermark, never repeated.
        - Relies on VirusTotal honouring ``order=date+`` and ``date:<iso>+``; a
          notification listed after the watermark passed its second is counted in
          ``out_of_order`` and not handed on.

    Args:
        source: ``ioc_stream``, ``hunting_notifications`` (poll one: livehunt matches
            appear in both) or ``vt_alerts`` (VT Alerts watchlist notifications; no filter,
            no acknowledgement).
        filter: more filter text, e.g. ``origin:hunting`` or ``entity_type:file``.
        start: where the first run begins; None reads the whole stream.
        checkpoint: the checkpoint's name; ``virustotal-alerts-<source>`` by default
            (``virustotal-alerts-ioc-stream``, ``-hunting-notifications``, ``-vt-alerts``).
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
        checkpoints: where the checkpoint is kept; Prefect Variables
            (``VariableCheckpointStore``) by default, ``MemoryCheckpointStore`` for a rehearsal.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        Counts of what the run did; the alerts themselves went to the hand-off.

    Raises:
        InvalidParameterError: a bad source, cap, page size or batch size.

    Example:
        ```python
        report = await poll_alerts(credentials="virustotal", acknowledge=True)
        ```
    """
    checked = check_alert_source(source)
    if checked == "vt_alerts" and (acknowledge or filter):
        raise InvalidParameterError("VT Alerts notifications take no filter and cannot be acknowledged")
    if limit < 1 or request_budget < 1 or not 1 <= page_size <= MAX_PAGE_SIZE or batch_pages < 1:
        raise InvalidParameterError(
            "limit, request_budget and batch_pages must be >= 1 and page_size in 1..40"
        )
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    store: CheckpointStore = checkpoints if checkpoints is not None else VariableCheckpointStore()
    name = checkpoint or alert_checkpoint_name(checked)
    state = AlertCheckpoint.from_stored(await store.load(name))
    report = PollReport(source=checked)
    origins: Counter[str] = Counter()
    suspect = state.in_flight()
    run_related: list[RelatedResource] | None = None  # looked up with the first events
    poster = _EventPoster()
    unsaved = False  # the checkpoint in memory is ahead of the stored one

    # The last batch's events on their way to the Prefect server: waited for while the
    # next batch is read, and always before a write records those alerts as handed on.
    flushing: asyncio.Task[None] | None = None

    async def save() -> None:
        nonlocal unsaved, flushing
        if flushing is not None:
            pending, flushing = flushing, None
            await pending
        await store.save(name, state.dump())
        unsaved = False

    async def acknowledge_pending() -> None:
        nonlocal unsaved
        result = await acknowledge_alerts(list(state.pending_ack), checked, credentials=block)
        report.requests += result.requests
        report.acknowledged += len(result.deleted) + len(result.already_gone)
        state.pending_ack = []
        unsaved = True  # written with the next batch: deleting twice is harmless

    listing = AlertListing(
        checked,
        filter,
        page_size,
        batch_pages,
        int(start.timestamp()) if start is not None else None,
    )
    try:
        if state.pending_ack:
            if acknowledge:
                await acknowledge_pending()
            else:
                state.pending_ack = []
                unsaved = True
        more = True
        while more and report.stopped is None:
            # One task run reads the whole batch (up to batch_pages pages, one client).
            batch = await fetch_alert_batch(
                listing,
                state,
                limit - report.handed_on,
                request_budget - report.requests,
                credentials=block,
            )
            report.add_batch(batch)
            listing, more = batch.listing, batch.more
            if batch.alerts:
                alerts = batch.alerts
                for alert in alerts:
                    alert.possible_duplicate = suspect(alert)
                if enrich:
                    report.requests += await _enrich(block, alerts)
                state.mark_in_flight(alerts)
                try:
                    await save()  # also records the previous batch's advance
                except BaseException:
                    state.clear_in_flight()  # nothing of this batch went out
                    unsaved = True
                    raise
                delivered: list[Alert] = []
                events = None
                if emit_events:
                    if run_related is None:
                        run_related = await run_related_resources()
                    events = _AlertEvents(run_related, poster=poster)
                try:
                    for alert in alerts:
                        await _hand_on(alert, handoff, events)
                        delivered.append(alert)
                finally:
                    state.record_hand_off(delivered, acknowledge)
                    unsaved = True
                    if events is not None and delivered:
                        flushing = asyncio.ensure_future(events.flush())  # awaited by the next save()
                report.handed_on += len(alerts)
                report.possible_duplicates += sum(a.possible_duplicate for a in alerts)
                origins.update(a.origin for a in alerts)
                if acknowledge:
                    await save()  # the advance and pending_ack are durable before deleting
                    await acknowledge_pending()
                    listing = listing.restarted()  # deletions shift later pages: read again
            if batch.error is not None:
                raise batch.error
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
