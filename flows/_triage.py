"""``triage``: the incident-response runbook that chains the pack's flows and reports."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Literal

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import (
    ForbiddenError,
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    Verdict,
    VerdictPolicy,
    VirusTotalError,
    extract_indicators,
    quota_refusal,
    redact_all,
    redact_url_credentials,
    sha256_of_file,
)
from prefect_virustotal.client.models import IOCGraph, LookupStatus
from prefect_virustotal.core import (
    VERDICT_ORDER,
    BehaviourProfile,
    EnrichedIndicator,
    artifact_key,
    behaviour_markdown,
    behaviour_seeds,
    defang,
    defang_text,
    display_indicator,
    escape_control,
    markdown_cell,
    markdown_link,
    relationship_summary,
    shorten_hashes,
    verdict_counts,
    verdict_rank,
)
from prefect_virustotal.tasks import get_behaviour_profile

from ._collections import sync_collection
from ._enrich import EMULATED_BANNER, enrich_iocs
from ._expand import expand_iocs
from ._expand_artifacts import mermaid_markdown
from ._submit import submit_and_wait

SkipReason = Literal["invalid", "budget", "quota", "error", "policy", "unreadable", "internal"]
_GAP_REASONS: dict[str, SkipReason] = {
    "request_budget": "budget",
    "quota": "quota",
    "invalid": "invalid",
    "tier": "policy",  # a relationship the key's licence does not cover, skipped on purpose
    "internal": "internal",
}


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


def case_slug(case: str) -> str:
    """A lowercase, dash-separated form of the case name (artifact keys, collection names)."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-")
    if not slug:
        raise InvalidParameterError("the case name needs at least one letter or digit")
    return slug[:60]


def _item_from_lookup(enriched: EnrichedIndicator, source: str) -> TriageItem:
    lookup = enriched.lookup
    found = enriched.assessment
    return TriageItem(
        indicator=lookup.indicator,
        kind=lookup.kind,
        verdict=enriched.verdict,
        detections=found.ratio if found else "-",
        reason=found.reason if found else (lookup.error or ""),
        source=source,
        link=lookup.link,
    )


def _skip_for_status(enriched: EnrichedIndicator) -> SkippedWork | None:
    status = enriched.lookup.status
    mapping: dict[LookupStatus, SkipReason] = {
        LookupStatus.INVALID: "invalid",
        LookupStatus.QUOTA_LIMITED: "quota",
        LookupStatus.ERROR: "error",
        LookupStatus.SKIPPED: "internal",
    }
    if status not in mapping:
        return None
    return SkippedWork(
        what=enriched.lookup.indicator, reason=mapping[status], detail=enriched.lookup.error or ""
    )


def summary_verdict(items: list[TriageItem]) -> str:
    """The worst verdict of the case (invalid and failed items do not count)."""
    verdicts = [item.verdict for item in items if item.verdict in VERDICT_ORDER]
    if not verdicts:
        return Verdict.UNKNOWN.value
    return min(verdicts, key=verdict_rank)


def _markdown(report: TriageReport, graph_key: str | None) -> str:
    """The report: the reason first, indicators defanged, links only to VirusTotal's pages."""
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


