"""``submit_and_wait`` end to end: real flow, tasks and client, the emulator behind them."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401 - a fixture
from prefect.variables import Variable

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import InvalidIndicatorError, InvalidParameterError
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.core import MemoryCheckpointStore, SubmissionOutcome, submission_checkpoint
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.emulator._scanning import EICAR
from prefect_virustotal.flows import VariableCheckpointStore, submit_and_wait
from tests.conftest import PREMIUM_KEY, latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(autouse=True)
def instant_analyses(mounted: Emulator) -> None:
    """Analyses complete at once: the emulator's fake clock does not move during a flow."""
    mounted.scanning.set_durations(queued=0, running=0)


def _events(worker: EventsWorker) -> list[Any]:
    # Wait for the queue, never drain: a drained worker is stopped, and Prefect's fixture hands
    # that same worker to every later emit of the test, whose events would be refused and lost.
    worker.wait_until_empty()
    client = worker._client
    assert isinstance(client, AssertingEventsClient)
    return [e for e in client.events if e.event.startswith("virustotal.verdict.")]


async def test_file_submission_gives_verdict_artifacts_and_event(
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    tmp_path: Path,
    asserting_events_worker: EventsWorker,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sample = tmp_path / "invoice.exe"
    sample.write_bytes(b"MZ\x90\x00" + EICAR + b"\x00" * 100)
    result = await submit_and_wait(file_path=str(sample), credentials=credentials)
    sha256 = hashlib.sha256(sample.read_bytes()).hexdigest()
    assert result.indicator == sha256 and result.outcome == SubmissionOutcome.SUBMITTED
    assert result.verdict == "malicious" and "engines say malicious" in result.reason
    assert result.emulated and result.report is not None and result.report.id == sha256
    assert result.link == f"https://www.virustotal.com/gui/file/{sha256}"
    assert mounted.scanning.uploads == 1
    events = _events(asserting_events_worker)
    assert [e.event for e in events] == ["virustotal.verdict.malicious"]
    assert events[0].resource["vt.sha256"] == sha256
    assert events[0].resource.id == f"virustotal.file.{sha256}"
    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    keys = {a.key for a in artifacts}
    # One artifact per run: the table, whose description links to VirusTotal's page.
    assert f"virustotal-submission-{sha256[:12]}" in keys
    assert f"virustotal-submission-link-{sha256[:12]}" not in keys
    table: Any = await latest_artifact(f"virustotal-submission-{sha256[:12]}")
    assert "EMULATED" in (table.description or "") and "engine" in str(table.data)
    assert f"(https://www.virustotal.com/gui/file/{sha256})" in (table.description or "")
    assert all(PREMIUM_KEY not in str(a.data) for a in artifacts)
    assert PREMIUM_KEY not in caplog.text and PREMIUM_KEY not in result.model_dump_json()
    # Done: the checkpoint says so, and a rerun uses the fresh report without uploading.
    state = await Variable.aget(submission_checkpoint("file", sha256, False, None))
    assert isinstance(state, dict) and state["status"] == "completed"
    again = await submit_and_wait(file_path=str(sample), credentials=credentials, max_age_days=3650)
    assert again.outcome == SubmissionOutcome.EXISTING_REPORT and again.verdict == "malicious"
    assert mounted.scanning.uploads == 1
    # The rerun's events are delivered too, none refused ("Error emitting event").
    outcomes = [e.payload["outcome"] for e in _events(asserting_events_worker)]
    assert outcomes == ["submitted", "existing_report"]
    assert "Error emitting event" not in caplog.text


async def test_crash_after_upload_then_rerun_uploads_once(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    sample = tmp_path / "crash.bin"
    sample.write_bytes(b"crash test sample " * 50)
    store = MemoryCheckpointStore()  # the checkpoint store is a parameter: no Variable needed
    # The first poll after the upload fails hard: the run dies after the checkpoint.
    mounted.faults.add(kind="error", code="ForbiddenError", count=1, path_prefix="/analyses")
    with pytest.raises(Exception, match="ForbiddenError"):
        await submit_and_wait(
            file_path=str(sample), credentials=credentials, rescan="always", checkpoints=store
        )
    assert mounted.scanning.uploads == 1
    name = submission_checkpoint("file", hashlib.sha256(sample.read_bytes()).hexdigest(), False, None)
    assert (await store.load(name))["status"] == "submitted"
    result = await submit_and_wait(
        file_path=str(sample), credentials=credentials, rescan="always", checkpoints=store
    )
    assert (await store.load(name))["status"] == "completed" and store.writes == 2
    assert result.outcome == SubmissionOutcome.ATTACHED
    assert result.analysis_id == mounted.scanning.submissions[0][2]
    assert mounted.scanning.uploads == 1 and len(mounted.scanning.submissions) == 1
    assert mounted.count("POST", "/files") == 0 or mounted.count("POST", "/api/v3/files") == 1


async def test_fresh_public_report_means_no_upload(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    sha256 = mounted.world.pick("file", "malicious")
    content = mounted.world.content(sha256)
    result = await submit_and_wait(file_bytes=content, credentials=credentials, max_age_days=3650)
    assert result.outcome == SubmissionOutcome.EXISTING_REPORT and result.analysis_id is None
    assert result.verdict == "malicious"
    assert mounted.scanning.uploads == 0 and not mounted.scanning.submissions
    # Stale: re-analysed by hash, still no upload.
    stale = await submit_and_wait(file_bytes=content, credentials=credentials, max_age_days=0)
    assert stale.outcome == SubmissionOutcome.SUBMITTED and stale.analysis_id
    assert mounted.scanning.uploads == 0 and mounted.count("POST", f"/files/{sha256}/analyse") == 1


async def test_confidential_file_is_never_uploaded_publicly(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    with pytest.raises(InvalidParameterError, match="confidential"):
        await submit_and_wait(
            file_bytes=b"board minutes, draft 3", credentials=credentials, confidential=True
        )
    assert mounted.scanning.uploads == 0
    assert mounted.count("GET", "/files/") == 1  # only the hash lookup
    # Private scanning is fine for it.
    result = await submit_and_wait(
        file_bytes=b"board minutes, draft 3",
        credentials=credentials,
        confidential=True,
        private=True,
        options=PrivateScanOptions(retention_period_days=1, disable_sandbox=True),
    )
    assert result.private and result.report is not None and result.report.type == "private_file"
    assert result.verdict == "clean" and "VERDICT_UNDETECTED" in result.reason
    assert mounted.world.get("file", result.indicator) is None


async def test_private_malicious_file(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    result = await submit_and_wait(
        file_bytes=b"MZ" + EICAR,
        credentials=credentials,
        private=True,
        options=PrivateScanOptions(enable_internet=True, interaction_timeout=120),
    )
    assert result.verdict == "malicious" and "SEVERITY_HIGH" in result.reason
    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    table = [a for a in artifacts if (a.key or "").startswith("virustotal-submission-")]
    assert any("threat_verdict" in str(a.data) and "Zenbox" in str(a.data) for a in table)


async def test_url_submission_and_credentials(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    bad = mounted.world.get("url", mounted.world.pick("url", "malicious"))
    assert bad is not None
    result = await submit_and_wait(url=bad.attributes["url"], credentials=credentials, rescan="always")
    assert result.kind == "url" and result.verdict == "malicious"
    mounted.reset_log()
    with pytest.raises(InvalidIndicatorError):
        await submit_and_wait(url="https://bob:hunter2@portal.example.com/x", credentials=credentials)
    assert mounted.count() == 0
    stripped = await submit_and_wait(
        url="https://bob:hunter2@portal.example.com/x", credentials=credentials, strip_url_credentials=True
    )
    assert stripped.indicator == "https://portal.example.com/x"
    assert "hunter2" not in stripped.model_dump_json()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"file_bytes": b"x", "url": "http://example.com/"},
        {"file_bytes": b"x", "options": PrivateScanOptions(locale="EN_US")},
        {"file_path": "/no/such/file"},
    ],
)
async def test_bad_input_makes_no_request(
    credentials: VirusTotalCredentials, mounted: Emulator, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidParameterError):
        await submit_and_wait(credentials=credentials, **kwargs)
    assert mounted.count() == 0


async def test_the_variable_store_creates_what_it_found_absent_and_survives_a_race() -> None:
    name = submission_checkpoint("url", "http://race.example/", False, None)
    first, second = VariableCheckpointStore(), VariableCheckpointStore()
    assert await first.load(name) is None and await second.load(name) is None
    await second.save(name, {"status": "submitted", "by": "second"})  # created by another run meanwhile
    await first.save(name, {"status": "submitted", "by": "first"})  # its create meets the Variable
    assert await Variable.aget(name) == {"status": "submitted", "by": "first"}
    await first.save(name, {"status": "completed"})
    assert await second.load(name) == {"status": "completed"}
    await first.clear(name)
    assert await Variable.aget(name) is None
