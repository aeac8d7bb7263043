"""``/analyses``: the state and results of one analysis."""

from __future__ import annotations

import re
from typing import Any

from ._errors import InvalidIndicatorError
from ._lookups import _Area
from .models import AnalysisObject, VTObject
from .models._objects import AnalysisAttributes
from .models._registry import parse_object

# Analysis ids are opaque (base64 for files, ``u-<sha256>-<ts>`` for URLs); only make
# sure the id cannot change the path.
_ANALYSIS_ID = re.compile(r"[A-Za-z0-9_=+\-]{1,200}")


def parse_analysis_id(value: str) -> str:
    """Check that an analysis id is a single path segment of safe characters."""
    candidate = value.strip()
    if not _ANALYSIS_ID.fullmatch(candidate):
        raise InvalidIndicatorError(value, "analysis id", "unexpected characters or length")
    return candidate


class Analyses(_Area):
    """``/analyses``."""

    async def get(self, analysis_id: str) -> AnalysisObject:
        """An analysis: status, stats and per-engine results (``GET /analyses/{id}``)."""
        ident = parse_analysis_id(analysis_id)
        return await self._client.get_object(f"/analyses/{ident}", AnalysisAttributes)

    async def get_item(self, analysis_id: str) -> VTObject[Any]:
        """The analysed file or URL (``GET /analyses/{id}/item``)."""
        ident = parse_analysis_id(analysis_id)
        body = await self._client.request_json("GET", f"/analyses/{ident}/item")
        return parse_object((body or {}).get("data"))

    async def wait(
        self,
        analysis_id: str,
        *,
        timeout: float = 900.0,
        initial_interval: float = 3.0,
        max_interval: float = 60.0,
        factor: float | None = None,
        poll_share: float = 0.25,
        private: bool = False,
        precision: float = 0.1,
    ) -> AnalysisObject:
        """Poll an analysis until it is ``completed``, within a deadline.

        The first poll is immediate; each pause is then ``precision`` of the analysis' age
        (by its own date, or the time waited here if longer), from ``initial_interval`` up to
        ``max_interval``: the completion is seen at most that share of its duration late,
        for a logarithmic number of polls. Pauses are never shorter than the key's budget
        allows: polls use at most ``poll_share`` of the requests per minute the client's
        limiter grants, so waiting never starves other work of the quota (a premium key can
        look every few seconds near the end; a public key looks once a minute). Given a
        ``factor``, the pause grows geometrically by it instead, as before.
        ``NotAvailableYet``, a 404 just after submission, transient server errors and
        minute-quota 429s are ridden out; a spent daily quota is not.

        Args:
            analysis_id: the id a submission returned.
            timeout: seconds on the client's clock before giving up.
            initial_interval: the shortest pause between polls, in seconds.
            max_interval: the longest pause.
            factor: growth of the pause per poll; None (default) for the proportional schedule.
            poll_share: the share of the minute quota polls may use (0 < share <= 1).
            private: a private analysis (``/private/analyses/{id}``).
            precision: the pause as a share of the analysis' age (0.1: at most 10 % late).

        Returns:
            The completed analysis, with its stats and per-engine results.

        Raises:
            AnalysisTimeoutError: the deadline passed; carries ``analysis_id`` to resume.
            InvalidParameterError: bad intervals (before any request).
        """
        from ._scanning import wait_for_analysis

        return await wait_for_analysis(
            self._client,
            analysis_id,
            private=private,
            timeout=timeout,
            initial_interval=initial_interval,
            max_interval=max_interval,
            factor=factor,
            poll_share=poll_share,
            precision=precision,
        )
