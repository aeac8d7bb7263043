"""``poll_alerts``: exactly once across crashes at every step, real flow, tasks, client, emulator."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefect import task
from prefect.client.orchestration import get_client
from prefect.events import Event
from prefect.events.clients import AssertingEventsClient, PrefectEventsClient
from prefect.events.filters import EventFilter, EventIDFilter
from prefect.events.worker import EventsWorker
from prefect.exceptions import EventTooLarge
from prefect.settings import PREFECT_SERVER_EVENTS_MAXIMUM_SIZE_BYTES, temporary_settings
from prefect.variables import Variable
from prometheus_client import REGISTRY

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import ForbiddenError
from prefect_virustotal.client.models import Alert, NotificationSource
from prefect_virustotal.core import (
    MAX_CHECKPOINT_BYTES,
    CheckpointStore,
    MemoryCheckpointStore,
    checkpoint_size,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.flows import MAX_SEEN_IDS, PollReport, VariableCheckpointStore, poll_alerts
from prefect_virustotal.flows._alerts import _alert_event, _EventPoster, _size_bound
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")

BASE = 1767225600
KINDS = ("file", "url", "domain", "ip_address")


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    """Prefect's own in-memory events client behind the events worker."""
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


def alert_events(worker: EventsWorker) -> list[Any]:
    worker.wait_until_empty()
    client = worker._client
    assert isinstance(client, AssertingEventsClient)
    return [e for e in client.events if e.event.startswith("virustotal.alert.")]


def seed(
    emulator: Emulator, count: int, *, per_second: int = 7, start: int = BASE, key: str = PREMIUM_KEY
) -> list[str]:
    """``count`` notifications, ``per_second`` sharing each second, every entity type and origin."""
    ids = []
    for i in range(count):
        kind = KINDS[i % 4]
        n = emulator.inject_ioc_notification(
            key=key,
            date=start + i // per_second,
            origin="hunting" if i % 3 == 0 else "subscriptions",
            entity_type=kind,
            entity_id=f"unknown-{i}.example" if kind == "domain" and i % 8 == 2 else None,
        )
        ids.append(n.id)
    return ids


