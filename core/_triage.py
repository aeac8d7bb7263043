"""Triage assembly without Prefect: the case's items, what was skipped and why, the report.

The ``triage`` flow runs the steps (enrichment, submissions, sandbox behaviour, expansion,
the case collection) as tasks and subflows; everything it decides between them is here:
which indicators a case names, which items are submitted, expanded or collected, how a
failure becomes a line under "Skipped", the summary verdict and the markdown report.

Rows of the enrichment (``EnrichedIndicator``) are read in ``triage_items`` only, through
their public attributes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from prefect_virustotal.client import (
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    Verdict,
    extract_indicators,
    quota_refusal,
    redact_all,
    redact_url_credentials,
    sha256_of_file,
)

from ._attack import BehaviourProfile, behaviour_markdown, behaviour_seeds
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
from ._enrich import EnrichedIndicator
from ._graph_model import IOCGraph
from ._results import LookupStatus, SubmissionResult

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
