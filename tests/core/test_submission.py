"""The submission engine without Prefect: plan, hash first, checkpoint, upload once, resume.

The real client against the emulator on the fake clock; the checkpoint store in memory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import pytest

from prefect_virustotal.client import (
    ContentChangedError,
    ForbiddenError,
    InvalidIndicatorError,
    InvalidParameterError,
    PublicUploadRefusedError,
    VirusTotalClient,
)
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.core import (
    ClientSteps,
    DirectoryCheckpointStore,
    MemoryCheckpointStore,
    SubmissionItem,
    SubmissionOutcome,
    SubmissionPlan,
    SubmissionRun,
    WaitSettings,
    plan_submission,
    run_submission,
    run_submissions,
    submission_checkpoint,
    submission_result,
    submission_rows,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.emulator._scanning import EICAR
from tests.conftest import PREMIUM_KEY
from tests.transports import SwapOnLookup


@pytest.fixture(autouse=True)
def short_analyses(emulator: Emulator) -> None:
    emulator.scanning.set_durations(queued=5, running=10)


def _steps(vt: VirusTotalClient) -> ClientSteps:
    return ClientSteps(vt, WaitSettings(timeout=600))


class _CountingStore(MemoryCheckpointStore):
    """The in-memory store, recording the status of each save in order."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[str] = []

    async def save(self, name: str, value: Any) -> None:
        await super().save(name, value)
        self.saved.append(str(value.get("status")))


async def test_a_file_is_uploaded_awaited_and_checkpointed(
    emulator: Emulator, vt: VirusTotalClient, clock: FakeClock, tmp_path: Path
) -> None:
    sample = tmp_path / "invoice.exe"
    sample.write_bytes(b"MZ\x90\x00" + EICAR + b"\x00" * 64)
    plan = plan_submission(file_path=sample)
    assert plan.indicator == hashlib.sha256(sample.read_bytes()).hexdigest()
    store = _CountingStore()
    run = await run_submission(plan, _steps(vt), store)
    assert run.outcome == SubmissionOutcome.SUBMITTED and run.report is not None
    assert emulator.scanning.uploads == 1 and run.emulated
    assert store.saved == ["submitted", "completed"]
    result = submission_result(run)
    assert result.verdict == "malicious" and result.link.endswith(plan.indicator)
    assert any(row.get("engine") for row in submission_rows(run.report))
    # Hash first on the rerun: the fresh report, nothing uploaded, nothing written.
    again = await run_submission(plan, _steps(vt), store, clock=clock)
    assert again.outcome == SubmissionOutcome.EXISTING_REPORT and again.analysis_id is None
    assert emulator.scanning.uploads == 1 and store.saved == ["submitted", "completed"]


