"""Retrohunt tasks: check YARA locally, create, follow, abort, delete jobs and read their matches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import MAX_RULES_PER_JOB, check_yara_rules
from prefect_virustotal.client.models import MatchingFiles, RetrohuntJob, YaraCheck


@task(name="VirusTotal: validate YARA rules", retries=0, cache_policy=NO_CACHE)
async def validate_yara_rules(rules: str, max_rules: int | None = MAX_RULES_PER_JOB) -> YaraCheck:
    """Compile YARA rules locally (yara-python) and enforce the rule-count limit; no request.

    Args:
        rules: the YARA source.
        max_rules: most rules allowed (300 per retrohunt job); None for no limit.

    Returns:
        The rule names and count; ``compiled`` is False when the rules import the
        VirusTotal-only ``vt`` module and only their structure could be checked.

    Raises:
        YaraSyntaxError: the rules do not compile (carries the rule name and line).
        InvalidParameterError: empty, no rule, or too many rules.
        YaraUnavailableError: yara-python is not installed (install the ``yara`` extra).

    Example:
        ```python
        check = await validate_yara_rules('rule demo { strings: $a = "evil" condition: $a }')
        ```
    """
    check = check_yara_rules(rules, max_rules=max_rules)
    get_run_logger().info("YARA rules compile: %d rule(s) %s", check.number_of_rules, check.rule_names[:10])
    return check


@task(name="VirusTotal: list retrohunt jobs", retries=0, cache_policy=NO_CACHE)
async def list_retrohunt_jobs(
    filter: str | None = None, limit: int | None = 200, *, credentials: VirusTotalCredentials
) -> list[RetrohuntJob]:
    """List the user's retrohunt jobs, newest first.

    Args:
        filter: a VirusTotal filter expression (e.g. ``status:running``).
        limit: most jobs to read (pages of 40); None for all.
        credentials: the VirusTotal credentials block.

    Returns:
        The jobs with their status and progress.

    Example:
        ```python
        jobs = await list_retrohunt_jobs(filter="status:running", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        jobs = await vt.retrohunt.list(filter=filter, limit=limit).collect()
    get_run_logger().info("%d retrohunt job(s) listed", len(jobs))
    return jobs


@task(name="VirusTotal: create retrohunt job", retries=0, cache_policy=NO_CACHE)
async def create_retrohunt_job(
    rules: str,
    corpus: str = "main",
    start: datetime | int | None = None,
    end: datetime | int | None = None,
    notification_email: str | None = None,
    validate: bool = True,
    *,
    credentials: VirusTotalCredentials,
) -> RetrohuntJob:
    """Start a retrohunt job; the rules are compiled locally first.

    Args:
        rules: the YARA rules (at most 300).
        corpus: ``main`` or ``goodware``.
        start: oldest submission date scanned (omitted: as far back as the licence allows).
        end: newest submission date scanned (omitted: now).
        notification_email: one address (the reference's field is one string), or None.
        validate: compile locally before sending (needs the ``yara`` extra).
        credentials: the VirusTotal credentials block.

    Returns:
        The new job (status ``starting``).

    Raises:
        YaraSyntaxError: the rules do not compile (no request made).
        ForbiddenError: the key lacks VirusTotal Intelligence, or all 10 job slots are taken.

    Example:
        ```python
        job = await create_retrohunt_job(rules, corpus="goodware", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        job = await vt.retrohunt.create(
            rules,
            corpus=corpus,
            start=start,
            end=end,
            notification_email=notification_email,
            validate=validate,
        )
    get_run_logger().info(
        "retrohunt job %s created (%s; %s)", job.id, job.attributes.status, vt.request_figures()
    )
    return job


@task(name="VirusTotal: get retrohunt job", retries=0, cache_policy=NO_CACHE)
async def get_retrohunt_job(job_id: str, *, credentials: VirusTotalCredentials) -> RetrohuntJob:
    """Get a retrohunt job: status, progress, eta, scanned bytes and matches so far.

    Args:
        job_id: the job id.
        credentials: the VirusTotal credentials block.

    Returns:
        The job.

    Raises:
        NotFoundError: no such job for this key's user.

    Example:
        ```python
        job = await get_retrohunt_job("alice-1767225600", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        job = await vt.retrohunt.get(job_id)
    attrs = job.attributes
    get_run_logger().info(
        "retrohunt job %s: %s, %.1f%%, %s match(es)",
        job.id,
        attrs.status,
        attrs.progress or 0.0,
        attrs.num_matches,
    )
    return job


@task(name="VirusTotal: abort retrohunt job", retries=0, cache_policy=NO_CACHE)
async def abort_retrohunt_job(job_id: str, *, credentials: VirusTotalCredentials) -> RetrohuntJob:
    """Abort a retrohunt job (it keeps the matches found so far) and return its state.

    Args:
        job_id: the job id.
        credentials: the VirusTotal credentials block.

    Returns:
        The job after the abort (``aborting`` or ``aborted``; unchanged if it had finished).

    Example:
        ```python
        job = await abort_retrohunt_job(job.id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        job = await vt.retrohunt.abort(job_id)
        if job is None:
            job = await vt.retrohunt.get(job_id)
    get_run_logger().info("retrohunt job %s abort requested: %s", job.id, job.attributes.status)
    return job


@task(name="VirusTotal: delete retrohunt job", retries=0, cache_policy=NO_CACHE)
async def delete_retrohunt_job(job_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Delete a retrohunt job and its results.

    Args:
        job_id: the job id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Example:
        ```python
        await delete_retrohunt_job(job.id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.retrohunt.delete(job_id)
    get_run_logger().info("retrohunt job %s deleted", job_id)


@task(name="VirusTotal: list retrohunt matching files", retries=0, cache_policy=NO_CACHE)
async def list_retrohunt_matching_files(
    job_id: str,
    limit: int | None = 1000,
    relationships: Sequence[str] | None = None,
    cursor: str | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> MatchingFiles:
    """Read the files a retrohunt job matched, page by page inside this one task.

    Args:
        job_id: the job id.
        limit: most files to read; None for all.
        relationships: relationships to embed in each file (e.g. ``["contacted_domains"]``).
        cursor: a ``resume_cursor`` from an earlier call, to continue there.
        credentials: the VirusTotal credentials block.

    Returns:
        The files (match context in ``context_attributes``) and where to resume.

    Example:
        ```python
        matches = await list_retrohunt_matching_files(job.id, limit=100, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        pages = vt.retrohunt.list_matching_files(
            job_id, relationships=relationships, limit=limit, cursor=cursor
        )
        files = await pages.collect()
        result = MatchingFiles(
            job_id=job_id,
            files=files,
            resume_cursor=pages.resume_token,
            total=pages.count,
            emulated=vt.emulated,
        )
    get_run_logger().info("retrohunt job %s: %d matching file(s) read", job_id, len(files))
    return result
