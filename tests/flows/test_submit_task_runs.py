"""What one ``submit_and_wait`` costs in Prefect task runs: the submission, then one wait with its read."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.core import MemoryCheckpointStore, SubmissionOutcome
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import submit_and_wait

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def _task_run_names(flow_run_name: str) -> list[str]:
    async with get_client() as prefect:
        (flow_run,) = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(name={"any_": [flow_run_name]})
        )
        runs = await prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run.id])),
        )
    return sorted(run.name.rsplit("-", 1)[0] for run in runs)


async def test_a_submission_is_two_task_runs_and_its_report_is_read_once(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    store = MemoryCheckpointStore()
    name = "submit-task-runs-url"
    result = await submit_and_wait.with_options(flow_run_name=name)(
        url="http://task-runs.example/landing", rescan="always", checkpoints=store, credentials=credentials
    )
    assert result.outcome == SubmissionOutcome.SUBMITTED and result.report is not None
    assert result.emulated and result.verdict in {"clean", "malicious", "suspicious", "unknown"}
    assert store.writes == 2  # submitted, then completed
    assert mounted.count("GET", f"/analyses/{result.analysis_id}/item") == 1
    assert await _task_run_names(name) == ["VirusTotal: submit for analysis", "VirusTotal: wait for report"]
