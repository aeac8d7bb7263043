"""Submission planning and the submission engine: hash first, checkpoint, upload, wait, resume.

The order of things, and why:

1. Everything is validated first (:func:`plan_submission`: file size and readability, sandbox
   options, credentials in a URL): a bad input costs no request.
2. The submission's identity is ``(sha256 or URL, private, options)``. Its checkpoint is named
   ``virustotal-submit-<hash of the identity>`` (:func:`submission_checkpoint`) in a
   :class:`~prefect_virustotal.core.CheckpointStore`.
3. A checkpoint of an unfinished analysis (a crash, a timeout, a cancelled run) is resumed:
   no upload.
4. Hash first: a fresh enough report (``max_age_days``) means no upload at all. A stale one is
   re-analysed by hash (``/files/{id}/analyse``): no upload either.
5. Only then is the file uploaded (never publicly when ``confidential``). The analysis id is
   checkpointed before the wait's result is used: the write runs while the first polls go out
   (polls are reads), and the engine never returns, fails or waits on past a pending write. A
   crash before the write lands is a crash between the upload and the checkpoint, which step 4
   covers: the uploaded file is known by its hash on the rerun.

:func:`run_submission` runs these steps over a :class:`SubmissionSteps`: :class:`ClientSteps`
calls the client directly (the command line, scripts); the ``submit_and_wait`` flow passes
steps that are Prefect tasks. Either way the decisions are the ones here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import Field, PrivateAttr

from prefect_virustotal.client import (
    SYSTEM_CLOCK,
    Assessment,
    Clock,
    InvalidParameterError,
    NotFoundError,
    PublicUploadRefusedError,
    UploadSource,
    Verdict,
    VerdictPolicy,
    VirusTotalClient,
    VirusTotalError,
    assess_object,
    check_url_for_submission,
    mask_url_credentials,
    private_options,
    url_has_credentials,
)
from prefect_virustotal.client.models import AnalysisObject, PrivateScanOptions, VTModel, VTObject

from ._checkpoints import CheckpointStore, checkpoint_name
from ._display import display_indicator, vt_link
from ._results import SubmissionOutcome, SubmissionResult
from ._safety import escape_control

logger = logging.getLogger(__name__)
ObjectT = TypeVar("ObjectT", bound=VTObject[Any])

RescanPolicy = Literal["never", "stale", "always"]
"""``never`` uses any existing report, ``stale`` one younger than ``max_age_days``, ``always`` submits."""

_PRIVATE_VERDICTS = {
    "VERDICT_MALICIOUS": Verdict.MALICIOUS,
    "VERDICT_SUSPICIOUS": Verdict.SUSPICIOUS,
    "VERDICT_UNDETECTED": Verdict.CLEAN,
    "VERDICT_UNKNOWN": Verdict.UNKNOWN,
}


def submission_checkpoint(
    kind: str, indicator: str, private: bool, options: PrivateScanOptions | None
) -> str:
    """The checkpoint name of a submission: a hash of its identity.

    The identity is ``(kind, sha256 or URL, private, sandbox options)``: the same file sent
    again with the same privacy and options resumes the same analysis; anything else is a
    new submission. One checkpoint per submission keeps each far below the size cap.
    """
    identity = {
        "kind": kind,
        "indicator": indicator,
        "private": private,
        "options": options.model_dump(exclude_none=True) if options else {},
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return checkpoint_name("submit", digest[:40])


@dataclass(frozen=True)
class SubmissionPlan:
    """A validated submission: what is sent, how, and the checkpoint it resumes from.

    Attributes:
        kind: ``file`` or ``url``.
        indicator: the file's SHA-256, or the URL as submitted (without credentials).
        private: private scanning.
        options: validated sandbox options (private scanning only).
        source: the file to upload (a path, streamed; or bytes); None for a URL.
        checkpoint: the checkpoint name of this submission.
        rescan: ``never``, ``stale`` or ``always``.
        max_age_days: how old an existing report may be under ``stale``.
        confidential: a file never uploaded publicly.
        credentials_removed: the URL carried ``user:password@``, removed before submitting.
    """

    kind: Literal["file", "url"]
    indicator: str
    private: bool
    options: PrivateScanOptions | None
    source: UploadSource | None
    checkpoint: str
    rescan: RescanPolicy = "stale"
    max_age_days: float = 7.0
    confidential: bool = False
    credentials_removed: bool = False

    @property
    def link(self) -> str:
        """The indicator's page on virustotal.com."""
        return vt_link(self.kind, self.indicator, private=self.private)


