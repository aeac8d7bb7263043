"""``intelligence_search``: a VirusTotal Intelligence query, bounded, ranked and optionally collected.

The plan, the listing and the ranking are the core's (``plan_search``, ``read_search_page``,
``search_report``), which the command line's direct ``search`` calls without Prefect.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy
from prefect_virustotal.core import (
    SearchReport,
    hit_rows,
    plan_search,
    search_report,
)
from prefect_virustotal.tasks import search_intelligence

from ._collections import sync_collection
from ._enrich import EMULATED_BANNER

__all__ = ["SEARCH_ARTIFACT_KEY", "SearchReport", "intelligence_search"]

SEARCH_ARTIFACT_KEY = "virustotal-intelligence-search"


@flow(name="virustotal-intelligence-search", log_prints=False)
async def intelligence_search(
    query: str,
    limit: int = 50,
    collection: str | None = None,
    order: str | None = None,
    request_budget: int | None = None,
    policy: VerdictPolicy | None = None,
    cursor: str | None = None,
    strict_modifiers: bool = True,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> SearchReport:
    """Search VirusTotal Intelligence and rank what it finds by verdict.

    The query is checked before anything is sent (balanced quotes, braces and parentheses;
    known modifiers): a malformed query fails at once and costs no quota. Pages are fetched
    lazily, with the fewest requests ``limit`` needs and never more than
    ``request_budget``. The results become a table artifact, worst verdict first and
    defanged; with ``collection``, they are also added to that IoC collection through
    ``sync_collection`` (nothing is removed from it).

    Args:
        query: a VirusTotal Intelligence query, e.g. ``type:peexe p:10+ fs:2025-01-01+``.
        limit: results to fetch at most.
        collection: a collection's stable name or id to add the results to; None adds nothing.
        order: ``<field>+``/``<field>-``, e.g. ``positives-`` (ignored for content searches).
        request_budget: search requests to send at most; None means what ``limit`` needs.
        policy: verdict thresholds.
        cursor: a previous run's ``resume`` token, to continue its listing.
        strict_modifiers: refuse modifiers the pre-check does not know.
        credentials: a credentials block (premium key), or the name of a saved one.

    Returns:
        The ranked results, the resume token and the requests used.

    Raises:
        InvalidParameterError: malformed query or bounds (no request made).
        ForbiddenError: the key is not premium.

    Example:
        ```python
        report = await intelligence_search("type:peexe p:10+ tag:persistence", limit=20)
        ```
    """
    logger = get_run_logger()
    # Checked before anything is sent: a malformed query or bound costs no request.
    checked, page_size, capped = plan_search(query, limit, request_budget, strict_modifiers=strict_modifiers)
    block = await resolve_credentials(credentials)
    page = await search_intelligence(
        checked,
        limit=capped,
        page_size=page_size,
        order=order,
        cursor=cursor,
        strict_modifiers=False,
        credentials=block,
    )
    report = search_report(checked, page, policy)
    description = f"VirusTotal Intelligence search, worst first: `{checked}`"
    if report.emulated:
        description = f"**{EMULATED_BANNER}**\n\n{description}"
        logger.warning(EMULATED_BANNER)
    await acreate_table_artifact(
        key=SEARCH_ARTIFACT_KEY, table=hit_rows(report.hits), description=description
    )
    if collection and report.hits:
        report.collection = await sync_collection(
            collection,
            indicators=[hit.indicator for hit in report.hits],
            credentials=block,
            remove_missing=False,
        )
    logger.info("%d results in %d requests: %s", len(report.hits), report.requests, report.summary)
    return report
