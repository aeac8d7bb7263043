"""Expected outcomes are values, not failures: their task runs end Completed, nothing logs ERROR."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime
from typer.testing import CliRunner

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import enrich_iocs, submit_and_wait, sync_collection

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def _task_runs_since(started: datetime) -> dict[str, str]:
    async with get_client() as prefect:
        runs = await prefect.read_task_runs(
            task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=started))
        )
    return {run.name: run.state.type.value if run.state else "?" for run in runs}


async def test_not_found_not_scanned_not_created_are_completed(
    credentials: VirusTotalCredentials, mounted: Emulator, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    caplog.set_level(logging.INFO)
    started = datetime.now(timezone.utc)
    # A hash VirusTotal never saw.
    report = await enrich_iocs(indicators=["0" * 64], credentials=credentials)
    assert report.items[0].verdict == "unknown"
    # A private file not scanned yet: looked for first (nothing there), then submitted.
    result = await submit_and_wait(
        file_bytes=b"never seen before 5e1f", credentials=credentials, private=True
    )
    assert result.outcome.value == "submitted"
    # A collection that does not exist yet: created.
    synced = await sync_collection(
        "case-expected-outcomes", indicators=["203.0.113.77"], credentials=credentials
    )
    assert synced.created
    states = await _task_runs_since(started)
    assert any(name.startswith("VirusTotal: find report") for name in states), states
    assert any(name.startswith("VirusTotal: find collection") for name in states), states
    assert set(states.values()) == {"COMPLETED"}, states
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]


def test_scan_no_wait_ends_completed_with_the_analysis_id() -> None:
    result = CliRunner().invoke(
        app, ["scan", "http://not-yet-seen.example/x", "--no-wait", "--emulator", "--json"]
    )
    assert result.exit_code == ExitCode.OK, result.output
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    assert payload["result"]["analysis_id"] and payload["result"]["report"] is None