def plan_submission(
    *,
    file_path: str | Path | None = None,
    file_bytes: bytes | None = None,
    url: str | None = None,
    private: bool = False,
    options: PrivateScanOptions | None = None,
    rescan: RescanPolicy = "stale",
    max_age_days: float = 7.0,
    confidential: bool = False,
    strip_url_credentials: bool = False,
    timeout: float = 0.0,
) -> SubmissionPlan:
    """Validate a submission and name it, before any request.

    A file given by path is checked (a regular, readable file of at most 650 MB) and hashed in
    chunks; it is never read into memory.

    Raises:
        InvalidParameterError: not exactly one of the three, options without ``private``, a
            negative age or timeout, an unknown rescan policy, a bad option or file.
        InvalidIndicatorError: a bad URL, or one with credentials and no ``strip_url_credentials``.
    """
    given = [n for n, v in (("file_path", file_path), ("file_bytes", file_bytes), ("url", url)) if v]
    if len(given) != 1:
        raise InvalidParameterError("give exactly one of file_path, file_bytes or url")
    if options is not None and not private:
        raise InvalidParameterError("sandbox options apply to private scanning only (private=True)")
    if max_age_days < 0 or timeout < 0:
        raise InvalidParameterError("max_age_days and timeout must not be negative")
    if rescan not in ("never", "stale", "always"):
        raise InvalidParameterError("rescan must be never, stale or always")
    opts = private_options(options) if private else None
    source: UploadSource | None = None
    removed = False
    if url:
        kind: Literal["file", "url"] = "url"
        indicator = check_url_for_submission(url, strip_credentials=strip_url_credentials)
        removed = url_has_credentials(url)
    else:
        kind = "file"
        source = UploadSource.of(Path(file_path) if file_path else (file_bytes or b""))
        indicator = source.sha256()
    return SubmissionPlan(
        kind=kind,
        indicator=indicator,
        private=private,
        options=opts,
        source=source,
        checkpoint=submission_checkpoint(kind, indicator, private, opts),
        rescan=rescan,
        max_age_days=max_age_days,
        confidential=confidential,
        credentials_removed=removed,
    )


class SubmissionSteps(Protocol):
    """The four requests a submission is made of; each is one client call (or one task)."""

    async def find(self, plan: SubmissionPlan) -> VTObject[Any] | None:
        """The current report (public or private), None when VirusTotal has none."""
        ...

    async def submit(self, plan: SubmissionPlan, *, known: bool) -> VTObject[Any]:
        """Send the submission; ``known``: VirusTotal has the file, re-analyse it by hash."""
        ...

    async def wait(self, plan: SubmissionPlan, analysis_id: str) -> AnalysisObject:
        """Wait until the analysis completes (one bounded wait)."""
        ...

    async def item(self, plan: SubmissionPlan, analysis_id: str) -> VTObject[Any]:
        """The file or URL report the analysis is about."""
        ...


@dataclass(frozen=True)
class WaitSettings:
    """How a submission waits for its analysis (see ``Analyses.wait``).

    Attributes:
        timeout: seconds before giving up (the checkpoint stays: a rerun resumes).
        initial_interval: the shortest pause between polls (floored by the key's quota).
        max_interval: the longest pause.
        factor: geometric growth of the pause; None for the proportional schedule.
    """

    timeout: float = 1800.0
    initial_interval: float = 3.0
    max_interval: float = 60.0
    factor: float | None = None


async def find_report(vt: VirusTotalClient, kind: str, indicator: str, private: bool) -> VTObject[Any] | None:
    """The current report of a file or URL, public or private; None when VirusTotal has none.

    A file or URL never seen (or a private file not scanned yet) is an answer, not a failure.
    """
    try:
        if kind == "file":
            return await (vt.private.get_file(indicator) if private else vt.files.get(indicator))
        return await (vt.private.get_url(indicator) if private else vt.urls.get(indicator))
    except NotFoundError:
        return None


