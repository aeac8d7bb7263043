"""``enrich_iocs`` end to end: real flow, real tasks, real client, emulator behind it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import enrich_iocs
from tests.conftest import PREMIUM_KEY, latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_enrich_from_ticket_text(
    credentials: VirusTotalCredentials, mounted: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = mounted.world
    bad_file = world.pick("file", nature="malicious")
    clean_domain = world.pick("domain", nature="clean")
    ip = world.pick("ip_address")
    text = (
        f"Alert: host beaconed to {clean_domain.replace('.', '[.]')} and {ip}.\n"
        f"Dropped sample sha256 {bad_file}; also 0000000000000000000000000000000000000000000000000000000000000000."
    )
    report = await enrich_iocs(indicators=["not-an-indicator!"], text=text, credentials=credentials)
    by_input = {item.lookup.indicator: item for item in report.items}
    assert by_input["not-an-indicator!"].verdict == "invalid"
    assert by_input[bad_file].verdict == "malicious"
    assert by_input[clean_domain].verdict in {"clean", "unknown"}
    assert by_input["0" * 64].verdict == "unknown" and by_input["0" * 64].lookup.status.value == "not_found"
    assert report.emulated
    rows = report.rows()
    assert all(row["reason"] for row in rows)
    # Worst first, the reason before the detections, the domain defanged, the hash shortened.
    assert rows[0]["verdict"] == "malicious" and [r["verdict"] for r in rows][-1] == "invalid"
    assert {"indicator": bad_file[:12], "verdict": "malicious"}.items() <= next(
        r for r in rows if r["indicator"] == bad_file[:12]
    ).items()
    assert list(rows[0])[:3] == ["indicator", "verdict", "reason"]
    assert clean_domain.replace(".", "[.]") in {row["indicator"] for row in rows}
    assert PREMIUM_KEY not in caplog.text
    assert PREMIUM_KEY not in report.model_dump_json()

    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    table: Any = await latest_artifact("virustotal-enrichment-not-an-indicator-and-4-more")
    # The description says what it is first; the emulated-data notice follows.
    assert table.description.startswith("VirusTotal enrichment of ")
    assert "EMULATED" in (table.description or "")
    assert all(PREMIUM_KEY not in str(a.data) for a in artifacts)


async def test_one_failing_indicator_does_not_sink_the_batch(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    domain = mounted.world.pick("domain")
    ip = mounted.world.pick("ip_address")
    mounted.faults.add(
        kind="error", code="ForbiddenError", count=100, path_prefix=f"/api/v3/ip_addresses/{ip}"
    )
    report = await enrich_iocs(indicators=[domain, ip], credentials=credentials)
    statuses = {item.lookup.indicator: item.lookup.status.value for item in report.items}
    assert statuses == {domain: "found", ip: "error"}


async def test_a_feed_is_enriched_chunk_by_chunk_with_the_rows_of_one_batch(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    from prefect_virustotal.core import chunk_progress

    world = mounted.world
    feed = [world.pick("domain", index=i) for i in range(40)]
    feed += [world.pick("file", nature="malicious", index=i) for i in range(10)]
    feed += [f"{i:064x}" for i in range(1, 231)]  # unknown hashes
    feed += ["not an indicator", "10.0.0.1"]  # invalid (no request) and internal (not sent)
    whole = await enrich_iocs(indicators=feed, credentials=credentials, chunk_size=len(feed))
    sent_whole = mounted.count()
    seen: list[tuple[int, int]] = []
    chunk_progress.set(lambda done, total: seen.append((done, total)))
    chunked = await enrich_iocs(indicators=feed, credentials=credentials, chunk_size=50)
    chunk_progress.set(None)
    assert mounted.count() - sent_whole == sent_whole == len(feed) - 2
    assert chunked.rows() == whole.rows()
    assert [item.verdict for item in chunked.items] == [item.verdict for item in whole.items]
    assert seen == [(n, len(feed)) for n in (50, 100, 150, 200, 250, len(feed))]
    # Rows keep what the report shows, not the report object.
    assert all(item.lookup.report is None for item in chunked.items)
    assert chunked.summary == whole.summary and chunked.summary["malicious"] >= 10


async def test_the_artifact_of_a_large_feed_shows_its_worst_rows_and_what_was_left_out(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    from prefect_virustotal.core import MAX_TABLE_ROWS

    bad = [mounted.world.pick("file", nature="malicious", index=i) for i in range(3)]
    # Invalid lines cost no request: a feed longer than the table for the price of 3 lookups.
    feed = [f"not-an-indicator-{i}" for i in range(MAX_TABLE_ROWS + 50)] + bad
    report = await enrich_iocs(indicators=feed, credentials=credentials, case="big feed")
    assert len(report.items) == len(feed)  # the return value is the full result
    table: Any = await latest_artifact("virustotal-enrichment-big-feed")
    rows = json.loads(str(table.data))
    assert len(rows) == MAX_TABLE_ROWS + 1
    assert [row["verdict"] for row in rows[:3]] == ["malicious"] * 3
    assert rows[-1]["indicator"] == "… 53 more"
    assert "53 rows are left out" in rows[-1]["reason"] and "return value" in rows[-1]["reason"]
    assert "53 rows are left out" in (table.description or "")


async def test_credentials_passed_as_parameters_are_warned_of_and_a_feed_by_path_keeps_them_out(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    secret_url = "https://admin:hunter2@intranet.example/login"
    caplog.set_level(logging.WARNING)
    # From Python, straight to the flow: Prefect stores the parameters before the flow runs; the
    # flow removes the credentials from every request and row, and says what it cannot remove.
    state = await enrich_iocs(indicators=[secret_url], credentials=credentials, return_state=True)
    report = await state.result()
    assert "hunter2" not in report.model_dump_json()
    assert "passed as flow-run parameters" in caplog.text and "hunter2" not in caplog.text
    caplog.clear()

    feed = tmp_path / "feed.txt"
    feed.write_text(secret_url + "\n")
    state = await enrich_iocs(path=str(feed), credentials=credentials, return_state=True)
    assert "hunter2" not in (await state.result()).model_dump_json()
    assert "removed credentials from https://admin:***@" in caplog.text
    assert "passed as flow-run parameters" not in caplog.text
    async with get_client() as prefect:
        runs = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    assert "hunter2" not in json.dumps(runs[0].parameters, default=str)
