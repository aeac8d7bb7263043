"""Intelligence search without Prefect: the request plan of a bounded search, one bounded
listing, results ranked by verdict and shown defanged, and the report.

The ``intelligence_search`` flow reads the listing through a task; the command line's direct
``search`` calls :func:`read_search_page` on its client. Both build the same :class:`SearchReport`
with :func:`search_report`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from prefect_virustotal.client import (
    Assessment,
    InvalidParameterError,
    VerdictPolicy,
    VirusTotalClient,
    assess,
)
from prefect_virustotal.client.models import VTObject

from ._collections import CollectionSyncReport
from ._display import defang
from ._query import check_query


class SearchHit(BaseModel):
    """One search result with its verdict."""

    type: str
    id: str
    indicator: str
    """What names it for a person: the URL for URLs, the id otherwise (not defanged)."""
    assessment: Assessment

    @property
    def shown(self) -> str:
        """The indicator as a person should see it: hashes as they are, the rest defanged."""
        return self.indicator if self.type == "file" else defang(self.indicator)


def _indicator(item: VTObject[Any]) -> str:
    url = getattr(item.attributes, "url", None) if item.type == "url" else None
    return url if isinstance(url, str) and url else item.id


def rank_hits(items: list[VTObject[Any]], policy: VerdictPolicy | None = None) -> list[SearchHit]:
    """Results worst first: by verdict, then malicious engines, then id (stable across runs)."""
    hits = []
    for item in items:
        stats = getattr(item.attributes, "last_analysis_stats", None)
        results = getattr(item.attributes, "last_analysis_results", None)
        hits.append(
            SearchHit(
                type=item.type,
                id=item.id,
                indicator=_indicator(item),
                assessment=assess(stats, results, policy),
            )
        )
    return sorted(hits, key=lambda h: (-h.assessment.verdict.severity, -h.assessment.malicious, h.id))


def hit_rows(hits: list[SearchHit]) -> list[dict[str, str]]:
    """One table row per hit, defanged, in rank order."""
    return [
        {
            "rank": str(n),
            "type": hit.type,
            "indicator": hit.shown,
            "verdict": hit.assessment.verdict.value,
            "detections": hit.assessment.ratio,
            "reason": hit.assessment.reason,
        }
        for n, hit in enumerate(hits, 1)
    ]


def search_plan(limit: int, request_budget: int | None, max_page: int = 300) -> tuple[int, int]:
    """``(page_size, results)``: the fewest requests for ``limit``, cut to the budget."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    page_size = min(limit, max_page)
    pages = math.ceil(limit / page_size)
    if request_budget is not None:
        if request_budget < 1:
            raise ValueError("request_budget must be at least 1")
        pages = min(pages, request_budget)
    return page_size, min(limit, pages * page_size)


class SearchPage(BaseModel):
    """What a bounded search returned, and where to resume."""

    items: list[VTObject[Any]] = Field(default_factory=list)
    resume: str | None = None
    """A token to pass as ``cursor`` to continue after the last item; None when nothing is left."""
    requests: int = 0
    emulated: bool = False


class SearchReport(BaseModel):
    """What ``intelligence_search`` (and the direct ``search`` command) returns."""

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


def plan_search(
    query: str, limit: int, request_budget: int | None, *, strict_modifiers: bool = True
) -> tuple[str, int, int]:
    """Check a search before any request: ``(checked query, page_size, results to fetch)``.

    Raises:
        InvalidParameterError: a malformed query, or bounds below 1.
    """
    checked = check_query(query, strict_modifiers=strict_modifiers)
    try:
        page_size, capped = search_plan(limit, request_budget)
    except ValueError as exc:
        raise InvalidParameterError(str(exc)) from None
    return checked, page_size, capped


async def read_search_page(
    vt: VirusTotalClient,
    query: str,
    *,
    limit: int,
    page_size: int,
    order: str | None = None,
    cursor: str | None = None,
) -> SearchPage:
    """Run a checked Intelligence query, fetching pages lazily up to ``limit`` results.

    ``requests`` counts this listing's own requests (a client may have sent others before).
    """
    before = vt.request_count
    listing = vt.search.intelligence(query, limit=limit, page_size=page_size, order=order, cursor=cursor)
    items = [item async for item in listing]
    return SearchPage(
        items=items,
        resume=listing.resume_token if len(items) >= limit else None,
        requests=vt.request_count - before,
        emulated=vt.emulated,
    )


def search_report(query: str, page: SearchPage, policy: VerdictPolicy | None = None) -> SearchReport:
    """The report of a search: its results ranked worst first, the resume token, the cost."""
    return SearchReport(
        query=query,
        hits=rank_hits(page.items, policy),
        resume=page.resume,
        requests=page.requests,
        emulated=page.emulated,
    )