class Ledger:
    """What the hand-off task saw, and where in the emulator's request log it was."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.handed: list[Alert] = []
        self.at: dict[str, int] = {}
        self.calls = 0
        self.fail_on_call: int | None = None
        self.on_call: dict[int, Callable[[], None]] = {}

    def task(self) -> Any:
        @task(name="record_alert")
        async def record_alert(alert: Alert) -> None:
            self.calls += 1
            if self.calls in self.on_call:
                self.on_call[self.calls]()
            if self.fail_on_call == self.calls:
                raise RuntimeError("hand-off failed")
            self.handed.append(alert)
            self.at.setdefault(alert.notification_id, len(self.emulator.requests))

        return record_alert

    def counts(self) -> Counter[str]:
        return Counter(a.notification_id for a in self.handed)


def deletes(emulator: Emulator) -> list[tuple[int, str]]:
    """(log index, notification id) of every successful DELETE of one notification."""
    out = []
    for index, record in enumerate(emulator.requests):
        if record.method == "DELETE" and "/ioc_stream_notifications/" in record.path and record.status == 200:
            out.append((index, record.path.rsplit("/", 1)[1]))
    return out


async def run_until_done(runs: int, **kwargs: Any) -> list[PollReport | BaseException]:
    outcomes: list[PollReport | BaseException] = []
    for _ in range(runs):
        try:
            report = await poll_alerts(**kwargs)
        except Exception as exc:
            outcomes.append(exc)
            continue
        outcomes.append(report)
        if report.stopped is None:
            break
    return outcomes


class FaultyStore:
    """A checkpoint store that fails chosen writes (counted from 1): before or after writing.

    Passed to ``poll_alerts(checkpoints=...)``; it keeps the values in ``inner`` (in memory
    unless a test wants the Prefect Variables).
    """

    def __init__(
        self,
        fail_calls: set[int] | None = None,
        after_write: bool = False,
        forever_from: int | None = None,
        inner: CheckpointStore | None = None,
    ) -> None:
        self.inner: CheckpointStore = inner if inner is not None else MemoryCheckpointStore()
        self.fail_calls = fail_calls or set()
        self.after_write = after_write
        self.forever_from = forever_from
        self.calls = 0
        self.sizes: list[int] = []

    async def load(self, name: str) -> Any:
        return await self.inner.load(name)

    async def clear(self, name: str) -> None:
        await self.inner.clear(name)

    async def save(self, name: str, value: Any) -> None:
        self.calls += 1
        failing = self.calls in self.fail_calls or (
            self.forever_from is not None and self.calls >= self.forever_from
        )
        if failing and not self.after_write:
            raise RuntimeError(f"killed before checkpoint write #{self.calls}")
        await self.inner.save(name, value)
        self.sizes.append(len(json.dumps(value)))
        assert checkpoint_size(value) <= MAX_CHECKPOINT_BYTES
        if failing:
            raise RuntimeError(f"killed after checkpoint write #{self.calls}")


def checkpoint_name() -> str:
    return f"test-alerts-{uuid.uuid4().hex[:12]}"


# With acknowledgement and one page per batch, the writes are: #1 page 1 in flight, #2 its
# advance and pending deletions, then #3 page 2 in flight (and page 1's deletions done), #4 its
# advance, and so on.
CRASHES: dict[str, dict[str, Any]] = {
    "after_fetch": {"save": ({1}, False)},  # the in-flight write of page 1 never happens
    "mid_handoff": {"fail_on_call": 14},
    "before_checkpoint_write": {"save": ({4}, False)},  # page 2's advance
    "after_checkpoint_write": {"save": ({4}, True)},
    "mid_acknowledgement": {"delete_fault": 17},
}


@pytest.mark.parametrize("crash", list(CRASHES))
async def test_every_alert_handed_on_exactly_once_across_a_crash(
    crash: str,
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    events: EventsWorker,
) -> None:
    ids = seed(mounted, 30)
    ledger = Ledger(mounted)
    plan = CRASHES[crash]
    fail_calls, after_write = plan.get("save", (set(), False))
    store = FaultyStore(fail_calls, after_write)
    ledger.fail_on_call = plan.get("fail_on_call")
    if "delete_fault" in plan:
        victim = ids[plan["delete_fault"]]
        mounted.faults.add(
            kind="error",
            code="ForbiddenError",
            count=1,
            method="DELETE",
            path_prefix=f"/ioc_stream_notifications/{victim}",
        )
    name = checkpoint_name()
    outcomes = await run_until_done(
        4,
        credentials=credentials,
        checkpoint=name,
        page_size=10,
        batch_pages=1,
        acknowledge=True,
        handoff=ledger.task(),
        checkpoints=store,
    )
    assert isinstance(outcomes[0], Exception), f"{crash}: the first run should have been killed"
    final = outcomes[-1]
    assert isinstance(final, PollReport) and final.stopped is None

    counts = ledger.counts()
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}, f"{crash}: handed on twice: {[i for i, c in counts.items() if c > 1]}"
    assert not any(a.possible_duplicate for a in ledger.handed)
    seen_events = alert_events(events)
    assert Counter(str(e.id) for e in seen_events) == Counter(str(a.event_id) for a in ledger.handed)
    assert len(seen_events) == len(ids)
    # Acknowledged only after the hand-off, and every one of them in the end.
    removed = deletes(mounted)
    assert {i for _, i in removed} == set(ids)
    assert all(index >= ledger.at[nid] for index, nid in removed)
    assert len(mounted.notifications.ioc_stream) == 0


async def test_hard_kill_mid_handoff_repeats_only_flagged_alerts_with_the_same_event_id(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    events: EventsWorker,
) -> None:
    ids = seed(mounted, 30)
    ledger = Ledger(mounted)
    # Batch 2 (ids 10..19): its in-flight record is write #2 (which also records batch 1's
    # advance); the hand-off fails on its 4th alert and the recovery write fails too, as if
    # the process had died.
    ledger.fail_on_call = 14
    fault = FaultyStore(forever_from=3)
    name = checkpoint_name()
    with pytest.raises(RuntimeError):
        await poll_alerts(
            credentials=credentials,
            checkpoint=name,
            page_size=10,
            batch_pages=1,
            handoff=ledger.task(),
            checkpoints=fault,
        )
    report = await poll_alerts(
        credentials=credentials, checkpoint=name, page_size=10, handoff=ledger.task(), checkpoints=fault.inner
    )
    counts = ledger.counts()
    assert set(counts) == set(ids)
    twice = {i for i, c in counts.items() if c > 1}
    assert twice == set(ids[10:13])  # delivered before the kill, inside the in-flight page
    flagged = {a.notification_id for a in ledger.handed if a.possible_duplicate}
    assert flagged == set(ids[10:20]) and report.possible_duplicates == 10
    by_id: dict[str, set[str]] = {}
    for event in alert_events(events):
        by_id.setdefault(event.payload["notification_id"], set()).add(str(event.id))
    assert all(len(v) == 1 for v in by_id.values())  # a repeated event repeats its id


async def test_same_second_crowd_and_arrivals_during_a_poll(
    credentials: VirusTotalCredentials, mounted: Emulator, clock: FakeClock, events: EventsWorker
) -> None:
    ids = seed(mounted, 60, per_second=13)
    clock.advance(3600)
    ledger = Ledger(mounted)
    arrivals: list[str] = []

    def arrive() -> None:
        for kind in KINDS:
            arrivals.append(mounted.inject_ioc_notification(key=PREMIUM_KEY, entity_type=kind).id)

    ledger.on_call = {7: arrive, 33: arrive}
    report = await poll_alerts(
        credentials=credentials, checkpoint=checkpoint_name(), page_size=6, handoff=ledger.task()
    )
    counts = ledger.counts()
    assert set(counts) == set(ids) | set(arrivals) and set(counts.values()) == {1}
    assert report.handed_on == 68 and report.by_origin.keys() == {"hunting", "subscriptions"}
    assert {a.entity_type for a in ledger.handed} == set(KINDS)
    assert all(a.emulated for a in ledger.handed) and report.emulated


async def test_expired_cursor_restarts_from_the_checkpoint(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    ids = seed(mounted, 40)
    ledger = Ledger(mounted)
    ledger.on_call = {12: mounted.expire_notification_cursors}
    name = checkpoint_name()
    report = await poll_alerts(
        credentials=credentials, checkpoint=name, page_size=8, batch_pages=1, handoff=ledger.task()
    )
    assert report.cursor_restarts == 1
    assert ledger.counts() == Counter(ids)
    again = await poll_alerts(credentials=credentials, checkpoint=name, page_size=8, handoff=ledger.task())
    assert again.handed_on == 0 and ledger.counts() == Counter(ids)


async def test_caps_defer_never_drop(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    ids = seed(mounted, 300, per_second=9)
    name = checkpoint_name()
    first = await poll_alerts(credentials=credentials, checkpoint=name, limit=70, emit_events=True)
    assert first.handed_on == 70 and first.stopped == "limit"
    second = await poll_alerts(credentials=credentials, checkpoint=name, request_budget=3)
    # Three pages of 40 from the watermark second, whose first 7 were handed on already.
    assert second.stopped == "request_budget" and second.requests == 3 and second.handed_on == 113
    outcomes = await run_until_done(5, credentials=credentials, checkpoint=name)
    assert isinstance(outcomes[-1], PollReport) and outcomes[-1].stopped is None
    handed = Counter(e.payload["notification_id"] for e in alert_events(events))
    assert handed == Counter(ids)


async def test_crowded_second_keeps_the_checkpoint_under_the_variable_cap(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    events: EventsWorker,
) -> None:
    """Past MAX_SEEN_IDS in one second the watermark steps on: the documented, counted limit."""
    ids = seed(mounted, MAX_SEEN_IDS + 20, per_second=MAX_SEEN_IDS + 20)
    later = seed(mounted, 5, start=BASE + 10)
    fault = FaultyStore(inner=VariableCheckpointStore())  # the Prefect Variable itself
    name = checkpoint_name()
    report = await poll_alerts(
        credentials=credentials,
        checkpoint=name,
        acknowledge=True,
        request_budget=1000,
        batch_pages=1,
        checkpoints=fault,
    )
    assert max(fault.sizes) <= 5000
    stored = await Variable.aget(name)
    assert isinstance(stored, dict) and stored["skipped_seconds"] == 1 and len(json.dumps(stored)) <= 5000
    handed = Counter(e.payload["notification_id"] for e in alert_events(events))
    assert set(handed.values()) == {1} and report.handed_on == len(handed)
    # Four pages of 40 reached 160 > 150 ids in the crowded second: the last 10 were skipped.
    assert set(handed) == set(ids[:160] + later)


async def test_events_carry_entity_and_rule_and_no_key(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    sha256 = mounted.world.pick("file")
    mounted.inject_hunting_notification(key=PREMIUM_KEY, date=BASE, sha256=sha256, rule_name="evil_rule")
    mounted.inject_ioc_notification(key=PUBLIC_KEY, date=BASE)  # another user's: never seen
    report = await poll_alerts(credentials=credentials, checkpoint=checkpoint_name(), enrich=True)
    assert report.handed_on == 1
    (event,) = alert_events(events)
    assert event.event == "virustotal.alert.hunting"
    assert event.resource["vt.sha256"] == sha256
    roles = {r.role: r for r in event.related}
    assert roles["rule"]["prefect.resource.name"] == "evil_rule"
    assert roles["hunting_ruleset"].id == "virustotal.hunting_ruleset.emulated-ruleset"
    assert PREMIUM_KEY not in event.model_dump_json()

    # The livehunt list is a source of its own (the same match, its own checkpoint).
    hunting = await poll_alerts(
        credentials=credentials, source="hunting_notifications", checkpoint=checkpoint_name(), enrich=True
    )
    assert hunting.handed_on == 1 and hunting.requests == 2  # one page, one lookup
    last = alert_events(events)[-1]
    assert last.resource["vt.sha256"] == sha256 and last.payload["source"] == "hunting_notifications"


async def test_one_checkpoint_write_per_batch_of_pages(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    events: EventsWorker,
) -> None:
    ids = seed(mounted, 400)
    fault = FaultyStore()
    report = await poll_alerts(
        credentials=credentials, checkpoint=checkpoint_name(), batch_pages=5, checkpoints=fault
    )
    assert report.handed_on == 400 and report.pages == 10
    # Batch 1 in flight; batch 2 in flight with batch 1's advance; the final advance.
    assert fault.calls == 3 and max(fault.sizes) <= 5000
    handed = Counter(e.payload["notification_id"] for e in alert_events(events))
    assert handed == Counter(ids)


async def test_refused_cursor_mid_batch_hands_on_the_pages_already_read(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    ids = seed(mounted, 40)
    refusal = mounted.faults.add(
        kind="error", code="InvalidArgumentError", method="GET", path_prefix="/ioc_stream", skip=2, count=1
    )
    ledger = Ledger(mounted)
    report = await poll_alerts(
        credentials=credentials,
        checkpoint=checkpoint_name(),
        page_size=8,
        batch_pages=5,
        handoff=ledger.task(),
    )
    assert refusal.fired == 1 and report.cursor_restarts == 1
    assert ledger.counts() == Counter(ids)
    # The two pages read before the refusal were handed on before reading again.
    refused_at = next(i for i, r in enumerate(mounted.requests) if r.status == 400)
    assert all(ledger.at[i] <= refused_at + 1 for i in ids[:16])


async def test_an_error_mid_batch_still_hands_on_the_pages_already_read(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    ids = seed(mounted, 40)
    mounted.faults.add(
        kind="error", code="ForbiddenError", method="GET", path_prefix="/ioc_stream", skip=2, count=1
    )
    ledger = Ledger(mounted)
    name = checkpoint_name()
    with pytest.raises(ForbiddenError):
        await poll_alerts(
            credentials=credentials, checkpoint=name, page_size=8, batch_pages=5, handoff=ledger.task()
        )
    assert ledger.counts() == Counter(ids[:16])  # read, so handed on: their quota is not spent again
    await poll_alerts(credentials=credentials, checkpoint=name, page_size=8, handoff=ledger.task())
    assert ledger.counts() == Counter(ids)


async def test_vt_alerts_is_a_third_source_with_the_same_exactly_once_scheme(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    from prefect_virustotal.client import InvalidParameterError

    severities = ("info", "low", "medium", "high")
    ids = [
        mounted.inject_vt_alert(
            key=PREMIUM_KEY,
            created=BASE + i // 4,  # four to a second: the checkpoint must tell them apart
            entity_type=("domain", "ip_address", "url")[i % 3],
            event_severity=severities[i % 4],
            detection_category="DETECTED_DOMAIN",
        ).id
        for i in range(23)
    ]
    mounted.inject_vt_alert(key=PUBLIC_KEY, created=BASE)  # another user's: never seen
    name = checkpoint_name()
    with pytest.raises(InvalidParameterError):
        await poll_alerts(credentials=credentials, source="vt_alerts", checkpoint=name, acknowledge=True)
    assert mounted.count() == 0
    ledger = Ledger(mounted)
    ledger.fail_on_call = 7  # the first run dies mid hand-off
    outcomes = await run_until_done(
        4,
        credentials=credentials,
        source="vt_alerts",
        checkpoint=name,
        page_size=10,
        batch_pages=1,
        handoff=ledger.task(),
    )
    assert isinstance(outcomes[0], Exception)
    assert isinstance(outcomes[-1], PollReport) and outcomes[-1].stopped is None
    counts = ledger.counts()
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    seen = alert_events(events)
    assert Counter(str(e.id) for e in seen) == Counter(str(a.event_id) for a in ledger.handed)
    event = seen[0]
    assert event.event == "virustotal.alert.vt_alerts"
    first = ledger.handed[0]
    assert event.resource.id == f"virustotal.{first.entity_type}.{first.entity_id}"
    assert event.resource["vt.event_severity"] in severities
    assert event.resource["vt.detection_category"] == "DETECTED_DOMAIN"
    assert event.resource["vt.use_case_category"] == "CORPORATE_INFRASTRUCTURE_ABUSE"
    # A later poll hands on only what arrived since.
    late = mounted.inject_vt_alert(key=PREMIUM_KEY, created=BASE + 100, entity_type="domain").id
    again = await poll_alerts(
        credentials=credentials, source="vt_alerts", checkpoint=name, handoff=ledger.task()
    )
    assert again.handed_on == 1 and ledger.handed[-1].notification_id == late


async def test_every_alert_event_is_valid_and_carries_its_run_once(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    """The flow builds its events without Prefect's per-event validation and run look-ups:
    each must still be an event Prefect accepts, related to its flow run exactly once."""
    seed(mounted, 90)
    mounted.inject_hunting_notification(key=PREMIUM_KEY, date=BASE + 100, rule_name="evil_rule")
    state = await poll_alerts(
        credentials=credentials, checkpoint=checkpoint_name(), page_size=20, batch_pages=2, return_state=True
    )
    report = await state.result()
    assert report.handed_on == 91
    seen = alert_events(events)
    assert len(seen) == 91
    for event in seen:
        assert Event.model_validate_json(event.model_dump_json()) == event
        roles = Counter(r.role for r in event.related)
        assert roles["flow-run"] == 1 and roles["flow"] == 1 and roles["notification"] == 1
        (run,) = (r for r in event.related if r.role == "flow-run")
        assert run.id == f"prefect.flow-run.{state.state_details.flow_run_id}"
        assert event.related[0].role == "notification"  # the alert's own first, then the run's


async def test_an_event_over_the_servers_cap_is_refused_as_before(
    credentials: VirusTotalCredentials, mounted: Emulator, events: EventsWorker
) -> None:
    seed(mounted, 3)
    mounted.inject_ioc_notification(key=PREMIUM_KEY, date=BASE + 10, tags=["t" * 3000])
    name = checkpoint_name()
    with temporary_settings({PREFECT_SERVER_EVENTS_MAXIMUM_SIZE_BYTES: 3000}), pytest.raises(EventTooLarge):
        await poll_alerts(credentials=credentials, checkpoint=name)
    # The three before it went out, once; the run stopped at the one too large to send.
    assert len(alert_events(events)) == 3
    stored = await Variable.aget(name)
    assert isinstance(stored, dict) and stored["watermark"] == BASE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(min_size=0, max_size=40),
    tags=st.lists(st.text(max_size=30), max_size=6),
    sources=st.lists(st.tuples(st.text(min_size=1, max_size=20), st.text(max_size=20)), max_size=4),
)
def test_the_size_bound_is_never_below_the_events_size(
    text: str, tags: list[str], sources: list[tuple[str, str]]
) -> None:
    """Events are serialised to be measured only when this bound nears the cap: it must hold."""
    alert = Alert(
        notification_id=text or "1",
        source="ioc_stream",
        origin=text or "hunting",
        date=BASE,
        entity_type="file",
        entity_id=text * 3,
        rule_name=text or None,
        ruleset_id=text,
        ruleset_name=text,
        sources=[NotificationSource(type=kind, id=ident or "x", label=ident) for kind, ident in sources],
        tags=tags,
        event_severity=text,
        use_case_category=text,
        detection_category=text,
    )
    event = _alert_event(alert)
    assert _size_bound(alert, 0) >= len(event.model_dump_json().encode())


async def test_against_a_prefect_server_a_batchs_events_go_in_one_request(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    """No test events client here: the worker would stream to the session's Prefect server, so
    the flow posts each batch's events there itself (``POST /events``). The server gets every
    alert's event, as the worker would have sent it; the worker's websocket client sends none
    of them."""
    seed(mounted, 45)
    handed: list[Alert] = []  # a plain function: no task run, no task-run events
    worker = EventsWorker.instance()
    assert worker.client_type is PrefectEventsClient  # the harness's real server

    def streamed() -> float:
        worker.wait_until_empty()
        return (
            REGISTRY.get_sample_value("prefect_events_emitted_total", {"client": "PrefectEventsClient"}) or 0
        )

    before = await asyncio.to_thread(streamed)
    state = await poll_alerts(
        credentials=credentials,
        checkpoint=checkpoint_name(),
        page_size=10,
        batch_pages=2,
        handoff=handed.append,
        return_state=True,
    )
    report = await state.result()
    assert report.handed_on == 45
    # What the worker sent meanwhile: the three batch task runs' own events, none of the alerts'.
    assert await asyncio.to_thread(streamed) - before < 45

    wanted = {a.event_id: a for a in handed}
    found: dict[uuid.UUID, Event] = {}
    async with get_client() as prefect:
        for _ in range(300):  # the server's event persister writes every few seconds
            page = await prefect.read_events(EventFilter(id=EventIDFilter(id=list(wanted))), limit=50)
            found = {e.id: e for e in page.events}
            if len(found) == len(wanted):
                break
            await asyncio.sleep(0.1)
    assert set(found) == set(wanted)
    for event_id, alert in wanted.items():
        event = found[event_id]
        assert event.event == f"virustotal.alert.{alert.origin}"
        assert event.resource.id == f"virustotal.{alert.entity_type}.{alert.entity_id}"
        assert event.payload["notification_id"] == alert.notification_id
        roles = Counter(r.role for r in event.related)
        assert roles["flow-run"] == 1 and roles["notification"] == 1
        (run,) = (r for r in event.related if r.role == "flow-run")
        assert run.id == f"prefect.flow-run.{state.state_details.flow_run_id}"


async def test_posting_waits_for_the_server_to_store_what_is_over_the_allowance() -> None:
    """The server's in-memory queues drop events once 10,000 wait: a run never gets more than
    its allowance of events ahead of the server's event store. 15 events stay unstored until
    the event persister's periodic flush (it writes every 20, or every 5 s): posting one more
    over an allowance of 15 waits for them."""
    run = uuid.uuid4().hex

    def events(n: int) -> list[Event]:
        return [
            Event(event="virustotal.test.paced", resource={"prefect.resource.id": f"test.{run}"})
            for _ in range(n)
        ]

    first = events(15)
    poster = _EventPoster(max_unstored=15)
    async with get_client() as prefect:
        await poster.post(prefect, first)
        await poster.post(prefect, events(1))
        page = await prefect.read_events(EventFilter(id=EventIDFilter(id=[e.id for e in first])), limit=50)
    assert page.total == 15
    assert sum(map(len, poster.unstored)) == 1
