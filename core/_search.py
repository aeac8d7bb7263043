"""Search results ranked by verdict, shown defanged, and the request plan of a bounded search."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from prefect_virustotal.client import Assessment, VerdictPolicy, assess
from prefect_virustotal.client.models import VTObject

from ._display import defang


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
