"""Triage without Prefect: the runbook's sequence, the case's items, what was skipped and why, the report.

:func:`run_triage` runs the runbook over a :class:`TriageSteps` (enrichment, one submission,
sandbox behaviour, expansion, the case collection): :class:`ClientTriageSteps` calls the core's
engines on one client (the command line, scripts); the ``triage`` flow passes its subflows and
tasks. Everything decided between the steps is here: which indicators a case names, which
items are submitted (private first, public only when allowed), expanded or collected, how a
failure becomes a line under "Skipped", the summary verdict and the markdown report.

Rows of the enrichment (``EnrichedIndicator``) are read in ``triage_items`` only, through
their public attributes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from prefect_virustotal.client import (
    ForbiddenError,
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    Verdict,
    VerdictPolicy,
    VirusTotalClient,
    VirusTotalError,
    extract_indicators,
    quota_refusal,
    redact_all,
    redact_url_credentials,
    sha256_of_file,
)

from ._attack import BehaviourProfile, behaviour_markdown, behaviour_profile, behaviour_seeds
from ._checkpoints import CheckpointStore
from ._collections import ClientCollectionSteps, CollectionSyncReport, run_collection_sync
from ._display import (
    EMULATED_BANNER,
    VERDICT_ORDER,
    defang,
    defang_text,
    display_indicator,
    markdown_cell,
    markdown_link,
    relationship_summary,
    shorten_hashes,
    verdict_counts,
    verdict_rank,
)
from ._enrich import EnrichedIndicator, EnrichmentReport, enrich_chunk, enrich_in_chunks, gather_indicators
from ._graph import expand_graph, level_fetcher
from ._graph_model import IOCGraph
from ._results import LookupStatus, SubmissionResult
from ._submission import ClientSteps, WaitSettings, plan_submission, run_submission, submission_result

logger = logging.getLogger(__name__)

SkipReason = Literal["invalid", "budget", "quota", "error", "policy", "unreadable", "internal"]
"""Why a piece of the runbook was not done."""

_GAP_REASONS: dict[str, SkipReason] = {
    "request_budget": "budget",
    "quota": "quota",
    "invalid": "invalid",
    "tier": "policy",  # a relationship the key's licence does not cover, skipped on purpose
    "internal": "internal",
}
_STATUS_REASONS: dict[LookupStatus, SkipReason] = {
    LookupStatus.INVALID: "invalid",
    LookupStatus.QUOTA_LIMITED: "quota",
    LookupStatus.ERROR: "error",
    LookupStatus.SKIPPED: "internal",
}
_BAD = ("malicious", "suspicious")
_PRIVATE = "scanned privately"


class TriageItem(BaseModel):
    """One indicator of the case and what the runbook found."""

    indicator: str
    kind: str | None = None
    verdict: str
    detections: str = "-"
    reason: str = ""
    source: str = "ticket"
    """Where it came from: ``ticket`` (the text), ``file`` (an attached file) or ``expansion``."""
    action: str = "looked up"
    """What was done: looked up, scanned privately, scanned publicly, not submitted."""
    link: str | None = None


class SkippedWork(BaseModel):
    """Something the runbook did not do, and why."""

    what: str
    reason: SkipReason
    detail: str


class TriageReport(BaseModel):
    """What ``triage`` returns; ``markdown`` is the report artifact's text."""

    case: str
    summary_verdict: str
    items: list[TriageItem] = Field(default_factory=list)
    graph: IOCGraph | None = None
    collection_link: str | None = None
    skipped: list[SkippedWork] = Field(default_factory=list)
    emulated: bool = False
    markdown: str = ""
    behaviours: dict[str, BehaviourProfile] = Field(default_factory=dict)
    """Sandbox behaviour (top ATT&CK techniques, verdicts, contacts) of malicious and suspicious files."""

    @property
    def counts(self) -> dict[str, int]:
        """How many items got each verdict."""
        return dict(Counter(item.verdict for item in self.items))


@dataclass
class CaseInputs:
    """What a case names before anything is sent: indicators, attached files' hashes, and
    the attachments that could not be read."""

    text: str
    """The ticket's text, credentials in its URLs removed."""
    given: list[str]
    """The indicators given one by one, credentials in URLs removed."""
    wanted: list[str]
    """Everything to look up, once each: given, then found in the text, then the files' hashes
    (the text's indicators are left out when the ticket is read from a file by the lookup)."""
    file_hashes: dict[str, Path] = field(default_factory=dict)
    skipped: list[SkippedWork] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    """URLs that carried credentials, masked (to warn of: the credentials are not sent)."""