@flow(name="virustotal-triage")
async def triage(
    case: str,
    text: str | None = None,
    files: list[str] | None = None,
    indicators: list[str] | None = None,
    submit_unknown: bool = True,
    private: bool = True,
    allow_public_upload: bool = False,
    timeout: float = 900.0,  # noqa: ASYNC109 - a flow parameter: the wait's deadline, as everywhere
    expand: bool = True,
    expand_budget: int = 40,
    sync_case_collection: bool = True,
    policy: VerdictPolicy | None = None,
    report_path: str | None = None,
    max_concurrent_submissions: int = 4,
    max_diagram_nodes: int = 30,
    behaviour: bool = True,
    max_behaviour_files: int = 10,
    ticket_path: str | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> TriageReport:
    """Triage an incident: enrich, scan what is unknown, expand what is malicious, report.

    Indicators come from a ticket's text (extracted and refanged) and from attached files
    (hashed locally first). Unknown files and URLs are submitted (private scanning by
    default; a public upload only with ``allow_public_upload``) and waited for; malicious
    indicators are expanded one hop within ``expand_budget`` requests; everything found
    malicious or suspicious goes into the case's collection. One failing indicator never
    sinks the runbook: it gets a row and a line under "Skipped".

    Args:
        case: the case name (e.g. ``INC-2026-1127``); names the artifact and the collection.
        text: free text of the ticket.
        files: paths of attached files.
        indicators: indicators given one by one (an invalid one gets a row of its own).
        credentials: a credentials block, or the name of a saved one.
        submit_unknown: submit files and URLs VirusTotal does not know.
        private: use private scanning for submissions.
        allow_public_upload: when private scanning is not available, upload publicly
            (files become visible to VirusTotal's community).
        timeout: seconds to wait for each analysis.
        expand: expand malicious indicators one hop.
        expand_budget: most requests the expansion may spend.
        sync_case_collection: keep the collection ``case-<case>`` holding the malicious and
            suspicious indicators.
        policy: verdict thresholds.
        report_path: also write the markdown report to this file.
        max_concurrent_submissions: submissions waited for at once.
        max_diagram_nodes: nodes drawn in the report's graph before collapsing.
        behaviour: add the sandbox behaviour (top ATT&CK techniques, verdicts) of malicious
            and suspicious files; the network indicators seen there join the expansion as
            seeds, within ``expand_budget``.
        max_behaviour_files: files whose behaviour is read at most (two requests each).
        ticket_path: a file holding the ticket's text, read by the flow (UTF-8 or UTF-16, at
            most ``core.MAX_TEXT_INPUT_BYTES``): a large ticket is passed by path, so neither
            it nor its indicators become flow-run parameters (of this flow or of
            ``enrich_iocs``).

    Returns:
        The report: summary verdict, items, graph, collection link, what was skipped.

    Example:
        ```python
        report = await triage("INC-1", text=ticket_text, files=["/cases/1/sample.bin"])
        print(report.markdown)
        ```
    """
    logger = get_run_logger()
    slug = case_slug(case)
    block = await resolve_credentials(credentials)
    skipped: list[SkippedWork] = []
    items: list[TriageItem] = []

    # 1. What the case names: the ticket's indicators and the attached files' hashes.
    # Credentials in the ticket's URLs never reach a request, the report or an artifact.
    text, masked = redact_url_credentials(text or "")
    indicators, masked_given = redact_all(indicators or [])
    for url in masked + masked_given:
        logger.warning("removed credentials from %s: they are not sent", url)
    found = [] if ticket_path else extract_indicators(text)
    file_hashes: dict[str, Path] = {}
    for raw in files or []:
        path = Path(raw)
        try:
            file_hashes[sha256_of_file(path)] = path
        except OSError as exc:
            skipped.append(
                SkippedWork(what=raw, reason="unreadable", detail=f"{type(exc).__name__}: {exc.strerror}")
            )
    wanted = list(dict.fromkeys([*(indicators or []), *(i.value for i in found), *file_hashes]))

    # 2. Enrich everything in one batch.
    enriched: list[EnrichedIndicator] = []
    emulated = False
    if wanted and not ticket_path:
        enrichment = await enrich_iocs(indicators=wanted, credentials=block, policy=policy, case=case)
        enriched, emulated = enrichment.items, enrichment.emulated
    elif ticket_path:
        # The ticket's indicators are gathered by enrich_iocs from the file (credentials in its
        # URLs removed there), after those given and the attachments' hashes.
        enrichment = await enrich_iocs(
            indicators=[*(indicators or []), *file_hashes],
            text=text or None,
            path=ticket_path,
            credentials=block,
            policy=policy,
            case=case,
        )
        enriched, emulated = enrichment.items, enrichment.emulated
    for entry in enriched:
        source = "file" if entry.lookup.indicator in file_hashes else "ticket"
        skip = _skip_for_status(entry)
        if skip is not None:
            skipped.append(skip)
        items.append(_item_from_lookup(entry, source))

    # 3. Submit the unknown files and URLs, and wait for their verdicts.
    if submit_unknown:
        not_found = {e.lookup.indicator for e in enriched if e.lookup.status == LookupStatus.NOT_FOUND}
        emulated |= await _submit_unknown(
            items, not_found, file_hashes, block, skipped,
            private=private, allow_public=allow_public_upload,
            wait_timeout=timeout, policy=policy, concurrency=max_concurrent_submissions,
        )  # fmt: skip
    else:
        for entry, item in zip(enriched, items, strict=True):
            if entry.lookup.status == LookupStatus.NOT_FOUND:
                item.action = "not submitted"

    # 3b. Sandbox behaviour of the malicious and suspicious files (public reports only).
    behaviours: dict[str, BehaviourProfile] = {}
    if behaviour:
        bad_files = [
            item.indicator
            for item in items
            if item.kind == "file"
            and item.verdict in ("malicious", "suspicious")
            and item.action != "scanned privately"
        ]
        for sha in bad_files[max_behaviour_files:]:
            skipped.append(
                SkippedWork(what=f"behaviour {sha}", reason="budget", detail="over max_behaviour_files")
            )
        profiles = await asyncio.gather(
            *(get_behaviour_profile(sha, credentials=block) for sha in bad_files[:max_behaviour_files]),
            return_exceptions=True,
        )
        for sha, profile in zip(bad_files, profiles, strict=False):
            if isinstance(profile, BehaviourProfile):
                behaviours[sha] = profile
            else:
                detail = f"{type(profile).__name__}: {profile}"
                skipped.append(SkippedWork(what=f"behaviour {sha}", reason="error", detail=detail))

    # 4. Expand the malicious ones, one hop, within the budget.
    graph: IOCGraph | None = None
    malicious = [
        item.indicator
        for item in items
        if item.verdict == "malicious" and item.kind and item.action != "scanned privately"
    ]
    # What the sandboxes saw the malicious files contact joins the seeds, within the same budget.
    malicious += [s for s in behaviour_seeds(behaviours) if s not in malicious]
    for item in items:
        if expand and item.verdict == "malicious" and item.action == "scanned privately":
            skipped.append(
                SkippedWork(
                    what=f"expand {item.indicator}",
                    reason="policy",
                    detail="scanned privately: it has no public relationships to follow",
                )
            )
    quota_spent = False
    if expand and malicious:
        try:
            graph = await expand_iocs(
                seeds=malicious, credentials=block, max_depth=1, request_budget=expand_budget, policy=policy
            )
        except (VirusTotalError, ValueError) as exc:
            # A level that failed as a whole (issue 15) on a spent day or month: the rest of
            # the runbook would only be refused too.
            if isinstance(exc, (QuotaExceededError, RequestBudgetExceededError)):
                quota_spent = quota_refusal(exc)[1]
            skipped.append(
                SkippedWork(
                    what="expansion",
                    reason="quota" if quota_spent else "error",
                    detail=f"{type(exc).__name__}: {exc}",
                )
            )
        else:
            for gap in graph.unexpanded:
                reason = _GAP_REASONS.get(gap.reason, "error")
                detail = f"{gap.reason}: {gap.detail}" if gap.detail else gap.reason
                skipped.append(SkippedWork(what=f"expand {gap.node}", reason=reason, detail=detail))

    # 5. The case collection holds everything malicious or suspicious.
    collection_link: str | None = None
    evidence = [item.indicator for item in items if item.verdict in ("malicious", "suspicious")]
    if graph is not None:
        known = set(evidence)
        for node in graph.with_verdict("malicious", "suspicious"):
            value = node.label or node.id
            if value not in known and node.type in ("file", "url", "domain", "ip_address"):
                evidence.append(node.id if node.type != "url" else value)
                known.add(value)
    if sync_case_collection and evidence and quota_spent:
        skipped.append(SkippedWork(what="case collection", reason="quota", detail="the key's quota is spent"))
    elif sync_case_collection and evidence:
        try:
            synced = await sync_collection(
                f"case-{slug}",
                indicators=evidence,
                credentials=block,
                description=f"Indicators of case {case} (prefect-virustotal triage)",
                tags=["prefect-virustotal", slug],
                remove_missing=False,
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
    graph_key = artifact_key("triage-graph", slug) if graph is not None and graph.edges else None
    report.markdown = _markdown(report, graph_key)
    title = f"Triage of case {escape_control(case)}: {report.summary_verdict.upper()}"
    notice = f"\n\n**{EMULATED_BANNER}**" if report.emulated else ""
    await acreate_markdown_artifact(
        key=artifact_key("triage", slug),
        markdown=report.markdown,
        description=f"{title} ({verdict_counts(report.counts) or 'no indicators'}).{notice}",
    )
    if graph is not None and graph_key is not None:
        await acreate_markdown_artifact(
            key=graph_key,
            markdown=mermaid_markdown(
                graph,
                max_diagram_nodes,
                title=f"Relationship graph of case {markdown_cell(defang_text(case))}",
                notice=EMULATED_BANNER if report.emulated else None,
            ),
            description=f"Relationship graph of case {escape_control(case)} (Mermaid).{notice}",
        )
    if report_path:
        await anyio.Path(report_path).write_text(report.markdown, encoding="utf-8")
    emit_event(
        event="virustotal.triage.completed",
        resource={"prefect.resource.id": f"virustotal.case.{slug}", "prefect.resource.name": case},
        payload={"summary_verdict": report.summary_verdict, "counts": report.counts, "skipped": len(skipped)},
    )
    logger.info("case %s: %s %s; %d skipped", case, report.summary_verdict, report.counts, len(skipped))
    return report


async def _submit_unknown(
    items: list[TriageItem],
    not_found: set[str],
    file_hashes: dict[str, Path],
    block: VirusTotalCredentials,
    skipped: list[SkippedWork],
    *,
    private: bool,
    allow_public: bool,
    wait_timeout: float,
    policy: VerdictPolicy | None,
    concurrency: int,
) -> bool:
    """Submit the files (by path) and URLs VirusTotal does not know; update their items.

    Returns whether any answer was emulated.
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
                    item.action = "not submitted"
                    skipped.append(
                        SkippedWork(
                            what=item.indicator,
                            reason="policy",
                            detail="private scanning is not available and public upload was not allowed "
                            "(allow_public_upload=True)",
                        )
                    )
                    return
                try:
                    result = await submit_and_wait(
                        file_path=file_path,
                        url=url,
                        credentials=block,
                        private=use_private,
                        confidential=not allow_public,
                        timeout=wait_timeout,
                        policy=policy,
                    )
                except ForbiddenError:
                    continue  # no private scanning licence: maybe public, if allowed
                except (VirusTotalError, ValueError, OSError) as exc:
                    item.verdict, item.action = "error", "submission failed"
                    item.reason = f"{type(exc).__name__}: {exc}"
                    skipped.append(SkippedWork(what=item.indicator, reason="error", detail=item.reason))
                    return
                item.verdict, item.reason = result.verdict, result.reason
                item.action = "scanned privately" if result.private else "scanned publicly"
                item.link = result.link
                emulated |= result.emulated
                return

    unknown = [
        item
        for item in items
        if item.indicator in not_found and (item.indicator in file_hashes or item.kind == "url")
    ]
    for item in items:
        if item.indicator in not_found and item not in unknown:
            item.action = "not submitted"
            if item.kind == "file":
                item.reason += " (no file attached to submit)"
    await asyncio.gather(*(one(item) for item in unknown))
    return emulated
