"""``triage``: the incident-response runbook that chains the pack's flows and reports.

The runbook's sequence and every decision in it are the core's (``core.run_triage``); this
flow gives it its steps as subflows and tasks (``enrich_iocs``, ``submit_and_wait``,
``get_behaviour_profile``, ``expand_iocs``, ``sync_collection``) and keeps the Prefect state:
the report's artifacts, the event, the report file.
"""

from __future__ import annotations

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy
from prefect_virustotal.core import (
    EMULATED_BANNER,
    BehaviourProfile,
    CollectionSyncReport,
    EnrichmentReport,
    IOCGraph,
    SubmissionResult,
    TriageReport,
    artifact_key,
    case_slug,
    defang_text,
    escape_control,
    markdown_cell,
    mermaid_markdown,
    run_triage,
    verdict_counts,
)
from prefect_virustotal.tasks import get_behaviour_profile

from ._collections import sync_collection
from ._enrich import enrich_iocs
from ._expand import expand_iocs
from ._submit import submit_and_wait


class _FlowSteps:
    """The core's triage steps as this pack's subflows and tasks (each shows in the UI)."""

    def __init__(self, block: VirusTotalCredentials) -> None:
        self.block = block

    async def enrich(
        self,
        indicators: list[str],
        *,
        text: str | None,
        path: str | None,
        policy: VerdictPolicy | None,
        case: str,
    ) -> EnrichmentReport:
        return await enrich_iocs(
            indicators=indicators, text=text, path=path, policy=policy, case=case, credentials=self.block
        )

    async def submit(
        self,
        *,
        file_path: str | None,
        url: str | None,
        private: bool,
        confidential: bool,
        timeout: float,  # noqa: ASYNC109 - the subflow's wait deadline
        policy: VerdictPolicy | None,
    ) -> SubmissionResult:
        return await submit_and_wait(
            file_path=file_path,
            url=url,
            private=private,
            confidential=confidential,
            timeout=timeout,
            policy=policy,
            credentials=self.block,
        )

    async def behaviour(self, sha256: str) -> BehaviourProfile:
        return await get_behaviour_profile(sha256, credentials=self.block)

    async def expand(
        self, seeds: list[str], *, request_budget: int, policy: VerdictPolicy | None
    ) -> IOCGraph:
        return await expand_iocs(
            seeds=seeds, max_depth=1, request_budget=request_budget, policy=policy, credentials=self.block
        )

    async def sync_collection(
        self, collection: str, indicators: list[str], *, description: str, tags: list[str]
    ) -> CollectionSyncReport:
        return await sync_collection(
            collection,
            indicators=indicators,
            description=description,
            tags=tags,
            remove_missing=False,
            credentials=self.block,
        )


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
        credentials: a credentials block, or the name of a saved one.

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
    report = await run_triage(
        case,
        _FlowSteps(block),
        text=text,
        files=files,
        indicators=indicators,
        ticket_path=ticket_path,
        submit_unknown=submit_unknown,
        private=private,
        allow_public_upload=allow_public_upload,
        timeout=timeout,
        expand=expand,
        expand_budget=expand_budget,
        sync_case_collection=sync_case_collection,
        policy=policy,
        max_concurrent_submissions=max_concurrent_submissions,
        behaviour=behaviour,
        max_behaviour_files=max_behaviour_files,
        graph_key=artifact_key("triage-graph", slug),
        log=logger,
    )
    graph = report.graph
    title = f"Triage of case {escape_control(case)}: {report.summary_verdict.upper()}"
    notice = f"\n\n**{EMULATED_BANNER}**" if report.emulated else ""
    await acreate_markdown_artifact(
        key=artifact_key("triage", slug),
        markdown=report.markdown,
        description=f"{title} ({verdict_counts(report.counts) or 'no indicators'}).{notice}",
    )
    if graph is not None and graph.edges:
        await acreate_markdown_artifact(
            key=artifact_key("triage-graph", slug),
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
        payload={
            "summary_verdict": report.summary_verdict,
            "counts": report.counts,
            "skipped": len(report.skipped),
        },
    )
    return report
