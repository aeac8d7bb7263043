"""Expected outcomes are values, not failures: their task runs end Completed, nothing logs ERROR."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime
from prefect.events.worker import EventsWorker
from typer.testing import CliRunner

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import enrich_iocs, submit_and_wait, sync_collection

pytestmark = pytest.mark.usefixtures("prefect_harness")

# "?": a run the recorder has stored without its state yet (seen once in a fresh-clone run).
_UNFINISHED = {"SCHEDULED", "PENDING", "RUNNING", "?"}


async def _task_runs_since(started: datetime) -> dict[str, str]:
    """The task runs' states as the server records them, once it has recorded them.

    Task-run states reach the server as events, which its task-run recorder stores in the
    background: on a busy machine a run just finished may still read RUNNING (seen in a
    fresh-clone run at load 15). The events are flushed first, then the states read again until
    none is unfinished, for at most a minute; what they must be is the test's to say.
    """
    await asyncio.to_thread(EventsWorker.instance().wait_until_empty)
    deadline = time.monotonic() + 60
    async with get_client() as prefect:
        while True:
            runs = await prefect.read_task_runs(
                task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=started))
            )
            states = {run.name: run.state.type.value if run.state else "?" for run in runs}
            if not set(states.values()) & _UNFINISHED or time.monotonic() > deadline:
                return states
            await asyncio.sleep(0.2)


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
