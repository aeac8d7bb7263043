"""``submit_and_wait``: a file or URL in, a verdict out; idempotent and crash-safe.

The decisions (resume, hash first, checkpoint, upload, wait) are the core's
(``core.run_submission``, see ``core/_submission.py``); this flow supplies them as tasks, keeps
the checkpoint in Prefect Variables by default, and publishes the verdict (artifacts, event).

What Prefect costs per submission, kept to what it is there for: one flow run; task runs for
the lookup (when not rescanning), the submission, and the wait with the read of the report (one
task run, one connection); one checkpoint read and at most two one-request writes (the first
beside the first polls; a write a SQLite-backed server answers "busy" is tried again within
milliseconds, see ``VariableCheckpointStore``); and two artifacts created together.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_link_artifact, acreate_table_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import SYSTEM_CLOCK, Clock, VerdictPolicy
from prefect_virustotal.client.models import AnalysisObject, PrivateScanOptions, VTObject
from prefect_virustotal.core import (
    CheckpointStore,
    RescanPolicy,
    SubmissionPlan,
    SubmissionResult,
    WaitSettings,
    artifact_key,
    defang_text,
    display_indicator,
    plan_submission,
    run_submission,
    submission_result,
    submission_rows,
)
from prefect_virustotal.tasks import (
    find_report,
    get_analysis_item,
    submit_for_analysis,
    wait_for_report,
)

from ._checkpoints import VariableCheckpointStore
from ._enrich import EMULATED_BANNER


class _TaskSteps:
    """The core's submission steps as Prefect tasks: one task run per request step.

    Once submitted, the wait and the read of the report are one task run (``wait_for_report``):
    the engine's ``wait`` runs it, and its ``item`` hands on the report it read.
    """

    def __init__(self, block: VirusTotalCredentials, waiting: WaitSettings) -> None:
        self.block = block
        self.waiting = waiting
        self._reports: dict[str, VTObject[Any]] = {}

    async def find(self, plan: SubmissionPlan) -> VTObject[Any] | None:
        return await find_report(plan.kind, plan.indicator, plan.private, credentials=self.block)

    async def submit(self, plan: SubmissionPlan, *, known: bool) -> VTObject[Any]:
        return await submit_for_analysis(plan, known, credentials=self.block)

    async def wait(self, plan: SubmissionPlan, analysis_id: str) -> AnalysisObject:
        w = self.waiting
        done = await wait_for_report(
            analysis_id,
            private=plan.private,
            timeout=w.timeout,
            initial_interval=w.initial_interval,
            max_interval=w.max_interval,
            factor=w.factor,
            credentials=self.block,
        )
        self._reports[analysis_id] = done.report
        return done.analysis

    async def item(self, plan: SubmissionPlan, analysis_id: str) -> VTObject[Any]:
        report = self._reports.pop(analysis_id, None)
        if report is not None:
            return report
        return await get_analysis_item(analysis_id, private=plan.private, credentials=self.block)


@flow(name="virustotal-submit-and-wait", log_prints=False)
async def submit_and_wait(
    file_path: str | None = None,
    file_bytes: bytes | None = None,
    url: str | None = None,
    private: bool = False,
    options: PrivateScanOptions | None = None,
    rescan: RescanPolicy = "stale",
    max_age_days: float = 7.0,
    confidential: bool = False,
    strip_url_credentials: bool = False,
    timeout: float = 1800.0,
    initial_interval: float = 3.0,
    max_interval: float = 60.0,
    factor: float | None = None,
    policy: VerdictPolicy | None = None,
    checkpoints: CheckpointStore | None = None,
    clock: Clock | None = None,
    wait: bool = True,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> SubmissionResult:
    """Submit a file or URL to VirusTotal, wait for the analysis, and give the verdict.

    Hash first: a fresh enough report means no upload. Crash-safe: the analysis id is
    checkpointed (in a Prefect Variable by default) before waiting, and a rerun of the same submission
    (same file or URL, same privacy and options) after a crash, timeout or cancellation
    attaches to that analysis instead of uploading again.

    Args:
        file_path: a file to submit (streamed from disk, up to 650 MB).
        file_bytes: file content to submit; small files only, since flow parameters are
            stored by Prefect (use ``file_path`` for anything large).
        url: a URL to submit. Exactly one of the three.
        private: use private scanning (a Private Scanning licence).
        options: private scanning sandbox options (validated before any request).
        rescan: ``never`` uses any existing report, ``stale`` (default) one younger than
            ``max_age_days``, ``always`` submits again.
        max_age_days: how old an existing report may be under ``stale``.
        confidential: never upload this file publicly (an existing public report is used;
            otherwise the run fails without uploading: use ``private=True``).
        strip_url_credentials: submit a URL carrying ``user:password@`` without them
            (a warning is logged); by default such a URL is refused.
        timeout: seconds to wait for the analysis; on timeout the checkpoint stays, and a
            rerun resumes.
        initial_interval: shortest pause between polls (floored by the key's quota).
        max_interval: longest pause between polls.
        factor: geometric growth of the pause; None (default) pauses a tenth of the
            analysis' age, so its end is seen at most 10 % late.
        policy: verdict thresholds for engine results.
        checkpoints: where the submission's checkpoint lives; Prefect Variables by default.
        clock: what "now" is when judging a report's age; the system clock by default.
        wait: False submits (or finds the existing report) and returns at once: the
            analysis id is the result (verdict ``unknown``), and a later run attaches to it.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        The report, the verdict and its reason, the analysis id and how it was obtained.

    Raises:
        InvalidParameterError: bad input (no request made).
        PublicUploadRefusedError: a confidential file without a usable public report and
            ``private=False`` (nothing uploaded).
        InvalidIndicatorError: a bad URL, or one with credentials (no request made).
        AnalysisTimeoutError: the analysis did not complete in time (rerun to resume).

    Example:
        ```python
        result = await submit_and_wait(file_path="/cases/4711/sample.bin", credentials="virustotal")
        print(result.verdict, result.reason)
        ```
    """
    logger = get_run_logger()
    # 1. Validate and identify, before any request (the core's plan).
    plan = plan_submission(
        file_path=file_path,
        file_bytes=file_bytes,
        url=url,
        private=private,
        options=options,
        rescan=rescan,
        max_age_days=max_age_days,
        confidential=confidential,
        strip_url_credentials=strip_url_credentials,
        timeout=timeout,
    )
    if plan.credentials_removed:
        logger.warning("credentials were removed from the URL before submitting it")
    block = await resolve_credentials(credentials)
    waiting = WaitSettings(
        timeout=timeout, initial_interval=initial_interval, max_interval=max_interval, factor=factor
    )
    # 2. Resume, or hash first, or submit; checkpoint; wait; read the report (the core's engine).
    run = await run_submission(
        plan,
        _TaskSteps(block, waiting),
        checkpoints or VariableCheckpointStore(),
        clock=clock or SYSTEM_CLOCK,
        wait=wait,
        log=logger,
    )
    result = submission_result(run, policy)
    if run.report is None:
        return result
    await _publish(result, run.report)
    return result


async def _publish(result: SubmissionResult, report: VTObject[Any]) -> None:
    """Table and link artifacts (created together), and the ``virustotal.verdict.<verdict>`` event."""
    logger = get_run_logger()
    kind, indicator = result.kind, result.indicator
    shown = display_indicator(kind, indicator)
    description = (
        f"VirusTotal verdict for {kind} `{shown}`: **{result.verdict}** ({defang_text(result.reason)})."
    )
    if result.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    rows = submission_rows(report) or [{"engine": "-", "category": "no engine results"}]
    await asyncio.gather(
        acreate_table_artifact(
            key=artifact_key("submission", indicator), table=rows, description=description
        ),
        acreate_link_artifact(
            result.link,
            link_text=f"VirusTotal page of {kind} {shown[:80]}",
            key=artifact_key("submission-link", indicator),
            description=description,
        ),
    )
    resource = {
        "prefect.resource.id": f"virustotal.{kind}.{report.id}",
        "prefect.resource.name": indicator[:200],
        "vt.kind": kind,
        "vt.private": str(result.private).lower(),
        f"vt.{'sha256' if kind == 'file' else 'url'}": indicator,
    }
    emit_event(
        event=f"virustotal.verdict.{result.verdict}",
        resource=resource,
        payload={
            "reason": result.reason,
            "analysis_id": result.analysis_id,
            "outcome": result.outcome.value,
            "link": result.link,
            "emulated": result.emulated,
        },
    )
    logger.info("%s %s: %s (%s)", kind, indicator[:80], result.verdict, result.reason)
