"""``submit_and_wait_many``: many submissions in one flow run, each as ``submit_and_wait`` makes it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401 - a fixture

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import InvalidParameterError
from prefect_virustotal.core import MemoryCheckpointStore, SubmissionOutcome, submission_checkpoint
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.emulator._scanning import EICAR
from prefect_virustotal.flows import submit_and_wait, submit_and_wait_many
from tests.conftest import PREMIUM_KEY, latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(autouse=True)
def instant_analyses(mounted: Emulator) -> None:
    """Analyses complete at once: the emulator's fake clock does not move during a flow."""
    mounted.scanning.set_durations(queued=0, running=0)


def _samples(folder: Path, prefix: str, count: int) -> list[str]:
    paths = []
    for i in range(count):
        path = folder / f"{prefix}-{i}.bin"
        path.write_bytes(f"{prefix} sample {i}\n".encode() * 30 + (EICAR if i == 0 else b""))
        paths.append(str(path))
    return paths


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


async def test_each_item_costs_what_submit_and_wait_costs_and_one_failure_sinks_nothing(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    tmp_path: Path,
    asserting_events_worker: EventsWorker,  # noqa: F811
) -> None:
    single, *batch = _samples(tmp_path, "batch", 3)
    store = MemoryCheckpointStore()
    mounted.reset_log()
    await submit_and_wait(file_path=single, rescan="always", checkpoints=store, credentials=credentials)
    per_submission = mounted.count()
    mounted.reset_log()
    threat = "http://phish-batch.example/login"
    # The service refuses the second URL submission (one at a time: the order is the items').
    mounted.faults.add(
        kind="error", code="ForbiddenError", count=1, path_prefix="/urls", method="POST", skip=1
    )
    report = await submit_and_wait_many(
        # the same file twice runs once; a missing file, a URL with credentials and an upload
        # refused by the service fail their items only
        file_paths=[*batch, batch[0], str(tmp_path / "missing.bin")],
        urls=[threat, "https://bob:hunter2@portal.example.com/x", "http://refused.example/x"],
        rescan="always",
        checkpoints=store,
        concurrency=1,
        case="INC-4711",
        credentials=credentials,
    )
    statuses = [(item.kind, item.status) for item in report.items]
    assert statuses == [
        ("file", "submitted"),
        ("file", "submitted"),
        ("file", "submitted"),
        ("file", "failed"),
        ("url", "submitted"),
        ("url", "failed"),
        ("url", "failed"),
    ]
    assert report.items[2] == report.items[0]  # the duplicate ran once
    assert "InvalidParameterError" in report.items[3].reason
    assert "InvalidIndicatorError" in report.items[5].reason and "hunter2" not in report.model_dump_json()
    assert "ForbiddenError" in report.items[6].reason
    assert report.summary() == "4 submitted, 0 found, 3 failed"
    # Per submission that went through: the requests submit_and_wait makes, no more.
    assert mounted.scanning.uploads == 1 + 2
    assert mounted.count() == 3 * per_submission + 1  # the refused URL's one POST
    for path in batch:
        state = await store.load(submission_checkpoint("file", _sha256(path), False, None))
        assert state is not None and state["status"] == "completed"
    # A verdict event per item that has one, as submit_and_wait sends.
    asserting_events_worker.wait_until_empty()
    client = asserting_events_worker._client
    assert isinstance(client, AssertingEventsClient)
    events = [e for e in client.events if e.event.startswith("virustotal.verdict.")]
    ids = {e.resource.id for e in events}
    assert {f"virustotal.file.{_sha256(p)}" for p in batch} <= ids
    assert any(e.resource.get("vt.url") == threat for e in events)
    # The artifact is for people: defanged, no live link to a threat, no key.
    table: Any = await latest_artifact("virustotal-submissions-inc-4711")
    text = str(table.data) + (table.description or "")
    assert "4 submitted, 0 found, 3 failed" in text and "EMULATED" in text
    assert "hxxp://phish-batch[.]example/login" in text
    assert "http://phish-batch" not in text and "http://refused" not in text
    assert PREMIUM_KEY not in text and "hunter2" not in text


async def test_a_rerun_resumes_each_submission_left_unfinished(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    files = _samples(tmp_path, "resume", 3)
    store = MemoryCheckpointStore()
    # The first poll of one analysis fails hard: its item fails after the checkpoint; the
    # others complete.
    mounted.faults.add(kind="error", code="ForbiddenError", count=1, path_prefix="/analyses")
    first = await submit_and_wait_many(
        file_paths=files, rescan="always", checkpoints=store, concurrency=1, credentials=credentials
    )
    assert [item.status for item in first.items] == ["failed", "submitted", "submitted"]
    assert mounted.scanning.uploads == 3
    crashed = submission_checkpoint("file", _sha256(files[0]), False, None)
    assert (await store.load(crashed))["status"] == "submitted"
    # The rerun attaches to the analysis left unfinished, and submits the others again
    # (rescan="always"), exactly as three submit_and_wait runs would.
    again = await submit_and_wait_many(
        file_paths=files, rescan="always", checkpoints=store, concurrency=3, credentials=credentials
    )
    assert [item.status for item in again.items] == ["submitted"] * 3
    results = [item.result for item in again.items]
    assert all(r is not None for r in results)
    assert [r.outcome for r in results if r is not None] == [
        SubmissionOutcome.ATTACHED,
        SubmissionOutcome.SUBMITTED,
        SubmissionOutcome.SUBMITTED,
    ]
    assert results[0] is not None and results[0].analysis_id == mounted.scanning.submissions[0][2]
    assert mounted.scanning.uploads == 3 + 2
    assert (await store.load(crashed))["status"] == "completed"


async def test_a_batch_fails_only_when_every_item_failed_and_bad_input_costs_nothing(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(InvalidParameterError):
        await submit_and_wait_many(credentials=credentials)
    with pytest.raises(InvalidParameterError):
        await submit_and_wait_many(
            file_paths=[str(tmp_path / "missing.bin")], urls=["not a url at all"], credentials=credentials
        )
    assert mounted.count() == 0
