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

    async def item(self, analysis_id: str) -> VTObject[Any]:
        """The analysed file or URL (``GET /analyses/{id}/item``)."""
        ident = parse_analysis_id(analysis_id)
        body = await self._client.request_json("GET", f"/analyses/{ident}/item")
        return parse_object((body or {}).get("data"))