async def submit_plan(vt: VirusTotalClient, plan: SubmissionPlan, *, known: bool) -> VTObject[Any]:
    """Send a planned submission: a known file is re-analysed by hash, else uploaded; URLs posted.

    Raises:
        ContentChangedError: the bytes uploaded are not those the plan hashed.
    """
    options = plan.options
    if plan.kind == "url":
        if plan.private:
            return await vt.private.scan_url(
                plan.indicator,
                retention_period_days=options.retention_period_days if options else None,
                storage_region=options.storage_region if options else None,
            )
        return await vt.urls.scan(plan.indicator)
    if known:
        return await (
            vt.private.analyse(plan.indicator, options) if plan.private else vt.files.analyse(plan.indicator)
        )
    assert plan.source is not None
    if plan.private:
        return await vt.private.upload(plan.source, options, expected_sha256=plan.indicator)
    return await vt.files.upload(plan.source, expected_sha256=plan.indicator)


async def analysis_item(vt: VirusTotalClient, analysis_id: str, private: bool) -> VTObject[Any]:
    """The file or URL a (private) analysis is about."""
    return await (vt.private.get_analysis_item(analysis_id) if private else vt.analyses.get_item(analysis_id))


async def _wait(
    vt: VirusTotalClient, analysis_id: str, private: bool, waiting: WaitSettings
) -> AnalysisObject:
    """One bounded wait (``Analyses.wait``) with the submission's settings."""
    return await vt.analyses.wait(
        analysis_id,
        private=private,
        timeout=waiting.timeout,
        initial_interval=waiting.initial_interval,
        max_interval=waiting.max_interval,
        factor=waiting.factor,
    )


@dataclass(frozen=True)
class CompletedAnalysis:
    """An analysis that completed, and the report of the file or URL it is about.

    Attributes:
        analysis: the completed analysis.
        report: the file or URL report (``private_file`` / ``private_url`` when private).
    """

    analysis: AnalysisObject
    report: VTObject[Any]


async def wait_for_report(
    vt: VirusTotalClient, analysis_id: str, *, private: bool, waiting: WaitSettings
) -> CompletedAnalysis:
    """Wait for an analysis to complete, then read the report it is about: one bounded wait, one read.

    The two requests a submission needs after it was sent, on one client (one connection).
    """
    analysis = await _wait(vt, analysis_id, private, waiting)
    report = await analysis_item(vt, analysis_id, private)
    return CompletedAnalysis(mark_emulated(vt, analysis), mark_emulated(vt, report))


def mark_emulated(vt: VirusTotalClient, obj: ObjectT) -> ObjectT:
    """Set ``meta["emulated"]`` when the answer came from the pack's emulator (it is fiction)."""
    if vt.emulated:
        obj.meta = {**(obj.meta or {}), "emulated": True}
    return obj


@dataclass
class ClientSteps:
    """A submission's steps as direct client calls: no Prefect (the command line, scripts, tests).

    Example:
        ```python
        async with VirusTotalClient(key) as vt:
            run = await run_submission(plan, ClientSteps(vt), MemoryCheckpointStore())
        ```
    """

    vt: VirusTotalClient
    waiting: WaitSettings = field(default_factory=WaitSettings)

    async def find(self, plan: SubmissionPlan) -> VTObject[Any] | None:
        """See :func:`find_report`."""
        found = await find_report(self.vt, plan.kind, plan.indicator, plan.private)
        return None if found is None else mark_emulated(self.vt, found)

    async def submit(self, plan: SubmissionPlan, *, known: bool) -> VTObject[Any]:
        """See :func:`submit_plan`."""
        return mark_emulated(self.vt, await submit_plan(self.vt, plan, known=known))

    async def wait(self, plan: SubmissionPlan, analysis_id: str) -> AnalysisObject:
        """One bounded wait (``Analyses.wait``)."""
        return mark_emulated(self.vt, await _wait(self.vt, analysis_id, plan.private, self.waiting))

    async def item(self, plan: SubmissionPlan, analysis_id: str) -> VTObject[Any]:
        """See :func:`analysis_item`."""
        return mark_emulated(self.vt, await analysis_item(self.vt, analysis_id, plan.private))


@dataclass
class SubmissionRun:
    """What :func:`run_submission` did.

    Attributes:
        plan: the submission.
        outcome: existing report, attached to an earlier analysis, or submitted.
        analysis_id: the analysis waited on (None for an existing report).
        report: the final report; None when not waited for (``wait=False``).
        emulated: an answer came from the pack's emulator.
    """

    plan: SubmissionPlan
    outcome: SubmissionOutcome
    analysis_id: str | None = None
    report: VTObject[Any] | None = None
    emulated: bool = False


def _emulated(obj: VTObject[Any] | None) -> bool:
    return obj is not None and bool((obj.meta or {}).get("emulated"))