def case_slug(case: str) -> str:
    """A lowercase, dash-separated form of the case name (artifact keys, collection names)."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-")
    if not slug:
        raise InvalidParameterError("the case name needs at least one letter or digit")
    return slug[:60]


def gather_case(
    text: str | None, files: Iterable[str] | None, indicators: Iterable[str] | None, *, text_in_file: bool
) -> CaseInputs:
    """Hash the attached files and list the case's indicators; credentials in URLs removed.

    Args:
        text: the ticket's text.
        files: paths of attached files (hashed locally, in chunks; an unreadable one is skipped).
        indicators: indicators given one by one.
        text_in_file: the ticket is read from a file by the lookup: its indicators are not
            extracted here.
    """
    cleaned, masked = redact_url_credentials(text or "")
    given, masked_given = redact_all(indicators or [])
    found = [] if text_in_file else extract_indicators(cleaned)
    inputs = CaseInputs(text=cleaned, given=given, wanted=[], masked=masked + masked_given)
    for raw in files or []:
        path = Path(raw)
        try:
            inputs.file_hashes[sha256_of_file(path)] = path
        except OSError as exc:
            inputs.skipped.append(
                SkippedWork(what=raw, reason="unreadable", detail=f"{type(exc).__name__}: {exc.strerror}")
            )
    inputs.wanted = list(dict.fromkeys([*given, *(i.value for i in found), *inputs.file_hashes]))
    return inputs


def triage_items(
    enriched: Sequence[EnrichedIndicator], files: Collection[str]
) -> tuple[list[TriageItem], list[SkippedWork], set[str]]:
    """The case's items from the enrichment rows.

    Args:
        enriched: the enrichment's rows.
        files: the attached files' hashes (their items' source is ``file``).

    Returns:
        The items, a skip for each row that was invalid, refused, failed or not sent, and
        the indicators VirusTotal does not know (candidates for a submission).
    """
    items: list[TriageItem] = []
    skipped: list[SkippedWork] = []
    not_found: set[str] = set()
    for entry in enriched:
        lookup, found = entry.lookup, entry.assessment
        items.append(
            TriageItem(
                indicator=lookup.indicator,
                kind=lookup.kind,
                verdict=entry.verdict,
                detections=found.ratio if found else "-",
                reason=found.reason if found else (lookup.error or ""),
                source="file" if lookup.indicator in files else "ticket",
                link=lookup.link,
            )
        )
        if lookup.status in _STATUS_REASONS:
            skipped.append(
                SkippedWork(
                    what=lookup.indicator, reason=_STATUS_REASONS[lookup.status], detail=lookup.error or ""
                )
            )
        elif lookup.status == LookupStatus.NOT_FOUND:
            not_found.add(lookup.indicator)
    return items, skipped, not_found


def submission_candidates(
    items: Sequence[TriageItem], not_found: Collection[str], files: Collection[str], *, submit: bool
) -> list[TriageItem]:
    """The unknown items that can be submitted: attached files and URLs (when ``submit``).

    The other unknown items are marked "not submitted" (a file hash with no file attached
    says so in its reason).
    """
    candidates = [
        item
        for item in items
        if submit and item.indicator in not_found and (item.indicator in files or item.kind == "url")
    ]
    for item in items:
        if item.indicator in not_found and item not in candidates:
            item.action = "not submitted"
            if submit and item.kind == "file":
                item.reason += " (no file attached to submit)"
    return candidates


def public_upload_refused(item: TriageItem) -> SkippedWork:
    """Mark ``item`` not submitted: private scanning is unavailable and public upload not allowed."""
    item.action = "not submitted"
    return SkippedWork(
        what=item.indicator,
        reason="policy",
        detail="private scanning is not available and public upload was not allowed "
        "(allow_public_upload=True)",
    )


def record_submission(item: TriageItem, result: SubmissionResult) -> None:
    """Put a submission's verdict on its item."""
    item.verdict, item.reason = result.verdict, result.reason
    item.action = _PRIVATE if result.private else "scanned publicly"
    item.link = result.link


def submission_failed(item: TriageItem, exc: BaseException) -> SkippedWork:
    """Mark ``item`` as a failed submission; the skip that says why."""
    item.verdict, item.action = "error", "submission failed"
    item.reason = f"{type(exc).__name__}: {exc}"
    return SkippedWork(what=item.indicator, reason="error", detail=item.reason)


