"""Retrohunt from start to finish, and a watcher so long jobs need not pin a worker.

* ``retrohunt``: check the YARA locally, create the job (or adopt the same job from an earlier
  run), follow it with a progress artifact, abort it on the deadline or when the run is
  cancelled, put the matching files into a table artifact, optionally delete the job.
* ``watch_retrohunt_jobs``: a short flow for a schedule. It lists the user's jobs and emits
  ``virustotal.retrohunt.finished`` once per finished job (the ids already announced are kept
  in a checkpoint: a Prefect Variable by default).
* ``collect_retrohunt_results``: what an automation runs on that event.

Seams are parameters, not module globals: ``clock`` (what the flow waits on and measures its
deadline with) and ``checkpoints`` (where the job a run follows and the announced jobs are kept).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.artifacts import acreate_progress_artifact, acreate_table_artifact, aupdate_progress_artifact
from prefect.client.schemas.objects import FlowRun, State
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import MissingContextError, TerminationSignal
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import SYSTEM_CLOCK, Clock
from prefect_virustotal.client.models import FileObject, MatchingFiles, RetrohuntJob
from prefect_virustotal.core import (
    CheckpointStore,
    artifact_key,
    checkpoint_fits,
    checkpoint_name,
    short_hash,
    vt_link,
)
from prefect_virustotal.tasks import (
    abort_retrohunt_job,
    create_retrohunt_job,
    delete_retrohunt_job,
    get_retrohunt_job,
    list_retrohunt_jobs,
    list_retrohunt_matching_files,
    validate_yara_rules,
)

from ._checkpoints import VariableCheckpointStore
from ._enrich import EMULATED_BANNER

FINISHED_EVENT = "virustotal.retrohunt.finished"
NOTIFIED_VARIABLE = checkpoint_name("retrohunt", "finished")
"""The checkpoint in which ``watch_retrohunt_jobs`` remembers the jobs it announced."""


def _run_checkpoint(run_id: str) -> str:
    """The checkpoint naming the job a flow run follows (read by the cancellation hook)."""
    return checkpoint_name("retrohunt", "run", run_id)


class RetrohuntReport(BaseModel):
    """What ``retrohunt`` and ``collect_retrohunt_results`` return."""

    job_id: str
    status: str
    adopted: bool = False
    """The job came from an earlier run with the same rules and parameters."""
    stopped: str | None = None
    """Why the flow aborted the job: ``deadline`` or ``cancelled``; None if it ran its course."""
    progress: float | None = None
    num_matches: int | None = None
    matches: list[FileObject] = Field(default_factory=list)
    more_matches: bool = False
    """More files matched than were read (see ``limit``)."""
    deleted: bool = False
    emulated: bool = False

    def rows(self) -> list[dict[str, str]]:
        """One table row per matching file."""
        rows = []
        for item in self.matches:
            attrs = item.attributes
            stats = attrs.last_analysis_stats
            context = item.context_attributes or {}
            rows.append(
                {
                    "file": short_hash(item.id),
                    "name": attrs.meaningful_name or "-",
                    "rule": str(context.get("rule_name") or "-"),
                    "detections": f"{stats.malicious}/{stats.total}" if stats else "-",
                    "type": attrs.type_description or "-",
                    "link": vt_link("file", item.id),
                }
            )
        return rows


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _epoch(value: datetime | int | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def _emails(value: str | list[str] | None) -> set[str]:
    raw = [value] if isinstance(value, str) else list(value or [])
    return {part.strip().lower() for item in raw for part in item.split(",") if part.strip()}


def _same_job(
    job: RetrohuntJob,
    rules: str,
    corpus: str,
    start: int | None,
    end: int | None,
    emails: set[str],
    adopt_finished_within: float,
    now: float,
) -> bool:
    """Whether ``job`` is what this run would create (and is still worth adopting)."""
    attrs = job.attributes
    if attrs.rules.strip() != rules.strip() or (attrs.corpus or "main") != corpus:
        return False
    window = attrs.time_range
    # Only the bounds this run gives are compared: the service fills in the omitted ones.
    if start is not None and (window is None or window.start is None or _epoch(window.start) != start):
        return False
    if end is not None and (window is None or window.end is None or _epoch(window.end) != end):
        return False
    if _emails(attrs.notification_email) != emails:
        return False
    if attrs.status in ("aborting", "aborted"):
        return False
    if attrs.status == "finished":
        finished = attrs.finish_date.timestamp() if attrs.finish_date else 0.0
        return now - finished <= adopt_finished_within
    return True


def _run_id() -> str | None:
    context = FlowRunContext.get()
    return str(context.flow_run.id) if context and context.flow_run else None


async def _remember(store: CheckpointStore, run_id: str | None, job_id: str) -> None:
    """Note the job this run follows, for the cancellation hook of another process."""
    if run_id is not None:
        await store.save(_run_checkpoint(run_id), {"job_id": job_id})


async def _forget(store: CheckpointStore, run_id: str | None) -> None:
    if run_id is not None:
        await store.clear(_run_checkpoint(run_id))


async def abort_job_on_cancellation(flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]) -> None:
    """``on_cancellation`` hook: abort the server-side job of a cancelled ``retrohunt`` run.

    The flow aborts its job itself when it is cancelled while running; this hook covers a run
    whose process was killed (a runner runs the hook afterwards, in its own process). It
    reads the job id from the run's checkpoint in Prefect Variables (runs given another
    ``checkpoints`` store are covered by the flow only), and the credentials from the run's
    parameters when they name a saved block.
    """
    logger = _logger()
    store = VariableCheckpointStore()
    run_id = str(flow_run.id)
    saved = await store.load(_run_checkpoint(run_id))
    named = (flow_run.parameters or {}).get("credentials", "virustotal")
    if not isinstance(saved, dict) or not isinstance(named, str):
        logger.info("no retrohunt job to abort for flow run %s", run_id)
        return
    job_id = str(saved["job_id"])
    job = await abort_retrohunt_job(job_id, credentials=await resolve_credentials(named))
    logger.warning("flow run cancelled: retrohunt job %s aborted (%s)", job_id, job.attributes.status)
    await store.clear(_run_checkpoint(run_id))


async def _collect(
    block: VirusTotalCredentials,
    job: RetrohuntJob,
    *,
    limit: int | None,
    relationships: list[str] | None,
    delete_after: bool,
    adopted: bool = False,
    stopped: str | None = None,
    collection: str | None = None,
) -> RetrohuntReport:
    """Read the matches into a table artifact and a report; delete the job if asked."""
    logger = _logger()
    found: MatchingFiles = await list_retrohunt_matching_files(
        job.id, limit=limit, relationships=relationships, credentials=block
    )
    report = RetrohuntReport(
        job_id=job.id,
        status=job.attributes.status,
        adopted=adopted,
        stopped=stopped,
        progress=job.attributes.progress,
        num_matches=job.attributes.num_matches,
        matches=found.files,
        more_matches=found.resume_cursor is not None,
        emulated=found.emulated,
    )
    found_count = len(report.matches)
    description = f"VirusTotal retrohunt job `{job.id}` ({report.status}): {found_count} matching file(s)."
    if stopped:
        description += f" The flow aborted the job ({stopped}): the matches are partial."
    if report.more_matches:
        description += f" Only the first {len(report.matches)} are shown."
    if report.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    await acreate_table_artifact(
        key=artifact_key("retrohunt-matches", job.id), table=report.rows(), description=description
    )
    if collection is not None and report.matches:
        from ._collections import sync_collection

        await sync_collection(
            collection, indicators=[m.id for m in report.matches], credentials=block, remove_missing=False
        )
    if delete_after:
        await delete_retrohunt_job(job.id, credentials=block)
        report.deleted = True
    logger.info("retrohunt job %s: %s, %d match(es) collected", job.id, report.status, len(report.matches))
    return report


@flow(name="virustotal-retrohunt", log_prints=False, on_cancellation=[abort_job_on_cancellation])
async def retrohunt(
    rules: str,
    corpus: str = "main",
    start: datetime | None = None,
    end: datetime | None = None,
    notification_email: str | None = None,
    timeout: float = 6 * 3600,
    poll_interval: float = 60.0,
    limit: int | None = 1000,
    relationships: list[str] | None = None,
    delete_after: bool = False,
    adopt_existing: bool = True,
    adopt_finished_within: float = 24 * 3600,
    collection: str | None = None,
    checkpoints: CheckpointStore | None = None,
    clock: Clock | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> RetrohuntReport:
    """Run YARA rules over VirusTotal's past corpus and collect the matching files.

    The rules are compiled locally first: a syntax error fails the run before any request.
    A rerun with the same rules and parameters adopts the job of the earlier run (still
    running, or finished within ``adopt_finished_within`` seconds) instead of taking a
    second of the ten job slots. The job is aborted when ``timeout`` seconds pass or the
    run is cancelled; its matches so far are still collected.

    Args:
        rules: the YARA rules (at most 300).
        corpus: ``main`` or ``goodware``.
        start: oldest submission date to scan (omitted: as far back as the licence allows).
        end: newest submission date to scan (omitted: now).
        notification_email: the address VirusTotal e-mails when the job ends (one string).
        timeout: abort the job after this long.
        poll_interval: seconds between checks (shorter near the job's end).
        limit: most matching files read; None for all.
        relationships: relationships to embed in each matching file.
        delete_after: delete the job at VirusTotal once its matches are collected.
        adopt_existing: look for the same job before creating one.
        adopt_finished_within: how recent a finished job must be to be adopted.
        collection: the name or id of an IoC collection to add the matching files to
            (through ``sync_collection``, removing nothing).
        checkpoints: where the run notes the job it follows (for the cancellation hook);
            Prefect Variables by default.
        clock: what the flow waits on and measures its deadline with; the system clock by
            default (a rehearsal or a test passes a fake one).
        credentials: a credentials block, or the name of a saved one.

    Returns:
        The job's final state and its matching files.

    Raises:
        YaraSyntaxError: the rules do not compile (no request made).
        ForbiddenError: the key lacks VirusTotal Intelligence, or all 10 job slots are taken.

    Example:
        ```python
        report = await retrohunt(rules=open("apt.yar").read(), timeout=3600)
        ```
    """
    logger = get_run_logger()
    store = checkpoints or VariableCheckpointStore()
    clock = clock or SYSTEM_CLOCK
    check = await validate_yara_rules(rules)
    block = await resolve_credentials(credentials)
    started = clock.monotonic()
    first, last, emails = _epoch(start), _epoch(end), _emails(notification_email)
    job: RetrohuntJob | None = None
    if adopt_existing:
        for candidate in await list_retrohunt_jobs(credentials=block):
            if _same_job(candidate, rules, corpus, first, last, emails, adopt_finished_within, clock.time()):
                job = candidate
                logger.info(
                    "adopting retrohunt job %s (%s) from an earlier run", job.id, job.attributes.status
                )
                break
    adopted = job is not None
    if job is None:
        job = await create_retrohunt_job(
            rules,
            corpus=corpus,
            start=start,
            end=end,
            notification_email=notification_email,
            credentials=block,
        )
        logger.info("retrohunt job %s created with %d rule(s)", job.id, check.number_of_rules)
    run_id = _run_id()
    await _remember(store, run_id, job.id)
    progress_id = await acreate_progress_artifact(
        progress=job.attributes.progress or 0.0,
        key="virustotal-retrohunt-progress",
        description=f"Retrohunt job `{job.id}`",
    )
    deadline = started + timeout
    stopped: str | None = None
    try:
        while not job.attributes.terminal:
            now = clock.monotonic()
            if now >= deadline:
                stopped = "deadline"
                logger.warning("deadline of %.0fs passed: aborting retrohunt job %s", timeout, job.id)
                job = await abort_retrohunt_job(job.id, credentials=block)
                break
            pause = min(poll_interval, deadline - now)
            if job.attributes.eta_seconds and job.attributes.status == "running":
                pause = min(pause, max(1.0, float(job.attributes.eta_seconds)))
            await clock.sleep(pause)
            job = await get_retrohunt_job(job.id, credentials=block)
            attrs = job.attributes
            logger.info(
                "retrohunt job %s: %s, %.1f%% scanned, %s match(es), eta %ss",
                job.id,
                attrs.status,
                attrs.progress or 0.0,
                attrs.num_matches,
                attrs.eta_seconds,
            )
            await aupdate_progress_artifact(progress_id, progress=min(100.0, attrs.progress or 0.0))
    except (asyncio.CancelledError, TerminationSignal):
        # Cancelled while waiting: free the job slot before going.
        logger.warning("flow run cancelled: aborting retrohunt job %s", job.id)
        await abort_retrohunt_job(job.id, credentials=block)
        await _forget(store, run_id)
        raise
    if job.attributes.status == "finished":
        await aupdate_progress_artifact(progress_id, progress=100.0)
    report = await _collect(
        block,
        job,
        limit=limit,
        relationships=relationships,
        delete_after=delete_after,
        adopted=adopted,
        stopped=stopped,
        collection=collection,
    )
    await _forget(store, run_id)
    return report


@flow(name="virustotal-collect-retrohunt-results", log_prints=False)
async def collect_retrohunt_results(
    job_id: str,
    limit: int | None = 1000,
    relationships: list[str] | None = None,
    delete_after: bool = False,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> RetrohuntReport:
    """Collect the matching files of a retrohunt job, e.g. when the watcher announces it.

    Meant for an automation on ``virustotal.retrohunt.finished`` with the parameter
    ``job_id: "{{ event.resource['vt.job_id'] }}"``.

    Args:
        job_id: the job id.
        limit: most matching files read; None for all.
        relationships: relationships to embed in each matching file.
        delete_after: delete the job once its matches are collected.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        The job's state and its matching files (also as a table artifact).

    Example:
        ```python
        report = await collect_retrohunt_results("alice-1767225600", delete_after=True)
        ```
    """
    block = await resolve_credentials(credentials)
    job = await get_retrohunt_job(job_id, credentials=block)
    return await _collect(block, job, limit=limit, relationships=relationships, delete_after=delete_after)


def _finished_event(job: RetrohuntJob) -> dict[str, Any]:
    attrs = job.attributes
    return {
        "event": FINISHED_EVENT,
        "resource": {
            "prefect.resource.id": f"virustotal.retrohunt-job.{job.id}",
            "prefect.resource.name": job.id,
            "vt.job_id": job.id,
            "vt.num_matches": str(attrs.num_matches or 0),
            "vt.corpus": attrs.corpus or "main",
        },
        "payload": {
            "job_id": job.id,
            "num_matches": attrs.num_matches,
            "scanned_bytes": attrs.scanned_bytes,
            "finish_date": int(attrs.finish_date.timestamp()) if attrs.finish_date else None,
        },
    }


@flow(name="virustotal-watch-retrohunt-jobs", log_prints=False)
async def watch_retrohunt_jobs(
    variable_name: str = NOTIFIED_VARIABLE,
    checkpoints: CheckpointStore | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> list[str]:
    """Check every retrohunt job and announce each finished one once, as a Prefect event.

    Meant for a schedule (every few minutes), so that long jobs need no worker waiting on
    them. Each newly finished job emits ``virustotal.retrohunt.finished`` with the resource
    ``virustotal.retrohunt-job.<id>`` (label ``vt.job_id``); an automation can run
    ``collect_retrohunt_results`` on it. Announced ids are kept in a checkpoint (a Prefect
    Variable by default); ids of jobs no longer listed (deleted) are dropped from it, and the
    oldest go first when it would pass the checkpoint size cap. The event is emitted before
    the checkpoint is written: a crash in between announces a job twice rather than never.

    Args:
        variable_name: the checkpoint (Variable) holding the announced job ids.
        checkpoints: where that checkpoint lives; Prefect Variables by default.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        The ids of the jobs announced by this run.

    Example:
        ```python
        announced = await watch_retrohunt_jobs("virustotal")
        ```
    """
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    store = checkpoints or VariableCheckpointStore()
    jobs = await list_retrohunt_jobs(limit=None, credentials=block)
    saved = await store.load(variable_name)
    announced: list[str] = list(saved.get("announced", [])) if isinstance(saved, dict) else []
    known = set(announced)
    new: list[str] = []
    for job in jobs:
        attrs = job.attributes
        if attrs.status != "finished":
            if attrs.active:
                logger.info(
                    "retrohunt job %s: %s, %.1f%%, %s match(es)",
                    job.id,
                    attrs.status,
                    attrs.progress or 0.0,
                    attrs.num_matches,
                )
            continue
        if job.id in known:
            continue
        emit_event(**_finished_event(job))
        new.append(job.id)
        logger.info("retrohunt job %s finished with %s match(es): event emitted", job.id, attrs.num_matches)
    if new or saved is None:
        listed = {job.id for job in jobs}
        kept = new + [job_id for job_id in announced if job_id in listed]
        while kept and not checkpoint_fits({"announced": kept}):
            kept.pop()
        await store.save(variable_name, {"announced": kept})
    return new
