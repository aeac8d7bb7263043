"""Search tasks: VirusTotal Intelligence and the basic search, one bounded listing each."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.core import SearchPage, check_query, read_search_page

__all__ = ["SearchPage", "search_basic", "search_intelligence"]


@task(name="VirusTotal: search intelligence", retries=0, cache_policy=NO_CACHE)
async def search_intelligence(
    query: str,
    limit: int = 50,
    page_size: int = 50,
    order: str | None = None,
    cursor: str | None = None,
    strict_modifiers: bool = True,
    *,
    credentials: VirusTotalCredentials,
) -> SearchPage:
    """Run a VirusTotal Intelligence search (premium), fetching pages lazily up to ``limit``.

    The query is checked first (balance, known modifiers): a malformed one fails before any
    request and costs no quota.

    Args:
        query: the VirusTotal Intelligence query, e.g. ``type:peexe p:5+``.
        limit: stop after this many objects.
        page_size: objects per request (at most 300).
        order: ``<field>+``/``<field>-``.
        cursor: continue a previous search (its ``resume`` token).
        strict_modifiers: refuse modifiers the pre-check does not know.
        credentials: the VirusTotal credentials block (a premium key).

    Returns:
        The objects found, and a resume token when more may follow.

    Raises:
        InvalidParameterError: the query is malformed (no request made).
        ForbiddenError: the key is not premium.

    Example:
        ```python
        query = "type:peexe p:10+ fs:2025-01-01+"
        page = await search_intelligence(query, limit=20, credentials=credentials)
        ```
    """
    checked = check_query(query, strict_modifiers=strict_modifiers)
    async with credentials.get_client() as vt:
        page = await read_search_page(
            vt, checked, limit=limit, page_size=page_size, order=order, cursor=cursor
        )
    get_run_logger().info("intelligence search: %d results in %d requests", len(page.items), page.requests)
    return page


@task(name="VirusTotal: search basic", retries=0, cache_policy=NO_CACHE)
async def search_basic(query: str, limit: int = 20, *, credentials: VirusTotalCredentials) -> SearchPage:
    """The basic search: an object by hash, URL, domain or IP address, or comments by text.

    Example:
        ```python
        page = await search_basic("evil.example", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        items = [item async for item in vt.search.basic(query, limit=limit)]
        page = SearchPage(items=items, requests=vt.request_count, emulated=vt.emulated)
    get_run_logger().info("basic search: %d results", len(items))
    return page