def behaviour_files(items: Sequence[TriageItem], limit: int) -> tuple[list[str], list[SkippedWork]]:
    """The malicious and suspicious files whose sandbox behaviour is read (public reports only:
    not those scanned privately), at most ``limit``; a skip for each one past it."""
    wanted = [
        item.indicator
        for item in items
        if item.kind == "file" and item.verdict in _BAD and item.action != _PRIVATE
    ]
    skipped = [
        SkippedWork(what=f"behaviour {sha}", reason="budget", detail="over max_behaviour_files")
        for sha in wanted[limit:]
    ]
    return wanted[:limit], skipped


def behaviour_failed(sha256: str, exc: BaseException) -> SkippedWork:
    """The skip for a file whose behaviour could not be read."""
    return SkippedWork(what=f"behaviour {sha256}", reason="error", detail=f"{type(exc).__name__}: {exc}")


def expansion_seeds(
    items: Sequence[TriageItem], behaviours: dict[str, BehaviourProfile], *, expand: bool
) -> tuple[list[str], list[SkippedWork]]:
    """The seeds of the case's expansion: the malicious items, then what the sandboxes saw the
    malicious files contact. Items scanned privately have no public relationships: each is a
    ``policy`` skip (when ``expand``) instead."""
    seeds = [
        item.indicator
        for item in items
        if item.verdict == "malicious" and item.kind and item.action != _PRIVATE
    ]
    seeds += [s for s in behaviour_seeds(behaviours) if s not in seeds]
    skipped = [
        SkippedWork(
            what=f"expand {item.indicator}",
            reason="policy",
            detail="scanned privately: it has no public relationships to follow",
        )
        for item in items
        if expand and item.verdict == "malicious" and item.action == _PRIVATE
    ]
    return seeds, skipped


def expansion_failed(exc: BaseException) -> tuple[SkippedWork, bool]:
    """The skip for an expansion that failed as a whole, and whether the key's quota is spent
    (a spent day or month: the rest of the runbook would only be refused too)."""
    spent = isinstance(exc, (QuotaExceededError, RequestBudgetExceededError)) and quota_refusal(exc)[1]
    skip = SkippedWork(
        what="expansion", reason="quota" if spent else "error", detail=f"{type(exc).__name__}: {exc}"
    )
    return skip, spent


def expansion_gaps(graph: IOCGraph) -> list[SkippedWork]:
    """A skip for each node the expansion left undone, with its reason."""
    skipped = []
    for gap in graph.unexpanded:
        reason = _GAP_REASONS.get(gap.reason, "error")
        detail = f"{gap.reason}: {gap.detail}" if gap.detail else gap.reason
        skipped.append(SkippedWork(what=f"expand {gap.node}", reason=reason, detail=detail))
    return skipped


def case_evidence(items: Sequence[TriageItem], graph: IOCGraph | None) -> list[str]:
    """What the case collection holds: the malicious and suspicious items, then the graph's."""
    evidence = [item.indicator for item in items if item.verdict in _BAD]
    if graph is not None:
        known = set(evidence)
        for node in graph.with_verdict(*_BAD):
            value = node.label or node.id
            if value not in known and node.type in ("file", "url", "domain", "ip_address"):
                evidence.append(node.id if node.type != "url" else value)
                known.add(value)
    return evidence


def summary_verdict(items: list[TriageItem]) -> str:
    """The worst verdict of the case (invalid and failed items do not count)."""
    verdicts = [item.verdict for item in items if item.verdict in VERDICT_ORDER]
    if not verdicts:
        return Verdict.UNKNOWN.value
    return min(verdicts, key=verdict_rank)


