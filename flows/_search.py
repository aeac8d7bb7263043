"""``intelligence_search``: a VirusTotal Intelligence query, bounded, ranked and optionally collected."""

from __future__ import annotations

from collections import Counter

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy
from prefect_virustotal.core import (
    CollectionSyncReport,
    SearchHit,
    check_query,
    hit_rows,
    rank_hits,
    search_plan,
)
from prefect_virustotal.tasks import search_intelligence

from ._collections import sync_collection
from ._enrich import EMULATED_BANNER

SEARCH_ARTIFACT_KEY = "virustotal-intelligence-search"


class SearchReport(BaseModel):
    """What ``intelligence_search`` returns."""

    query: str
    hits: list[SearchHit] = Field(default_factory=list)
    resume: str | None = None
    """Pass as ``cursor`` to a later run to continue where this one stopped."""
    requests: int = 0
    emulated: bool = False
    collection: CollectionSyncReport | None = None

    @property
    def summary(self) -> dict[str, int]:
        """How many results got each verdict."""
        return dict(Counter(hit.assessment.verdict.value for hit in self.hits))


@flow(name="virustotal-intelligence-search", log_prints=False)
async def intelligence_search(
    query: str,
    max_results: int = 50,
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
    lazily, with the fewest requests ``max_results`` needs and never more than
    ``request_budget``. The results become a table artifact, worst verdict first and
    defanged; with ``collection``, they are also added to that IoC collection through
    ``sync_collection`` (nothing is removed from it).

    Args:
        query: a VirusTotal Intelligence query, e.g. ``type:peexe p:10+ fs:2025-01-01+``.
        max_results: results to fetch at most.
        collection: a collection's stable name or id to add the results to; None adds nothing.
        credentials: a credentials block (premium key), or the name of a saved one.
        order: ``<field>+``/``<field>-``, e.g. ``positives-`` (ignored for content searches).
        request_budget: search requests to send at most; None means what ``max_results`` needs.
        policy: verdict thresholds.
        cursor: a previous run's ``resume`` token, to continue its listing.
        strict_modifiers: refuse modifiers the pre-check does not know.

    Returns:
        The ranked results, the resume token and the requests used.

    Raises:
        InvalidParameterError: malformed query or bounds (no request made).
        ForbiddenError: the key is not premium.

    Example:
        ```python
        report = await intelligence_search("type:peexe p:10+ tag:persistence", max_results=20)
        ```
    """
    logger = get_run_logger()
    checked = check_query(query, strict_modifiers=strict_modifiers)
    try:
        page_size, limit = search_plan(max_results, request_budget)
    except ValueError as exc:
        from prefect_virustotal.client import InvalidParameterError

        raise InvalidParameterError(str(exc)) from None
    block = await resolve_credentials(credentials)
    page = await search_intelligence(
        checked,
        max_results=limit,
        page_size=page_size,
        order=order,
        cursor=cursor,
        strict_modifiers=False,
        credentials=block,
    )
    report = SearchReport(
        query=checked,
        hits=rank_hits(page.items, policy),
        resume=page.resume,
        requests=page.requests,
        emulated=page.emulated,
    )
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