async def test_a_crash_during_the_wait_resumes_without_uploading_again(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    plan = plan_submission(file_bytes=b"crash test sample " * 50, rescan="always")
    store = _CountingStore()
    # The first poll fails hard: the wait dies after the upload. The checkpoint must still land.
    emulator.faults.add(kind="error", code="ForbiddenError", count=1, path_prefix="/analyses")
    with pytest.raises(ForbiddenError):
        await run_submission(plan, _steps(vt), store)
    assert emulator.scanning.uploads == 1
    assert (await store.load(plan.checkpoint))["status"] == "submitted"
    resumed = await run_submission(plan, _steps(vt), store)
    assert resumed.outcome == SubmissionOutcome.ATTACHED
    assert resumed.analysis_id == emulator.scanning.submissions[0][2]
    assert emulator.scanning.uploads == 1 and len(emulator.scanning.submissions) == 1
    assert store.saved == ["submitted", "completed"]


async def test_wait_false_returns_the_checkpointed_analysis(emulator: Emulator, vt: VirusTotalClient) -> None:
    plan = plan_submission(url="http://landing.example/offer", rescan="always")
    store = MemoryCheckpointStore()
    run = await run_submission(plan, _steps(vt), store, wait=False)
    assert run.report is None and run.analysis_id
    assert (await store.load(plan.checkpoint))["analysis_id"] == run.analysis_id
    assert submission_result(run).verdict == "unknown"
    attached = await run_submission(plan, _steps(vt), store)
    assert attached.outcome == SubmissionOutcome.ATTACHED and attached.analysis_id == run.analysis_id
    assert len(emulator.scanning.submissions) == 1


async def test_a_stale_known_file_is_reanalysed_by_hash(emulator: Emulator, vt: VirusTotalClient) -> None:
    sha256 = emulator.world.pick("file", "malicious")
    plan = plan_submission(file_bytes=emulator.world.content(sha256), max_age_days=0)
    run = await run_submission(plan, _steps(vt), MemoryCheckpointStore())
    assert run.outcome == SubmissionOutcome.SUBMITTED and emulator.scanning.uploads == 0
    assert emulator.count("POST", f"/files/{sha256}/analyse") == 1


async def test_a_confidential_file_is_never_uploaded_publicly(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    store = MemoryCheckpointStore()
    plan = plan_submission(file_bytes=b"board minutes, draft 3", confidential=True)
    with pytest.raises(PublicUploadRefusedError):
        await run_submission(plan, _steps(vt), store)
    assert emulator.scanning.uploads == 0 and emulator.count() == 1 and store.writes == 0
    private = plan_submission(
        file_bytes=b"board minutes, draft 3",
        confidential=True,
        private=True,
        options=PrivateScanOptions(retention_period_days=1, disable_sandbox=True),
    )
    run = await run_submission(private, _steps(vt), store)
    result = submission_result(run)
    assert result.private and result.verdict == "clean" and "VERDICT_UNDETECTED" in result.reason
    assert emulator.world.get("file", private.indicator) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"file_bytes": b"x", "url": "http://example.com/"},
        {"file_bytes": b"x", "options": PrivateScanOptions(locale="EN_US")},
        {"file_path": "/no/such/file"},
        {"file_bytes": b"x", "max_age_days": -1},
        {"file_bytes": b"x", "rescan": "sometimes"},
    ],
)
def test_a_bad_plan_is_refused_before_any_request(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterError):
        plan_submission(**kwargs)


def test_a_url_with_credentials_is_refused_or_stripped() -> None:
    with pytest.raises(InvalidIndicatorError):
        plan_submission(url="https://bob:hunter2@portal.example.com/x")
    plan = plan_submission(url="https://bob:hunter2@portal.example.com/x", strip_url_credentials=True)
    assert plan.indicator == "https://portal.example.com/x" and plan.credentials_removed
    assert plan.checkpoint == submission_checkpoint("url", plan.indicator, False, None)


async def test_the_checkpoint_write_overlaps_the_first_poll(
    emulator: Emulator, vt: VirusTotalClient, clock: FakeClock
) -> None:
    """The save runs beside the wait; the engine returns only after it has landed."""
    order: list[str] = []

    class SlowStore(MemoryCheckpointStore):
        async def save(self, name: str, value: Any) -> None:
            order.append(f"save {value['status']} begins")
            await clock.sleep(0)  # yields: a real store waits on the network here
            await super().save(name, value)
            order.append(f"save {value['status']} done")

    class Steps(ClientSteps):
        async def wait(self, plan: Any, analysis_id: str) -> Any:
            order.append("wait begins")
            return await super().wait(plan, analysis_id)

    plan = plan_submission(file_bytes=b"overlap sample", rescan="always")
    run = await run_submission(plan, Steps(vt, WaitSettings(timeout=600)), SlowStore())
    assert run.report is not None
    assert order.index("wait begins") < order.index("save submitted done")
    assert order[-1] == "save completed done"


async def test_a_file_swapped_after_its_lookup_is_not_reported(
    emulator: Emulator, clock: FakeClock, tmp_path: Path
) -> None:
    sample = tmp_path / "sample.bin"
    sample.write_bytes(os.urandom(4096))
    plan = plan_submission(file_path=sample, private=True)
    swap = SwapOnLookup(emulator.transport(), sample, os.urandom(4096))
    async with VirusTotalClient(PREMIUM_KEY, base_url=emulator.base_url, transport=swap, clock=clock) as vt:
        with pytest.raises(ContentChangedError) as caught:
            await run_submission(plan, _steps(vt), MemoryCheckpointStore())
    assert caught.value.expected == plan.indicator


