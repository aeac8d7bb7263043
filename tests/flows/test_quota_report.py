"""``quota_report``: usage table, Unicode chart, and the event past the daily threshold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import InvalidParameterError, VirusTotalClient
from prefect_virustotal.client.models import ApiUsage
from prefect_virustotal.core import bar, usage_chart, usage_days
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.emulator._requests import RequestRecord
from prefect_virustotal.flows import QUOTA_CHART_KEY, QUOTA_EVENT, quota_report
from tests.conftest import PREMIUM_KEY, latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")

SMALL_KEY = "test-small-quota-key-0123456789"


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    worker = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


def quota_events(worker: EventsWorker) -> list[Any]:
    worker.wait_until_empty()
    client = worker._client
    assert isinstance(client, AssertingEventsClient)
    return [e for e in client.events if e.event == QUOTA_EVENT]


def _today(clock: FakeClock) -> date:
    return datetime.fromtimestamp(clock.time(), tz=timezone.utc).date()


def _history(emulator: Emulator, key: str, per_day: dict[int, int]) -> None:
    """``per_day[n]`` successful requests ``n`` days ago (as the emulator's log would hold)."""
    now = emulator.clock.time()
    for days_ago, count in per_day.items():
        for i in range(count):
            path = "/api/v3/intelligence/search" if i % 2 else f"/api/v3/files/{'a' * 64}"
            emulator.log.append(
                RequestRecord(now - days_ago * 86400 + 60 + i, "GET", path, "", key, status=200)
            )


def test_bars_and_chart() -> None:
    assert bar(0, 10) == "" and bar(10, 10, width=4) == "████" and bar(5, 10, width=4) == "██"
    assert bar(1, 1000, width=4) == "▏"
    usage = ApiUsage(daily={"2026-01-01": {"/api/v3/(file_reports)": 3}})
    days = usage_days(usage, date(2026, 1, 1), 3)
    assert [d.requests for d in days] == [0, 0, 3]
    chart = usage_chart(days, daily_allowed=6)
    assert "| 2026-01-01 | 3 (50%) | " in chart and "█" in chart and "```mermaid" not in chart


async def test_report_charts_thirty_days_without_an_event(
    credentials: VirusTotalCredentials, mounted: Emulator, clock: FakeClock, events: EventsWorker
) -> None:
    _history(mounted, PREMIUM_KEY, {0: 4, 1: 10, 5: 2, 29: 6, 31: 50})
    report = await quota_report(credentials=credentials, end_date=_today(clock))
    assert len(report.days) == 30
    assert {d.day.isoformat(): d.requests for d in report.days if d.requests} == {
        "2026-01-01": 5,  # 4 + the flow's own overall_quotas request
        "2025-12-31": 10,
        "2025-12-27": 2,
        "2025-12-03": 6,
    }
    assert "/api/v3/(intelligence_search)" in report.per_endpoint
    assert not report.alerted and quota_events(events) == []
    chart = await latest_artifact(QUOTA_CHART_KEY)
    assert "█" in str(chart.data) and PREMIUM_KEY not in str(chart.data)  # type: ignore[attr-defined]


async def test_event_when_the_day_passes_the_threshold(
    mounted: Emulator, clock: FakeClock, events: EventsWorker
) -> None:
    mounted.add_key(SMALL_KEY, tier="premium", per_day=10)
    async with VirusTotalClient(
        SMALL_KEY, base_url=mounted.base_url, transport=mounted.transport(), clock=clock
    ) as vt:
        for _ in range(7):
            await vt.domains.get(mounted.world.pick("domain"))
    block = VirusTotalCredentials(
        api_key=SecretStr(SMALL_KEY), base_url=mounted.base_url, requests_per_minute=10_000, daily_budget=None
    )
    report = await quota_report(credentials=block, threshold=0.8, end_date=_today(clock))
    assert report.alerted and report.today_used >= 8
    (event,) = quota_events(events)
    assert event.payload["allowed"] == 10 and event.payload["threshold"] == 0.8
    assert SMALL_KEY not in event.model_dump_json()


async def test_bad_bounds_cost_nothing(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    mounted.reset_log()
    with pytest.raises(InvalidParameterError):
        await quota_report(credentials=credentials, threshold=1.5)
    with pytest.raises(InvalidParameterError):
        await quota_report(credentials=credentials, days=45)
    assert mounted.requests == []


async def test_client_refuses_a_range_over_thirty_days(vt: VirusTotalClient, emulator: Emulator) -> None:
    emulator.reset_log()
    with pytest.raises(InvalidParameterError):
        await vt.users.get_api_usage(start_date=date(2025, 11, 1), end_date=date(2025, 12, 15))
    assert emulator.requests == []
