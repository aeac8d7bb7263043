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

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import (
    SYSTEM_CLOCK,
    Clock,
    InvalidParameterError,
    VerdictPolicy,
    VirusTotalError,
)
from prefect_virustotal.client.models import AnalysisObject, PrivateScanOptions, VTObject
from prefect_virustotal.core import (
    CheckpointStore,
    RescanPolicy,
    SubmissionItem,
    SubmissionPlan,
    SubmissionReport,
    SubmissionResult,
    SubmissionRun,
    WaitSettings,
    artifact_key,
    defang_text,
    display_indicator,
    markdown_link,
    plan_submission,
    run_submission,
    run_submissions,
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
    published: list[SubmissionResult] = []

    async def publish(run: SubmissionRun) -> None:
        assert run.report is not None
        published.append(submission_result(run, policy))
        await _publish(published[-1], run.report)

    # 2. Resume, or hash first, or submit; checkpoint; wait; read the report (the core's
    # engine), and publish the verdict while the completed checkpoint is written.
    run = await run_submission(
        plan,
        _TaskSteps(block, waiting),
        checkpoints or VariableCheckpointStore(),
        clock=clock or SYSTEM_CLOCK,
        wait=wait,
        log=logger,
        finished=publish,
    )
    return published[-1] if published else submission_result(run, policy)


async def _publish(result: SubmissionResult, report: VTObject[Any]) -> None:
    """The table artifact (its description links to VirusTotal's page), and the verdict event."""
    logger = get_run_logger()
    kind, indicator = result.kind, result.indicator
    shown = display_indicator(kind, indicator)
    page = markdown_link(f"VirusTotal page of {kind} {shown[:80]}", result.link)
    reason = defang_text(result.reason)
    description = f"VirusTotal verdict for {kind} `{shown}`: **{result.verdict}** ({reason}). {page}"
    if result.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    rows = submission_rows(report) or [{"engine": "-", "category": "no engine results"}]
    await acreate_table_artifact(
        key=artifact_key("submission", indicator), table=rows, description=description
    )
    _emit_verdict(result, report)
    logger.info("%s %s: %s (%s)", kind, indicator[:80], result.verdict, result.reason)


def _emit_verdict(result: SubmissionResult, report: VTObject[Any]) -> None:
    """The ``virustotal.verdict.<verdict>`` event of one submission."""
    kind, indicator = result.kind, result.indicator
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


@flow(name="virustotal-submit-and-wait-many", log_prints=False)
async def submit_and_wait_many(
    file_paths: list[str] | None = None,
    urls: list[str] | None = None,
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
    concurrency: int = 10,
    case: str | None = None,
    checkpoints: CheckpointStore | None = None,
    clock: Clock | None = None,
    wait: bool = True,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> SubmissionReport:
    """Submit many files and URLs in one flow run, wait for each analysis, and give each verdict.

    Each file or URL is what :func:`submit_and_wait` makes of it, with the same task runs,
    requests, checkpoints and settings: hash first, checkpointed before waiting, and a rerun
    of the batch (or a ``submit_and_wait`` of one of its items) resumes each unfinished
    submission instead of uploading again. One flow run for the whole batch instead of one
    per submission: Prefect's per-flow-run cost is paid once. Partial results: an item that
    fails (bad input, refused, timed out, an API error) says why and the others go on; the run
    fails only when every item failed. Each verdict is published as it comes (the
    ``virustotal.verdict.<verdict>`` event, as ``submit_and_wait`` sends); one table artifact
    lists the batch, defanged. Prefect stores ``urls`` as a flow-run parameter before the flow
    runs: remove URL credentials before the call (``client.redact_all``).

    Args:
        file_paths: files to submit (each streamed from disk, up to 650 MB).
        urls: URLs to submit.
        private: use private scanning (a Private Scanning licence) for every item.
        options: private scanning sandbox options (validated before any request).
        rescan: ``never`` uses any existing report, ``stale`` (default) one younger than
            ``max_age_days``, ``always`` submits again.
        max_age_days: how old an existing report may be under ``stale``.
        confidential: never upload these files publicly (see ``submit_and_wait``).
        strip_url_credentials: submit URLs carrying ``user:password@`` without them; by
            default such a URL is refused (its item fails, nothing is sent for it).
        timeout: seconds to wait for each analysis; on timeout its checkpoint stays, and a
            rerun resumes it.
        initial_interval: shortest pause between polls (floored by the key's quota).
        max_interval: longest pause between polls.
        factor: geometric growth of the pause; None (default) pauses a tenth of the
            analysis' age.
        policy: verdict thresholds for engine results.
        concurrency: submissions in flight at once (the key's rate limit still applies).
        case: the case the batch belongs to; keys the artifact (else the first item).
        checkpoints: where the checkpoints live; Prefect Variables by default.
        clock: what "now" is when judging a report's age; the system clock by default.
        wait: False submits (or finds the existing reports) and returns at once.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        One item per file and URL, in the order given (files first): submitted, found or
        failed, its verdict and reason, and the submission's result.

    Raises:
        InvalidParameterError: no file or URL, or ``concurrency`` below 1 (no request made).
        VirusTotalError: every item failed (the first item's error).

    Example:
        ```python
        report = await submit_and_wait_many(
            file_paths=["/cases/4711/a.bin", "/cases/4711/b.bin"], urls=["http://phish.example/login"],
            credentials="virustotal",
        )
        print(report.summary())
        ```
    """
    logger = get_run_logger()
    targets: list[tuple[Literal["file", "url"], str]] = [("file", p) for p in file_paths or []]
    targets += [("url", u) for u in urls or []]
    if not targets:
        raise InvalidParameterError("give at least one file path or URL")
    if concurrency < 1:
        raise InvalidParameterError("concurrency must be at least 1")
    block = await resolve_credentials(credentials)
    waiting = WaitSettings(
        timeout=timeout, initial_interval=initial_interval, max_interval=max_interval, factor=factor
    )

    def planner(kind: Literal["file", "url"], target: str) -> SubmissionPlan:
        return plan_submission(
            file_path=target if kind == "file" else None,
            url=target if kind == "url" else None,
            private=private,
            options=options,
            rescan=rescan,
            max_age_days=max_age_days,
            confidential=confidential,
            strip_url_credentials=strip_url_credentials,
            timeout=timeout,
        )

    async def publish(item: SubmissionItem) -> None:
        if item.result is not None and item.result.report is not None:
            _emit_verdict(item.result, item.result.report)

    report = await run_submissions(
        targets,
        planner,
        _TaskSteps(block, waiting),
        checkpoints or VariableCheckpointStore(),
        concurrency=concurrency,
        clock=clock or SYSTEM_CLOCK,
        wait=wait,
        policy=policy,
        log=logger,
        done=publish,
    )
    description = f"VirusTotal submissions: {report.summary()}."
    if report.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    rows = [
        {
            "item": item.shown,
            "status": item.status,
            "verdict": item.verdict,
            "reason": defang_text(item.reason),
            "virustotal": item.result.link if item.result is not None else "-",
        }
        for item in report.items
    ]
    subject = case or (report.items[0].result.indicator if report.items[0].result else report.items[0].target)
    await acreate_table_artifact(
        key=artifact_key("submissions", subject), table=rows, description=description
    )
    logger.info("%d item(s): %s", len(report.items), report.summary())
    if report.count("failed") == len(report.items):
        error = report.items[0].error
        raise error if error is not None else VirusTotalError("every submission failed")
    return report
