"""Search: VirusTotal Intelligence (``GET /intelligence/search``) and the basic ``GET /search``.

Intelligence search is premium. ``limit`` is the page size (at most 300 per the reference),
``order`` is ``<field>+`` or ``<field>-`` (ignored by the service for content searches), and
``descriptors_only`` answers ``{type, id}`` descriptors, which saves bandwidth, not quota.
The query language is the service's; ``prefect_virustotal.core.check_query`` checks a query's
shape before it is sent.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import InvalidParameterError
from ._lookups import _Area
from ._pagination import Paginator
from .models import VTObject

MAX_SEARCH_PAGE = 300
_ORDER = re.compile(r"[a-z_]{1,64}[+-]?")


class Search(_Area):
    """``/intelligence/search`` and ``/search``."""

    def intelligence(
        self,
        query: str,
        *,
        limit: int | None = None,
        page_size: int = 40,
        order: str | None = None,
        descriptors_only: bool = False,
        cursor: str | None = None,
    ) -> Paginator[VTObject[Any]]:
        """Objects matching a VirusTotal Intelligence query, lazily, page by page.

        Args:
            query: the query, e.g. ``type:peexe p:5+ fs:2025-01-01+``.
            limit: stop after this many objects.
            page_size: objects per request (1-300).
            order: ``<field>+``/``<field>-``, e.g. ``positives-``.
            descriptors_only: ask for ``{type, id}`` only.
            cursor: resume from a cursor or resume token.

        Raises:
            InvalidParameterError: empty query, bad page size or order (no request).
        """
        if not query.strip():
            raise InvalidParameterError("the search query is empty")
        if not 1 <= page_size <= MAX_SEARCH_PAGE:
            raise InvalidParameterError(f"page_size must be 1-{MAX_SEARCH_PAGE}")
        params: dict[str, Any] = {"query": query.strip()}
        if order:
            if not _ORDER.fullmatch(order):
                raise InvalidParameterError(f"invalid order {order!r}: expected <field>+ or <field>-")
            params["order"] = order
        if descriptors_only:
            params["descriptors_only"] = "true"
        return self._client.paginate(
            "/intelligence/search", params=params, page_size=page_size, limit=limit, cursor=cursor
        )

    def basic(self, query: str, *, limit: int | None = None) -> Paginator[VTObject[Any]]:
        """The basic search (``GET /search``): a hash, URL, domain or IP address, or comment text.

        Raises:
            InvalidParameterError: empty query (no request).
        """
        if not query.strip():
            raise InvalidParameterError("the search query is empty")
        return self._client.paginate("/search", params={"query": query.strip()}, page_size=10, limit=limit)