def _fresh(report: VTObject[Any], max_age_days: float, now: datetime) -> bool:
    analysed = getattr(report.attributes, "last_analysis_date", None)
    return isinstance(analysed, datetime) and now - analysed <= timedelta(days=max_age_days)


def resumable_analysis(checkpoint: Any) -> str | None:
    """The analysis id of a checkpoint left by an unfinished submission, else None."""
    if (
        isinstance(checkpoint, dict)
        and checkpoint.get("status") != "completed"
        and checkpoint.get("analysis_id")
    ):
        return str(checkpoint["analysis_id"])
    return None


async def run_submission(
    plan: SubmissionPlan,
    steps: SubmissionSteps,
    store: CheckpointStore,
    *,
    clock: Clock = SYSTEM_CLOCK,
    wait: bool = True,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
    finished: Callable[[SubmissionRun], Awaitable[None]] | None = None,
) -> SubmissionRun:
    """Resume, or look up by hash, or submit; checkpoint; wait; read the report.

    Checkpoint traffic: one load, then one save when something was submitted (before the
    wait's result is used) and one when its analysis completed (beside the report's read and
    ``finished``). An existing fresh report writes nothing.

    Args:
        plan: the validated submission (:func:`plan_submission`).
        steps: the requests (:class:`ClientSteps`, or the flow's tasks).
        store: where the submission's checkpoint lives.
        clock: what "now" is when judging a report's age.
        wait: False returns right after submitting (or finding the report).
        log: where the decisions are logged (a flow passes its run logger).
        finished: called with the run once it has its report (not when ``wait`` is False),
            while the completed checkpoint is written: a flow publishes its verdict there
            rather than after the write. The engine returns only once both are done.

    Raises:
        PublicUploadRefusedError: a confidential file without a usable public report and no
            private scanning (nothing uploaded).
        AnalysisTimeoutError: the analysis did not complete in time (rerun to resume).
    """
    name = plan.checkpoint
    resumed = resumable_analysis(await store.load(name))
    if resumed is not None:
        log.info("resuming analysis %s of an earlier run (checkpoint %s)", resumed, name)
        run = SubmissionRun(plan, SubmissionOutcome.ATTACHED, analysis_id=resumed)
        saving: asyncio.Future[None] | None = None
    else:
        existing = await steps.find(plan) if plan.rescan != "always" else None
        now = datetime.fromtimestamp(clock.time(), tz=timezone.utc)
        if existing is not None and (plan.rescan == "never" or _fresh(existing, plan.max_age_days, now)):
            log.info("a fresh report exists for this %s: nothing submitted", plan.kind)
            found = SubmissionRun(
                plan, SubmissionOutcome.EXISTING_REPORT, report=existing, emulated=_emulated(existing)
            )
            if finished is not None:
                await finished(found)
            return found
        if plan.kind == "file" and plan.confidential and not plan.private:
            raise PublicUploadRefusedError(
                plan.indicator,
                "the file is confidential and has no usable public report; it is never uploaded "
                "publicly: submit it with private=True",
            )
        descriptor = await steps.submit(plan, known=existing is not None)
        run = SubmissionRun(
            plan, SubmissionOutcome.SUBMITTED, analysis_id=descriptor.id, emulated=_emulated(descriptor)
        )
        record = {
            "analysis_id": descriptor.id,
            "kind": plan.kind,
            "private": plan.private,
            "status": "submitted",
            "submitted_at": now.isoformat(),
        }
        # The checkpoint is written while the first polls go out (reads only); it has landed
        # before anything else happens, whatever the wait does.
        saving = asyncio.ensure_future(store.save(name, record))
        log.info("submitted; analysis %s checkpointed as %s", descriptor.id, name)
    assert run.analysis_id is not None
    if not wait:
        if saving is not None:
            await saving
        log.info("analysis %s not waited for (wait=False): run again to attach to it", run.analysis_id)
        return run
    try:
        analysis = await steps.wait(plan, run.analysis_id)
    finally:
        if saving is not None:
            await saving
    # Completed: a rerun now goes hash first (the report exists). Written beside the read of
    # the report and what the caller does with it: if the read fails, the rerun finds the
    # report by hash, with no upload.
    done = {"analysis_id": run.analysis_id, "kind": plan.kind, "private": plan.private, "status": "completed"}
    completing = asyncio.ensure_future(store.save(name, done))
    try:
        run.report = await steps.item(plan, run.analysis_id)
        run.emulated = run.emulated or _emulated(analysis) or _emulated(run.report)
        if finished is not None:
            await finished(run)
    finally:
        await completing
    return run


