"""``submit_and_wait``: a file or URL in, a verdict out; idempotent and crash-safe.

The order of things, and why:

1. Everything is validated first (file size and readability, sandbox options, credentials in
   a URL): a bad input costs no request.
2. The submission's identity is ``(sha256 or URL, private, options)``. Its checkpoint is named
   ``virustotal-submit-<hash of the identity>`` (``core.submission_checkpoint``) in the
   checkpoint store (Prefect Variables by default).
3. A checkpoint of an unfinished analysis (a crash, a timeout, a cancelled run) is resumed:
   no upload.
4. Hash first: a fresh enough report (``max_age_days``) means no upload at all. A stale one is
   re-analysed by hash (``/files/{id}/analyse``): no upload either.
5. Only then is the file uploaded (never publicly when ``confidential``), and the analysis id is
   checkpointed *before* waiting. A crash between the upload and the checkpoint is covered by
   step 4: the uploaded file is known by its hash on the rerun.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_link_artifact, acreate_table_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import (
    SYSTEM_CLOCK,
    Assessment,
    Clock,
    InvalidParameterError,
    PublicUploadRefusedError,
    UploadSource,
    Verdict,
    VerdictPolicy,
    assess_object,
    check_url_for_submission,
    private_options,
    url_has_credentials,
)
from prefect_virustotal.client.models import (
    PrivateScanOptions,
    SubmissionOutcome,
    SubmissionResult,
    VTObject,
)
from prefect_virustotal.core import (
    CheckpointStore,
    artifact_key,
    defang_text,
    display_indicator,
    submission_checkpoint,
    vt_link,
)
from prefect_virustotal.tasks import (
    find_report,
    get_analysis_item,
    rescan_file,
    rescan_private_file,
    scan_file,
    scan_private_file,
    scan_private_url,
    scan_url,
    wait_for_analysis,
)

from ._checkpoints import VariableCheckpointStore
from ._enrich import EMULATED_BANNER

RescanPolicy = Literal["never", "stale", "always"]
_PRIVATE_VERDICTS = {
    "VERDICT_MALICIOUS": Verdict.MALICIOUS,
    "VERDICT_SUSPICIOUS": Verdict.SUSPICIOUS,
    "VERDICT_UNDETECTED": Verdict.CLEAN,
    "VERDICT_UNKNOWN": Verdict.UNKNOWN,
}


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), tz=timezone.utc)


def _fresh(report: VTObject[Any], max_age_days: float, now: datetime) -> bool:
    analysed = getattr(report.attributes, "last_analysis_date", None)
    return isinstance(analysed, datetime) and now - analysed <= timedelta(days=max_age_days)


def _assessment(report: VTObject[Any], policy: VerdictPolicy) -> Assessment:
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


def _rows(report: VTObject[Any]) -> list[dict[str, str]]:
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


def _link(kind: str, indicator: str, private: bool) -> str:
    return vt_link(kind, indicator, private=private)


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
    poll_factor: float | None = None,
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
        credentials: a credentials block, or the name of a saved one.
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
        poll_factor: geometric growth of the pause; None (default) pauses a tenth of the
            analysis' age, so its end is seen at most 10 % late.
        policy: verdict thresholds for engine results.
        checkpoints: where the submission's checkpoint lives; Prefect Variables by default.
        clock: what "now" is when judging a report's age; the system clock by default.
        wait: False submits (or finds the existing report) and returns at once: the
            analysis id is the result (verdict ``unknown``), and a later run attaches to it.

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
    given = [
        name for name, value in (("file_path", file_path), ("file_bytes", file_bytes), ("url", url)) if value
    ]
    if len(given) != 1:
        raise InvalidParameterError("give exactly one of file_path, file_bytes or url")
    if options is not None and not private:
        raise InvalidParameterError("sandbox options apply to private scanning only (private=True)")
    if max_age_days < 0 or timeout < 0:
        raise InvalidParameterError("max_age_days and timeout must not be negative")
    opts = private_options(options) if private else None
    policy = policy or VerdictPolicy()
    store = checkpoints or VariableCheckpointStore()
    clock = clock or SYSTEM_CLOCK

    # 1. Validate and identify, before any request.
    source: UploadSource | None = None
    if url:
        kind: Literal["file", "url"] = "url"
        indicator = check_url_for_submission(url, strip_credentials=strip_url_credentials)
        if url_has_credentials(url):
            logger.warning("credentials were removed from the URL before submitting it")
    else:
        kind = "file"
        source = UploadSource.of(Path(file_path) if file_path else (file_bytes or b""))
        indicator = source.sha256()
    block = await resolve_credentials(credentials)
    name = submission_checkpoint(kind, indicator, private, opts)

    report: VTObject[Any] | None = None
    analysis_id: str | None = None
    outcome = SubmissionOutcome.SUBMITTED
    emulated = False

    # 2. Resume an unfinished analysis of the same submission.
    checkpoint: Any = await store.load(name)
    if (
        isinstance(checkpoint, dict)
        and checkpoint.get("status") != "completed"
        and checkpoint.get("analysis_id")
    ):
        analysis_id = str(checkpoint["analysis_id"])
        outcome = SubmissionOutcome.ATTACHED
        logger.info("resuming analysis %s of an earlier run (checkpoint %s)", analysis_id, name)
    else:
        # 3. Hash first.
        existing: VTObject[Any] | None = None
        if rescan != "always":
            existing = await _existing_report(block, kind, indicator, private)
        if existing is not None and (rescan == "never" or _fresh(existing, max_age_days, _now(clock))):
            report, outcome = existing, SubmissionOutcome.EXISTING_REPORT
            logger.info("a fresh report exists for this %s: nothing submitted", kind)
        else:
            if kind == "file" and confidential and not private:
                raise PublicUploadRefusedError(
                    indicator,
                    "the file is confidential and has no usable public report; it is never uploaded "
                    "publicly: submit it with private=True",
                )
            descriptor = await _submit(
                block, kind, indicator, source, private, opts, known=existing is not None
            )
            analysis_id = descriptor.id
            emulated = bool((descriptor.meta or {}).get("emulated"))
            # 4. Checkpoint BEFORE waiting: a rerun attaches to this analysis.
            await store.save(
                name,
                {
                    "analysis_id": analysis_id,
                    "kind": kind,
                    "private": private,
                    "status": "submitted",
                    "submitted_at": _now(clock).isoformat(),
                },
            )
            logger.info("submitted; analysis %s checkpointed as %s", analysis_id, name)

    if report is None and not wait:
        assert analysis_id is not None
        logger.info("analysis %s not waited for (wait=False): run again to attach to it", analysis_id)
        return SubmissionResult(
            kind=kind,
            indicator=indicator,
            private=private,
            outcome=outcome,
            analysis_id=analysis_id,
            verdict="unknown",
            reason=f"analysis {analysis_id} submitted, not waited for",
            link=_link(kind, indicator, private),
            emulated=emulated,
        )
    if report is None:
        assert analysis_id is not None
        analysis = await wait_for_analysis(
            analysis_id,
            private=private,
            timeout=timeout,
            initial_interval=initial_interval,
            max_interval=max_interval,
            factor=poll_factor,
            credentials=block,
        )
        emulated = bool((analysis.meta or {}).get("emulated"))
        report = await get_analysis_item(analysis_id, private=private, credentials=block)
        await store.save(
            name, {"analysis_id": analysis_id, "kind": kind, "private": private, "status": "completed"}
        )
    emulated = emulated or bool((report.meta or {}).get("emulated"))
    return await _publish(report, kind, indicator, private, outcome, analysis_id, policy, emulated)


async def _existing_report(
    block: VirusTotalCredentials, kind: str, indicator: str, private: bool
) -> VTObject[Any] | None:
    """The current report, or None when VirusTotal has none (an answer, not a failure)."""
    return await find_report(kind, indicator, private, credentials=block)


async def _submit(
    block: VirusTotalCredentials,
    kind: str,
    indicator: str,
    source: UploadSource | None,
    private: bool,
    options: PrivateScanOptions | None,
    *,
    known: bool,
) -> VTObject[Any]:
    """Submit: re-analyse a known file by hash, else upload it; URLs are always posted."""
    if kind == "url":
        if private:
            return await scan_private_url(
                indicator,
                retention_period_days=options.retention_period_days if options else None,
                storage_region=options.storage_region if options else None,
                credentials=block,
            )
        return await scan_url(indicator, credentials=block)
    if known:
        return await (
            rescan_private_file(indicator, options, credentials=block)
            if private
            else rescan_file(indicator, credentials=block)
        )
    assert source is not None
    file: str | bytes = str(source.path) if source.path is not None else (source.content or b"")
    if private:
        return await scan_private_file(
            file, options, filename=source.name, expected_sha256=indicator, credentials=block
        )
    return await scan_file(file, filename=source.name, expected_sha256=indicator, credentials=block)


async def _publish(
    report: VTObject[Any],
    kind: Literal["file", "url"],
    indicator: str,
    private: bool,
    outcome: SubmissionOutcome,
    analysis_id: str | None,
    policy: VerdictPolicy,
    emulated: bool,
) -> SubmissionResult:
    """Verdict, table and link artifacts, and the ``virustotal.verdict.<verdict>`` event."""
    logger = get_run_logger()
    assessment = _assessment(report, policy)
    link = _link(kind, indicator, private)
    result = SubmissionResult(
        kind=kind,
        indicator=indicator,
        private=private,
        outcome=outcome,
        analysis_id=analysis_id,
        verdict=assessment.verdict.value,
        reason=assessment.reason,
        report=report,
        link=link,
        emulated=emulated,
    )
    shown = display_indicator(kind, indicator)
    description = (
        f"VirusTotal verdict for {kind} `{shown}`: **{result.verdict}** ({defang_text(result.reason)})."
    )
    if emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    rows = _rows(report) or [{"engine": "-", "category": "no engine results"}]
    await acreate_table_artifact(
        key=artifact_key("submission", indicator), table=rows, description=description
    )
    await acreate_link_artifact(
        link,
        link_text=f"VirusTotal page of {kind} {shown[:80]}",
        key=artifact_key("submission-link", indicator),
        description=description,
    )
    resource = {
        "prefect.resource.id": f"virustotal.{kind}.{report.id}",
        "prefect.resource.name": indicator[:200],
        "vt.kind": kind,
        "vt.private": str(private).lower(),
        f"vt.{'sha256' if kind == 'file' else 'url'}": indicator,
    }
    emit_event(
        event=f"virustotal.verdict.{result.verdict}",
        resource=resource,
        payload={
            "reason": result.reason,
            "analysis_id": analysis_id,
            "outcome": outcome.value,
            "link": link,
            "emulated": emulated,
        },
    )
    logger.info("%s %s: %s (%s)", kind, indicator[:80], result.verdict, result.reason)
    return result