def triage_markdown(report: TriageReport, graph_key: str | None = None) -> str:
    """The report: the reason first, indicators defanged, links only to VirusTotal's pages.

    Args:
        report: the assembled report.
        graph_key: the key of the artifact where the graph is drawn, to point at.
    """
    lines = [f"# Triage: {markdown_cell(defang_text(report.case))}", ""]
    if report.emulated:
        lines += [f"> **{EMULATED_BANNER}**", ""]
    counts = verdict_counts(report.counts)
    lines += [f"**Summary verdict: {report.summary_verdict.upper()}** ({counts or 'no indicators'})", ""]
    lines += [
        "| indicator | verdict | reason | detections | action | type | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in sorted(report.items, key=lambda i: verdict_rank(i.verdict)):
        text = display_indicator(item.kind, item.indicator)
        shown = markdown_link(text, item.link) if item.link else f"`{markdown_cell(text)}`"
        reason = markdown_cell(defang_text(item.reason)) or "-"
        cells = [
            shown,
            f"**{item.verdict}**",
            reason,
            item.detections,
            item.action,
            item.kind or "-",
            item.source,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if report.behaviours:
        lines += ["", *behaviour_markdown(report.behaviours)]
    if report.graph is not None and report.graph.edges:
        lines += ["", "## Relationships of the malicious indicators (one hop)", ""]
        lines += [f"- {markdown_cell(line)}" for line in relationship_summary(report.graph)]
        if graph_key:
            lines += ["", f"The graph is drawn in the artifact `{graph_key}`."]
    lines += ["", "## Case collection", ""]
    if report.collection_link:
        lines.append(f"[case-{case_slug(report.case)}]({report.collection_link}) on VirusTotal")
    else:
        lines.append("None.")
    lines += ["", "## Skipped", ""]
    if report.skipped:
        lines += [
            f"- `{markdown_cell(shorten_hashes(defang(s.what)))}`: **{s.reason}**: "
            f"{markdown_cell(defang_text(s.detail))}"
            for s in report.skipped
        ]
    else:
        lines.append("Nothing.")
    return "\n".join(lines) + "\n"


class TriageSteps(Protocol):
    """The runbook's steps; each is a core engine on a client (or a subflow or task of the flow)."""

    async def enrich(
        self,
        indicators: list[str],
        *,
        text: str | None,
        path: str | None,
        policy: VerdictPolicy | None,
        case: str,
    ) -> EnrichmentReport:
        """Look the indicators up (and those of ``text`` and of the file at ``path``)."""
        ...

    async def submit(
        self,
        *,
        file_path: str | None,
        url: str | None,
        private: bool,
        confidential: bool,
        timeout: float,
        policy: VerdictPolicy | None,
    ) -> SubmissionResult:
        """Submit one file or URL and wait for its verdict (resumable, hash first)."""
        ...

    async def behaviour(self, sha256: str) -> BehaviourProfile:
        """A file's sandbox behaviour (two requests)."""
        ...

    async def expand(
        self, seeds: list[str], *, request_budget: int, policy: VerdictPolicy | None
    ) -> IOCGraph:
        """Expand the seeds one hop within ``request_budget`` requests."""
        ...

    async def sync_collection(
        self, collection: str, indicators: list[str], *, description: str, tags: list[str]
    ) -> CollectionSyncReport:
        """Add the indicators to the collection (created when missing; nothing removed)."""
        ...


@dataclass
class ClientTriageSteps:
    """The runbook's steps on one client, without Prefect (the command line, scripts, tests).

    Each step is the engine the flow's subflow runs: ``enrich_in_chunks`` over ``enrich_chunk``,
    ``run_submission`` with :class:`ClientSteps`, ``behaviour_profile``, ``expand_graph`` with
    ``level_fetcher`` (no level cache), ``run_collection_sync`` with ``ClientCollectionSteps``;
    with the flows' defaults. Submissions and the case collection's name keep their
    checkpoints in ``checkpoints`` (a ``DirectoryCheckpointStore`` on the command line).

    Attributes:
        vt: the client every request goes through.
        checkpoints: where submissions and the collection's stable name are remembered.
        skip_enterprise: a public key: the expansion skips what VirusTotal keeps for VT
            Enterprise users (as the flow does for a block whose ``key_tier`` is public).

    Example:
        ```python
        async with VirusTotalClient(key) as vt:
            report = await run_triage("INC-1", ClientTriageSteps(vt, MemoryCheckpointStore()), text=ticket)
        ```
    """

    vt: VirusTotalClient
    checkpoints: CheckpointStore
    skip_enterprise: bool = False

    async def enrich(
        self,
        indicators: list[str],
        *,
        text: str | None,
        path: str | None,
        policy: VerdictPolicy | None,
        case: str,
    ) -> EnrichmentReport:
        """``enrich_iocs``'s lookups (no artifact: ``case`` names none here)."""
        wanted, _ = gather_indicators(indicators, text, path)

        async def chunk(values: list[str]) -> EnrichmentReport:
            return await enrich_chunk(self.vt, values, policy or VerdictPolicy())

        return await enrich_in_chunks(chunk, wanted)

    async def submit(
        self,
        *,
        file_path: str | None,
        url: str | None,
        private: bool,
        confidential: bool,
        timeout: float,
        policy: VerdictPolicy | None,
    ) -> SubmissionResult:
        """``submit_and_wait``'s engine: plan, resume or hash first, submit, wait, read."""
        plan = plan_submission(
            file_path=file_path, url=url, private=private, confidential=confidential, timeout=timeout
        )
        steps = ClientSteps(self.vt, WaitSettings(timeout=timeout))
        return submission_result(await run_submission(plan, steps, self.checkpoints), policy)

    async def behaviour(self, sha256: str) -> BehaviourProfile:
        """See ``behaviour_profile`` (the task's default of five techniques)."""
        return await behaviour_profile(self.vt, sha256)

    async def expand(
        self, seeds: list[str], *, request_budget: int, policy: VerdictPolicy | None
    ) -> IOCGraph:
        """``expand_iocs``'s loop, one hop, the flow's defaults, no internal seed sent."""
        fetch = level_fetcher(self.vt, policy=policy, skip_enterprise=self.skip_enterprise)
        return await expand_graph(seeds, fetch, max_depth=1, request_budget=request_budget, internal=[])

    async def sync_collection(
        self, collection: str, indicators: list[str], *, description: str, tags: list[str]
    ) -> CollectionSyncReport:
        """``sync_collection``'s engine, removing nothing."""
        return await run_collection_sync(
            collection,
            ClientCollectionSteps(self.vt),
            self.checkpoints,
            indicators=indicators,
            description=description,
            tags=tags,
            remove_missing=False,
        )


async def run_triage(
    case: str,
    steps: TriageSteps,
    *,
    text: str | None = None,
    files: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    ticket_path: str | None = None,
    submit_unknown: bool = True,
    private: bool = True,
    allow_public_upload: bool = False,
    timeout: float = 900.0,
    expand: bool = True,
    expand_budget: int = 40,
    sync_case_collection: bool = True,
    policy: VerdictPolicy | None = None,
    max_concurrent_submissions: int = 4,
    behaviour: bool = True,
    max_behaviour_files: int = 10,
    graph_key: str | None = None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
) -> TriageReport:
    """Run the runbook: gather, enrich, submit the unknown, read behaviour, expand, collect, report.

    What the ``triage`` flow does (its docstring says what each argument means), over
    ``steps``: :class:`ClientTriageSteps`, or the flow's subflows and tasks. One failing
    indicator or step never sinks the run: it gets a line under "Skipped".

    Args:
        case: the case name.
        steps: the requests (:class:`ClientTriageSteps`, or the flow's).
        graph_key: the key of the artifact where the graph is drawn (the report points at it
            when the graph has edges); None when there is none (the command line).
        log: where warnings and the summary go (a flow passes its run logger).
        text, files, indicators, ticket_path, submit_unknown, private, allow_public_upload,
            timeout, expand, expand_budget, sync_case_collection, policy,
            max_concurrent_submissions, behaviour, max_behaviour_files: see ``triage``.

    Returns:
        The report, its markdown included.

    Raises:
        InvalidParameterError: the case name has no letter or digit (before any request).
        What the enrichment raises when every lookup failed alike (wrong key, spent quota).
    """
    slug = case_slug(case)
    # 1. What the case names: the ticket's indicators and the attached files' hashes.
    # Credentials in the ticket's URLs never reach a request, the report or an artifact.
    inputs = gather_case(text, files, indicators, text_in_file=bool(ticket_path))
    for url in inputs.masked:
        log.warning("removed credentials from %s: they are not sent", url)
    file_hashes = inputs.file_hashes
    skipped: list[SkippedWork] = list(inputs.skipped)

    # 2. Enrich everything in one batch.
    enriched: list[EnrichedIndicator] = []
    emulated = False
    if ticket_path:
        # The ticket's indicators are gathered by the enrichment from the file (credentials in
        # its URLs removed there), after those given and the attachments' hashes.
        enrichment = await steps.enrich(
            [*inputs.given, *file_hashes],
            text=inputs.text or None,
            path=ticket_path,
            policy=policy,
            case=case,
        )
        enriched, emulated = enrichment.items, enrichment.emulated
    elif inputs.wanted:
        enrichment = await steps.enrich(inputs.wanted, text=None, path=None, policy=policy, case=case)
        enriched, emulated = enrichment.items, enrichment.emulated
    items, lookup_skips, not_found = triage_items(enriched, file_hashes)
    skipped += lookup_skips

    # 3. Submit the unknown files and URLs, and wait for their verdicts.
    unknown = submission_candidates(items, not_found, file_hashes, submit=submit_unknown)
    if unknown:
        emulated |= await _submit_unknown(
            steps, unknown, file_hashes, skipped,
            private=private, allow_public=allow_public_upload,
            timeout=timeout, policy=policy, concurrency=max_concurrent_submissions,
        )  # fmt: skip

    # 3b. Sandbox behaviour of the malicious and suspicious files (public reports only).
    behaviours: dict[str, BehaviourProfile] = {}
    if behaviour:
        shas, over = behaviour_files(items, max_behaviour_files)
        skipped += over
        profiles = await asyncio.gather(*(steps.behaviour(sha) for sha in shas), return_exceptions=True)
        for sha, profile in zip(shas, profiles, strict=True):
            if isinstance(profile, BehaviourProfile):
                behaviours[sha] = profile
            else:
                skipped.append(behaviour_failed(sha, profile))

    # 4. Expand the malicious ones (and what the sandboxes saw them contact), one hop, within the budget.
    graph: IOCGraph | None = None
    seeds, private_skips = expansion_seeds(items, behaviours, expand=expand)
    skipped += private_skips
    quota_spent = False
    if expand and seeds:
        try:
            graph = await steps.expand(seeds, request_budget=expand_budget, policy=policy)
        except (VirusTotalError, ValueError) as exc:
            # A level that failed as a whole (issue 15).
            skip, quota_spent = expansion_failed(exc)
            skipped.append(skip)
        else:
            skipped += expansion_gaps(graph)

    # 5. The case collection holds everything malicious or suspicious.
    collection_link: str | None = None
    evidence = case_evidence(items, graph)
    if sync_case_collection and evidence and quota_spent:
        skipped.append(SkippedWork(what="case collection", reason="quota", detail="the key's quota is spent"))
    elif sync_case_collection and evidence:
        try:
            synced = await steps.sync_collection(
                f"case-{slug}",
                evidence,
                description=f"Indicators of case {case} (prefect-virustotal triage)",
                tags=["prefect-virustotal", slug],
            )
            collection_link = synced.link
        except (VirusTotalError, ValueError) as exc:
            skipped.append(
                SkippedWork(what="case collection", reason="error", detail=f"{type(exc).__name__}: {exc}")
            )

    report = TriageReport(
        case=case,
        summary_verdict=summary_verdict(items),
        items=items,
        graph=graph,
        collection_link=collection_link,
        skipped=skipped,
        emulated=emulated,
        behaviours=behaviours,
    )
    report.markdown = triage_markdown(report, graph_key)
    log.info("case %s: %s %s; %d skipped", case, report.summary_verdict, report.counts, len(skipped))
    return report


async def _submit_unknown(
    steps: TriageSteps,
    unknown: list[TriageItem],
    file_hashes: dict[str, Path],
    skipped: list[SkippedWork],
    *,
    private: bool,
    allow_public: bool,
    timeout: float,
    policy: VerdictPolicy | None,
    concurrency: int,
) -> bool:
    """Submit the files (by path) and URLs VirusTotal does not know; update their items.

    Private scanning first (when ``private``); a key without the licence (``ForbiddenError``)
    falls back to a public submission only when ``allow_public``. At most ``concurrency``
    submissions are waited for at once. Returns whether any answer was emulated.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))
    emulated = False

    async def one(item: TriageItem) -> None:
        nonlocal emulated
        path = file_hashes.get(item.indicator)
        file_path = str(path) if path is not None else None
        url = None if path is not None else item.indicator
        attempts = [True, False] if private else [False]
        async with semaphore:
            for use_private in attempts:
                if not use_private and not allow_public:
                    skipped.append(public_upload_refused(item))
                    return
                try:
                    result = await steps.submit(
                        file_path=file_path,
                        url=url,
                        private=use_private,
                        confidential=not allow_public,
                        timeout=timeout,
                        policy=policy,
                    )
                except ForbiddenError:
                    continue  # no private scanning licence: maybe public, if allowed
                except (VirusTotalError, ValueError, OSError) as exc:
                    skipped.append(submission_failed(item, exc))
                    return
                record_submission(item, result)
                emulated |= result.emulated
                return

    await asyncio.gather(*(one(item) for item in unknown))
    return emulated