SubmissionStatus = Literal["submitted", "found", "failed"]
"""One item of a batch: ``submitted`` (sent now, or an earlier run's analysis attached to),
``found`` (a fresh enough report existed: nothing sent) or ``failed`` (its ``reason`` says why)."""


class SubmissionItem(VTModel):
    """One file or URL of a batch of submissions, and what became of it.

    Attributes:
        target: the file path as given, or the URL as submitted (credentials removed, or
            masked when the URL was refused for carrying them).
        kind: ``file`` or ``url``.
        status: submitted, found or failed.
        verdict: the verdict (``unknown`` when failed or not waited for).
        reason: the verdict's reason, or why the item failed (never the API key).
        result: the submission's result (report, analysis id, outcome) unless it failed.
    """

    target: str
    kind: Literal["file", "url"]
    status: SubmissionStatus
    verdict: str = "unknown"
    reason: str = ""
    result: SubmissionResult | None = None
    _error: Exception | None = PrivateAttr(default=None)

    @property
    def error(self) -> Exception | None:
        """The exception that failed the item (not serialised)."""
        return self._error

    @property
    def shown(self) -> str:
        """The target as a person may read it: a URL defanged, control characters escaped."""
        return display_indicator("url", self.target) if self.kind == "url" else escape_control(self.target)


class SubmissionReport(VTModel):
    """What a batch of submissions returns: one item per file or URL given, in their order.

    Attributes:
        items: the files first, then the URLs, each as given.
    """

    items: list[SubmissionItem] = Field(default_factory=list)

    def count(self, status: SubmissionStatus) -> int:
        """How many items ended with ``status``."""
        return sum(1 for item in self.items if item.status == status)

    @property
    def emulated(self) -> bool:
        """An answer came from the pack's emulator: it is fiction."""
        return any(item.result is not None and item.result.emulated for item in self.items)

    def summary(self) -> str:
        """``N submitted, N found, N failed``."""
        return ", ".join(f"{self.count(s)} {s}" for s in ("submitted", "found", "failed"))


def _failed(kind: Literal["file", "url"], target: str, error: Exception) -> SubmissionItem:
    item = SubmissionItem(
        target=target, kind=kind, status="failed", reason=f"{type(error).__name__}: {error}"
    )
    item._error = error
    return item


async def run_submissions(
    targets: Sequence[tuple[Literal["file", "url"], str]],
    planner: Callable[[Literal["file", "url"], str], SubmissionPlan],
    steps: SubmissionSteps,
    store: CheckpointStore,
    *,
    concurrency: int = 10,
    clock: Clock = SYSTEM_CLOCK,
    wait: bool = True,
    policy: VerdictPolicy | None = None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
    done: Callable[[SubmissionItem], Awaitable[None]] | None = None,
) -> SubmissionReport:
    """Many submissions, each through :func:`run_submission` with its own checkpoint; partial results.

    Every target is planned first (``planner``, usually :func:`plan_submission` with the batch's
    settings): a bad one fails its item without a request. The same submission given twice
    (same file or URL, privacy and options) runs once. At most ``concurrency`` run at a time
    (a submission whose report was read frees its slot while its completed checkpoint is
    written); one that fails (a refusal, a timeout, an API error) fails its item only: a rerun resumes
    each unfinished submission from its checkpoint exactly as a single one would.

    Args:
        targets: ``(kind, file path or URL)`` pairs.
        planner: validates and names one target (raises ``VirusTotalError`` or ``OSError``).
        steps: the requests (:class:`ClientSteps`, or a flow's tasks).
        store: where the checkpoints live.
        concurrency: submissions in flight at once (the key's rate limit still applies).
        clock: what "now" is when judging a report's age.
        wait: False returns right after submitting (or finding the report).
        policy: verdict thresholds.
        log: where the decisions are logged.
        done: called with each finished item (success or failure), as it finishes.

    Raises:
        InvalidParameterError: ``concurrency`` below 1 (no request made).
    """
    if concurrency < 1:
        raise InvalidParameterError("concurrency must be at least 1")
    items: list[SubmissionItem | None] = [None] * len(targets)
    plans: dict[str, SubmissionPlan] = {}
    slots: dict[str, list[int]] = {}
    for at, (kind, target) in enumerate(targets):
        try:
            plan = planner(kind, target)
        except (VirusTotalError, OSError) as error:  # bad input: no request for it
            shown = mask_url_credentials(target) if kind == "url" else target
            items[at] = failed = _failed(kind, shown, error)
            log.warning("%s %s not submitted: %s", kind, failed.shown, failed.reason)
            if done is not None:
                await done(failed)
            continue
        plans.setdefault(plan.checkpoint, plan)
        slots.setdefault(plan.checkpoint, []).append(at)
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        plan = plans[name]
        target = plan.indicator if plan.kind == "url" else str(targets[slots[name][0]][1])
        held = False

        async def free(_: SubmissionRun | None = None) -> None:
            # The report is read: the slot goes to the next submission while this one's
            # completed checkpoint is written (on a busy SQLite-backed server, ~0.9 s).
            nonlocal held
            if held:
                held = False
                gate.release()

        await gate.acquire()
        held = True
        try:
            run = await run_submission(plan, steps, store, clock=clock, wait=wait, log=log, finished=free)
        except Exception as error:  # partial results: this item fails, the batch goes on
            item = _failed(plan.kind, target, error)
            log.warning("%s %s failed: %s", plan.kind, item.shown, item.reason)
        else:
            result = submission_result(run, policy)
            status: SubmissionStatus = (
                "found" if run.outcome is SubmissionOutcome.EXISTING_REPORT else "submitted"
            )
            item = SubmissionItem(
                target=target,
                kind=plan.kind,
                status=status,
                verdict=result.verdict,
                reason=result.reason,
                result=result,
            )
        finally:
            await free()
        for at in slots[name]:
            items[at] = item
        if done is not None:
            await done(item)

    await asyncio.gather(*(one(name) for name in slots))
    return SubmissionReport(items=[item for item in items if item is not None])


