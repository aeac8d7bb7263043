"""Scanning tasks: submit files and URLs (public or private), wait for analyses, read results.

Every submission task is a write: ``retries=0`` (the client retries only what is safe to
repeat, and an upload is not) and no cache.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import (
    AnalysisObject,
    PrivateFileObject,
    PrivateScanOptions,
    PrivateURLObject,
    VTObject,
)
from prefect_virustotal.core import (
    CompletedAnalysis,
    SubmissionPlan,
    WaitSettings,
    mark_emulated,
    submit_plan,
)
from prefect_virustotal.core import find_report as find_current_report
from prefect_virustotal.core import wait_for_report as wait_then_read

FileArg = str | PathLike[str] | bytes


def _describe(file: FileArg) -> str:
    """A log-safe description of a file argument: its name or size, never its content."""
    return f"{len(file)} bytes" if isinstance(file, bytes) else Path(file).name


@task(name="VirusTotal: scan file", retries=0, cache_policy=NO_CACHE)
async def scan_file(
    file: FileArg,
    password: str | None = None,
    filename: str | None = None,
    expected_sha256: str | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> VTObject[Any]:
    """Upload a file for public analysis, streamed from disk (an upload URL above 32 MB).

    Anything uploaded here is visible to every VirusTotal user; use
    :func:`scan_private_file` for confidential files.

    Args:
        file: a path or bytes, up to 650 MB.
        password: the password of a ZIP to unpack.
        filename: the name to report (the path's name by default).
        expected_sha256: the SHA-256 that was looked up; the upload fails if the bytes sent
            differ (the file changed in between).
        credentials: the VirusTotal credentials block.

    Returns:
        The ``analysis`` descriptor; its ``id`` is what :func:`wait_for_analysis` takes.

    Raises:
        InvalidParameterError: missing, unreadable, empty or oversized (no request made).
        ContentChangedError: the bytes uploaded are not those of ``expected_sha256``.

    Example:
        ```python
        analysis = await scan_file("/cases/4711/sample.bin", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(
            vt,
            await vt.files.upload(
                file, password=password, filename=filename, expected_sha256=expected_sha256
            ),
        )
    get_run_logger().info("uploaded %s: analysis %s (%s)", _describe(file), analysis.id, vt.request_figures())
    return analysis


@task(name="VirusTotal: scan URL", retries=0, cache_policy=NO_CACHE)
async def scan_url(
    url: str, strip_credentials: bool = False, *, credentials: VirusTotalCredentials
) -> VTObject[Any]:
    """Submit a URL for public analysis.

    Args:
        url: the URL; one carrying ``user:password@`` is refused unless ``strip_credentials``.
        strip_credentials: submit the URL without its credentials (a warning is logged).
        credentials: the VirusTotal credentials block.

    Returns:
        The ``analysis`` descriptor.

    Raises:
        InvalidIndicatorError: not a URL, or it carries credentials (no request made).

    Example:
        ```python
        analysis = await scan_url("http://login-example.test/verify", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(vt, await vt.urls.scan(url, strip_credentials=strip_credentials))
    get_run_logger().info("submitted a URL: analysis %s", analysis.id)
    return analysis


@task(name="VirusTotal: analyse file", retries=0, cache_policy=NO_CACHE)
async def analyse_file(file_hash: str, *, credentials: VirusTotalCredentials) -> VTObject[Any]:
    """Ask VirusTotal to analyse a file it already has again.

    Args:
        file_hash: MD5, SHA-1 or SHA-256.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``analysis`` descriptor.

    Raises:
        NotFoundError: VirusTotal does not have the file.

    Example:
        ```python
        analysis = await analyse_file(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(vt, await vt.files.analyse(file_hash))
    get_run_logger().info("re-analysis of file %s: %s", file_hash, analysis.id)
    return analysis


@task(name="VirusTotal: analyse URL", retries=0, cache_policy=NO_CACHE)
async def analyse_url(url: str, *, credentials: VirusTotalCredentials) -> VTObject[Any]:
    """Ask VirusTotal to analyse a URL it already knows again.

    Args:
        url: the URL, its id or its SHA-256.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``analysis`` descriptor.

    Raises:
        NotFoundError: VirusTotal does not know the URL.

    Example:
        ```python
        analysis = await analyse_url("http://login-example.test/verify", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(vt, await vt.urls.analyse(url))
    get_run_logger().info("re-analysis of a URL: %s", analysis.id)
    return analysis


@task(name="VirusTotal: scan private file", retries=0, cache_policy=NO_CACHE)
async def scan_private_file(
    file: FileArg,
    options: PrivateScanOptions | None = None,
    filename: str | None = None,
    expected_sha256: str | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> VTObject[Any]:
    """Upload a file for private scanning, with sandbox options (validated before sending).

    Args:
        file: a path or bytes, up to 650 MB, streamed.
        options: sandbox options (retention 1-28 days, interaction timeout 60-1800 s, ...).
        filename: the name to report.
        expected_sha256: the SHA-256 that was looked up; the upload fails if the bytes sent
            differ (the file changed in between).
        credentials: the VirusTotal credentials block (a Private Scanning licence).

    Returns:
        The ``private_analysis`` descriptor.

    Raises:
        InvalidParameterError: a bad option or file (no request made).
        ContentChangedError: the bytes uploaded are not those of ``expected_sha256``.
        ForbiddenError: the key has no Private Scanning licence.

    Example:
        ```python
        options = PrivateScanOptions(retention_period_days=7, enable_internet=True)
        analysis = await scan_private_file("/cases/4711/sample.bin", options, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(
            vt, await vt.private.upload(file, options, filename=filename, expected_sha256=expected_sha256)
        )
    get_run_logger().info(
        "uploaded %s privately: analysis %s (%s)", _describe(file), analysis.id, vt.request_figures()
    )
    return analysis


@task(name="VirusTotal: scan private URL", retries=0, cache_policy=NO_CACHE)
async def scan_private_url(
    url: str,
    retention_period_days: int | None = None,
    storage_region: str | None = None,
    strip_credentials: bool = False,
    *,
    credentials: VirusTotalCredentials,
) -> VTObject[Any]:
    """Submit a URL for private scanning.

    Args:
        url: the URL; credentials in it are refused unless ``strip_credentials``.
        retention_period_days: days to keep the report, 1 to 28.
        storage_region: ``US``, ``CA``, ``EU`` or ``GB``.
        strip_credentials: submit the URL without its credentials (a warning is logged).
        credentials: the VirusTotal credentials block (a Private Scanning licence).

    Returns:
        The ``private_analysis`` descriptor.

    Raises:
        InvalidIndicatorError: not a URL, or it carries credentials (no request made).

    Example:
        ```python
        analysis = await scan_private_url("https://intranet-lookalike.test/", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = await vt.private.scan_url(
            url,
            retention_period_days=retention_period_days,
            storage_region=storage_region,
            strip_credentials=strip_credentials,
        )
        mark_emulated(vt, analysis)
    get_run_logger().info("submitted a URL privately: analysis %s", analysis.id)
    return analysis


@task(name="VirusTotal: analyse private file", retries=0, cache_policy=NO_CACHE)
async def analyse_private_file(
    sha256: str, options: PrivateScanOptions | None = None, *, credentials: VirusTotalCredentials
) -> VTObject[Any]:
    """Analyse a private file again, optionally with other sandbox options.

    Args:
        sha256: the private file's SHA-256.
        options: sandbox options for this analysis.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``private_analysis`` descriptor.

    Raises:
        NotFoundError: no such private file (or its retention expired).

    Example:
        ```python
        options = PrivateScanOptions(enable_internet=True)
        analysis = await analyse_private_file(sha256, options, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(vt, await vt.private.analyse(sha256, options))
    get_run_logger().info("private re-analysis of %s: %s", sha256, analysis.id)
    return analysis


@task(name="VirusTotal: wait for analysis", retries=0, cache_policy=NO_CACHE)
async def wait_for_analysis(
    analysis_id: str,
    private: bool = False,
    timeout: float = 900.0,
    initial_interval: float = 3.0,
    max_interval: float = 60.0,
    factor: float | None = None,
    poll_share: float = 0.25,
    precision: float = 0.1,
    *,
    credentials: VirusTotalCredentials,
) -> AnalysisObject:
    """Wait for an analysis to complete, within a deadline, without starving the quota.

    One task run for the whole wait. Polls start at once, then pause ``precision`` of the
    analysis' age (between ``initial_interval`` and ``max_interval``), so the completion is
    seen at most that share late; given a ``factor``, pauses grow geometrically by it instead.
    The block's ``requests_per_minute`` sets a floor so that polls use at most ``poll_share``
    of the key's minute quota (a public key: one poll a minute). ``NotAvailableYet`` and
    transient errors are ridden out.

    Args:
        analysis_id: the id a submission returned.
        private: a private analysis.
        timeout: seconds before giving up.
        initial_interval: the shortest pause between polls.
        max_interval: the longest pause.
        factor: geometric growth of the pause; None for the proportional schedule.
        poll_share: share of the minute quota polls may use.
        precision: the pause as a share of the analysis' age.
        credentials: the VirusTotal credentials block.

    Returns:
        The completed analysis (a ``private_analysis`` when ``private``).

    Raises:
        AnalysisTimeoutError: the deadline passed; ``analysis_id`` says what to resume.

    Example:
        ```python
        done = await wait_for_analysis(analysis.id, timeout=1800, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        result = await vt.analyses.wait(
            analysis_id,
            timeout=timeout,
            initial_interval=initial_interval,
            max_interval=max_interval,
            factor=factor,
            poll_share=poll_share,
            private=private,
            precision=precision,
        )
        mark_emulated(vt, result)
    get_run_logger().info("analysis %s completed: %s", analysis_id, result.attributes.stats)
    return result


@task(name="VirusTotal: wait for report", retries=0, cache_policy=NO_CACHE)
async def wait_for_report(
    analysis_id: str,
    private: bool = False,
    timeout: float = 900.0,
    initial_interval: float = 3.0,
    max_interval: float = 60.0,
    factor: float | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> CompletedAnalysis:
    """Wait for an analysis to complete, then get the report of the file or URL it is about.

    :func:`wait_for_analysis` and :func:`get_analysis_item` in one task run and on one
    connection: what a submission needs once it was sent. The wait is that of
    :func:`wait_for_analysis` with its default ``poll_share`` and ``precision`` (polls at once,
    then a tenth of the analysis' age, or growing by ``factor``; a floor from the block's quota;
    transient errors ridden out); the report is read as soon as the analysis completed.

    Args:
        analysis_id: the id a submission returned.
        private: a private analysis (the report is a ``private_file`` or ``private_url``).
        timeout: seconds before giving up waiting.
        initial_interval: the shortest pause between polls.
        max_interval: the longest pause.
        factor: geometric growth of the pause; None for the proportional schedule.
        credentials: the VirusTotal credentials block.

    Returns:
        The completed analysis and the report.

    Raises:
        AnalysisTimeoutError: the deadline passed; ``analysis_id`` says what to resume.

    Example:
        ```python
        done = await wait_for_report(analysis.id, timeout=1800, credentials=credentials)
        print(done.report.id, done.analysis.attributes.stats)
        ```
    """
    waiting = WaitSettings(
        timeout=timeout, initial_interval=initial_interval, max_interval=max_interval, factor=factor
    )
    async with credentials.get_client() as vt:
        done = await wait_then_read(vt, analysis_id, private=private, waiting=waiting)
    get_run_logger().info(
        "analysis %s completed (%s); it is about %s %s",
        analysis_id,
        done.analysis.attributes.stats,
        done.report.type,
        done.report.id,
    )
    return done


@task(name="VirusTotal: get analysis item", retries=0, cache_policy=NO_CACHE)
async def get_analysis_item(
    analysis_id: str, private: bool = False, *, credentials: VirusTotalCredentials
) -> VTObject[Any]:
    """Get the file or URL report an analysis is about.

    Args:
        analysis_id: the analysis id.
        private: a private analysis (the item is a ``private_file`` or ``private_url``).
        credentials: the VirusTotal credentials block.

    Returns:
        The analysed object.

    Example:
        ```python
        report = await get_analysis_item(analysis.id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        item = await (
            vt.private.get_analysis_item(analysis_id) if private else vt.analyses.get_item(analysis_id)
        )
        mark_emulated(vt, item)
    get_run_logger().info("analysis %s is about %s %s", analysis_id, item.type, item.id)
    return item


@task(name="VirusTotal: get private file report", retries=0, cache_policy=NO_CACHE)
async def get_private_file_report(sha256: str, *, credentials: VirusTotalCredentials) -> PrivateFileObject:
    """Get a private file's report: threat verdict, severity, sandbox verdicts.

    Args:
        sha256: the file's SHA-256.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``private_file`` object.

    Raises:
        NotFoundError: no such private file (or its retention expired).

    Example:
        ```python
        report = await get_private_file_report(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = mark_emulated(vt, await vt.private.get_file(sha256))
    get_run_logger().info("private file %s: %s", report.id, report.attributes.threat_verdict)
    return report


@task(name="VirusTotal: get private URL report", retries=0, cache_policy=NO_CACHE)
async def get_private_url_report(url: str, *, credentials: VirusTotalCredentials) -> PrivateURLObject:
    """Get a private URL's report.

    Args:
        url: the URL, its id or its SHA-256.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``private_url`` object.

    Raises:
        NotFoundError: no such private URL.

    Example:
        ```python
        report = await get_private_url_report("https://intranet-lookalike.test/", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = mark_emulated(vt, await vt.private.get_url(url))
    get_run_logger().info("private url %s: %s", report.id, report.attributes.last_analysis_stats)
    return report


@task(name="VirusTotal: delete private file", retries=0, cache_policy=NO_CACHE)
async def delete_private_file(
    sha256: str, only_from_storage: bool = False, *, credentials: VirusTotalCredentials
) -> None:
    """Delete a private file and its analyses (or only its stored bytes).

    Args:
        sha256: the file's SHA-256.
        only_from_storage: keep the reports, delete the bytes.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Raises:
        NotFoundError: no such private file.

    Example:
        ```python
        await delete_private_file(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.private.delete(sha256, only_from_storage=only_from_storage)
    get_run_logger().info("deleted private file %s%s", sha256, " (storage only)" if only_from_storage else "")


@task(name="VirusTotal: list private files", retries=0, cache_policy=NO_CACHE)
async def list_private_files(limit: int = 100, *, credentials: VirusTotalCredentials) -> list[VTObject[Any]]:
    """List the group's private files, ordered by SHA-256.

    Args:
        limit: the most files to return.
        credentials: the VirusTotal credentials block.

    Returns:
        ``private_file`` objects.

    Example:
        ```python
        files = await list_private_files(limit=40, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        files = [item async for item in vt.private.list_files(limit=limit)]
    get_run_logger().info("listed %d private files", len(files))
    return files


@task(name="VirusTotal: find report", retries=0, cache_policy=NO_CACHE)
async def find_report(
    kind: str, indicator: str, private: bool = False, *, credentials: VirusTotalCredentials
) -> VTObject[Any] | None:
    """The current report of a file or URL, public or private; None when VirusTotal has none.

    A file or URL never seen (or a private file not scanned yet) is an expected answer, not a
    failure: the task run stays Completed and logs at INFO.

    Args:
        kind: ``file`` or ``url``.
        indicator: the file's hash, or the URL (or its id).
        private: the private-scanning report.
        credentials: the VirusTotal credentials block.

    Returns:
        The report, or None.

    Example:
        ```python
        report = await find_report("file", sha256, private=True, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        found = await find_current_report(vt, kind, indicator, private)
        if found is None:
            get_run_logger().info(
                "no %s%s report for %s (yet)", "private " if private else "", kind, indicator
            )
            return None
        report = mark_emulated(vt, found)
    get_run_logger().info("%s report found: %s", kind, report.id)
    return report


@task(name="VirusTotal: submit for analysis", retries=0, cache_policy=NO_CACHE)
async def submit_for_analysis(
    plan: SubmissionPlan, known: bool = False, *, credentials: VirusTotalCredentials
) -> VTObject[Any]:
    """Send a planned submission: re-analyse a known file by hash, else upload it; post a URL.

    The plan (``core.plan_submission``) was validated before; what is sent follows from it:
    public or private, file or URL, sandbox options. The uploaded bytes are hashed as they go
    and must be those the plan hashed.

    Args:
        plan: the validated submission.
        known: VirusTotal has the file: re-analyse it by hash, no upload.
        credentials: the VirusTotal credentials block.

    Returns:
        The ``analysis`` (or ``private_analysis``) descriptor.

    Raises:
        ContentChangedError: the file changed since it was hashed.

    Example:
        ```python
        analysis = await submit_for_analysis(plan_submission(file_path="sample.bin"), credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = mark_emulated(vt, await submit_plan(vt, plan, known=known))
    how = (" privately" if plan.private else "") + (" by hash" if known and plan.kind == "file" else "")
    get_run_logger().info("submitted a %s%s: analysis %s", plan.kind, how, analysis.id)
    return analysis
