"""``triage``: the incident-response runbook that chains the pack's flows and reports.

The flow runs the steps (subflows and tasks) and publishes the artifacts and the event; what it
decides between the steps (items, skips, selections, the summary verdict, the markdown report)
is ``prefect_virustotal.core``'s triage assembly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import ForbiddenError, VerdictPolicy, VirusTotalError
from prefect_virustotal.core import (
    EMULATED_BANNER,
    BehaviourProfile,
    EnrichedIndicator,
    IOCGraph,
    SkippedWork,
    TriageItem,
    TriageReport,
    artifact_key,
    behaviour_failed,
    behaviour_files,
    case_evidence,
    case_slug,
    defang_text,
    escape_control,
    expansion_failed,
    expansion_gaps,
    expansion_seeds,
    gather_case,
    markdown_cell,
    mermaid_markdown,
    public_upload_refused,
    record_submission,
    submission_candidates,
    submission_failed,
    summary_verdict,
    triage_items,
    triage_markdown,
    verdict_counts,
)
from prefect_virustotal.tasks import get_behaviour_profile

from ._collections import sync_collection
from ._enrich import enrich_iocs
from ._expand import expand_iocs
from ._submit import submit_and_wait


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

    # 1. What the case names: the ticket's indicators and the attached files' hashes.
    # Credentials in the ticket's URLs never reach a request, the report or an artifact.
    inputs = gather_case(text, files, indicators, text_in_file=bool(ticket_path))
    for url in inputs.masked:
        logger.warning("removed credentials from %s: they are not sent", url)
    file_hashes = inputs.file_hashes
    skipped: list[SkippedWork] = list(inputs.skipped)

    # 2. Enrich everything in one batch.
    enriched: list[EnrichedIndicator] = []
    emulated = False
    if inputs.wanted and not ticket_path:
        enrichment = await enrich_iocs(indicators=inputs.wanted, credentials=block, policy=policy, case=case)
        enriched, emulated = enrichment.items, enrichment.emulated
    elif ticket_path:
        # The ticket's indicators are gathered by enrich_iocs from the file (credentials in its
        # URLs removed there), after those given and the attachments' hashes.
        enrichment = await enrich_iocs(
            indicators=[*inputs.given, *file_hashes],
            text=inputs.text or None,
            path=ticket_path,
            credentials=block,
            policy=policy,
            case=case,
        )
        enriched, emulated = enrichment.items, enrichment.emulated
    items, lookup_skips, not_found = triage_items(enriched, file_hashes)
    skipped += lookup_skips

    # 3. Submit the unknown files and URLs, and wait for their verdicts.
    unknown = submission_candidates(items, not_found, file_hashes, submit=submit_unknown)
    if unknown:
        emulated |= await _submit_unknown(
            unknown, file_hashes, block, skipped,
            private=private, allow_public=allow_public_upload,
            wait_timeout=timeout, policy=policy, concurrency=max_concurrent_submissions,
        )  # fmt: skip

    # 3b. Sandbox behaviour of the malicious and suspicious files (public reports only).
    behaviours: dict[str, BehaviourProfile] = {}
    if behaviour:
        shas, over = behaviour_files(items, max_behaviour_files)
        skipped += over
        profiles = await asyncio.gather(
            *(get_behaviour_profile(sha, credentials=block) for sha in shas), return_exceptions=True
        )
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
            graph = await expand_iocs(
                seeds=seeds, credentials=block, max_depth=1, request_budget=expand_budget, policy=policy
            )
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
    report.markdown = triage_markdown(report, graph_key)
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
    unknown: list[TriageItem],
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
                    skipped.append(public_upload_refused(item))
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
                    skipped.append(submission_failed(item, exc))
                    return
                record_submission(item, result)
                emulated |= result.emulated
                return

    await asyncio.gather(*(one(item) for item in unknown))
    return emulated