def submission_assessment(report: VTObject[Any], policy: VerdictPolicy) -> Assessment:
    """The verdict of a report: engines for public objects, the threat verdict for private files."""
    attributes = report.attributes
    threat = getattr(attributes, "threat_verdict", None)
    if report.type == "private_file":
        verdict = _PRIVATE_VERDICTS.get(str(threat), Verdict.UNKNOWN)
        severity = getattr(getattr(attributes, "threat_severity", None), "threat_severity_level", None)
        sandboxes = getattr(attributes, "sandbox_verdicts", {}) or {}
        reason = f"private scanning threat verdict {threat or 'not available yet'}"
        if severity:
            reason += f", severity {severity}"
        if sandboxes:
            reason += f", {len(sandboxes)} sandbox verdict(s)"
        return Assessment(verdict=verdict, reason=reason)
    return assess_object(report, policy)


def submission_result(run: SubmissionRun, policy: VerdictPolicy | None = None) -> SubmissionResult:
    """The result of a run: the verdict and its reason, or "unknown" when not waited for."""
    plan = run.plan
    common: dict[str, Any] = {
        "kind": plan.kind,
        "indicator": plan.indicator,
        "private": plan.private,
        "outcome": run.outcome,
        "analysis_id": run.analysis_id,
        "link": plan.link,
        "emulated": run.emulated,
    }
    if run.report is None:
        reason = f"analysis {run.analysis_id} submitted, not waited for"
        return SubmissionResult(**common, verdict="unknown", reason=reason)
    assessment = submission_assessment(run.report, policy or VerdictPolicy())
    return SubmissionResult(
        **common, verdict=assessment.verdict.value, reason=assessment.reason, report=run.report
    )


def submission_rows(report: VTObject[Any]) -> list[dict[str, str]]:
    """Table rows: one per engine, or the private threat verdict, severity and sandbox verdicts."""
    attributes = report.attributes
    if report.type == "private_file":
        severity = getattr(attributes, "threat_severity", None)
        rows = [
            {"source": "threat_verdict", "category": str(getattr(attributes, "threat_verdict", None) or "-")},
            {
                "source": "threat_severity",
                "category": str(getattr(severity, "threat_severity_level", None) or "-"),
            },
        ]
        for name, verdict in sorted((getattr(attributes, "sandbox_verdicts", {}) or {}).items()):
            names = ", ".join(verdict.get("malware_names", []) or [])
            rows.append(
                {"source": f"sandbox {name}", "category": f"{verdict.get('category', '-')} {names}".strip()}
            )
        return rows
    results = getattr(attributes, "last_analysis_results", {}) or {}
    return [
        {
            "engine": name,
            "category": result.category,
            "result": result.result or "",
            "method": result.method or "",
        }
        for name, result in sorted(results.items())
    ]