async def test_the_local_store_keeps_checkpoints_across_processes(tmp_path: Path) -> None:
    name = submission_checkpoint("url", "http://a.example/", False, None)
    first = DirectoryCheckpointStore(tmp_path / "state")
    assert await first.load(name) is None
    await first.save(name, {"analysis_id": "u-1", "status": "submitted"})
    again = DirectoryCheckpointStore(tmp_path / "state")  # a later command
    assert await again.load(name) == {"analysis_id": "u-1", "status": "submitted"}
    assert [p.name for p in (tmp_path / "state").iterdir()] == [f"{name}.json"]
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0
    await again.clear(name)
    assert await again.load(name) is None


async def test_the_caller_publishes_while_the_completed_checkpoint_is_written(
    vt: VirusTotalClient, clock: FakeClock
) -> None:
    order: list[str] = []

    class SlowStore(MemoryCheckpointStore):
        async def save(self, name: str, value: Any) -> None:
            order.append(f"save {value['status']} begins")
            await clock.sleep(0)
            await super().save(name, value)
            order.append(f"save {value['status']} done")

    async def finished(run: SubmissionRun) -> None:
        assert run.report is not None
        order.append("publish begins")
        await clock.sleep(0)
        order.append("publish done")

    plan = plan_submission(file_bytes=b"publish sample", rescan="always")
    await run_submission(plan, _steps(vt), SlowStore(), finished=finished)
    # Beside the write, not after it; and the engine returns only once both are done.
    assert order.index("publish begins") < order.index("save completed done")
    assert {"publish done", "save completed done"} == set(order[-2:])


async def test_a_batch_submits_each_once_and_one_failure_fails_its_item_only(
    emulator: Emulator, vt: VirusTotalClient, tmp_path: Path
) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"batch-{i}.bin"
        path.write_bytes(f"batch sample {i}\n".encode() * 20)
        paths.append(str(path))
    flight = {"now": 0, "most": 0}

    class Steps(ClientSteps):
        async def submit(self, plan: SubmissionPlan, *, known: bool) -> Any:
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])
            return await super().submit(plan, known=known)

        async def item(self, plan: SubmissionPlan, analysis_id: str) -> Any:
            flight["now"] -= 1
            return await super().item(plan, analysis_id)

    def planner(kind: Literal["file", "url"], target: str) -> SubmissionPlan:
        return plan_submission(
            file_path=target if kind == "file" else None,
            url=target if kind == "url" else None,
            rescan="always",
        )

    # The service refuses the first URL submission.
    emulator.faults.add(kind="error", code="ForbiddenError", count=1, path_prefix="/urls", method="POST")
    store = _CountingStore()
    finished: list[str] = []

    async def done(item: SubmissionItem) -> None:
        finished.append(item.status)

    report = await run_submissions(
        [
            ("file", paths[0]),
            ("file", paths[1]),
            ("file", paths[0]),  # the same submission again: runs once
            ("file", str(tmp_path / "missing.bin")),  # bad input: no request
            ("url", "http://refused-batch.example/x"),
            ("file", paths[2]),
        ],
        planner,
        Steps(vt, WaitSettings(timeout=600)),
        store,
        concurrency=2,
        done=done,
    )
    assert [item.status for item in report.items] == [
        "submitted",
        "submitted",
        "submitted",
        "failed",
        "failed",
        "submitted",
    ]
    assert report.items[0] is report.items[2]
    assert "InvalidParameterError" in report.items[3].reason
    assert isinstance(report.items[4].error, ForbiddenError)
    assert report.items[4].shown == "hxxp://refused-batch[.]example/x"
    assert emulator.scanning.uploads == 3 and store.saved.count("completed") == 3
    assert flight["most"] <= 2
    assert sorted(finished) == ["failed", "failed", "submitted", "submitted", "submitted"]
    assert report.summary() == "4 submitted, 0 found, 2 failed"
    with pytest.raises(InvalidParameterError):
        await run_submissions([("file", paths[0])], planner, Steps(vt), store, concurrency=0)
