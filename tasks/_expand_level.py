"""The expansion task: one breadth-first level of an IOC graph per task run.

The engine is the core's (``prefect_virustotal.core.fetch_level``); this module gives it its
Prefect options: no retries (the client retries), a cache keyed on what a level fetches and
who answers it; a failed or partial level is never cached.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from prefect import get_run_logger, task
from prefect.cache_policies import INPUTS
from prefect.results import get_result_store
from prefect.states import Completed

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import VerdictPolicy
from prefect_virustotal.core import LevelResult, NodeRef, fetch_level, is_partial_level

from ._cache import TargetIdentity

EXPAND_CACHE = INPUTS - "credentials" - "concurrency" + TargetIdentity()
"""Levels are cached on what they fetch and who answered (endpoint and key identity), not on
which block object or how many requests at once. Failed and partial levels are not cached."""

EXPAND_CACHE_EXPIRATION = timedelta(days=1)
"""How long a fetched level is reused: VirusTotal's verdicts move, but not by the minute."""


@task(
    name="VirusTotal: expand level",
    retries=0,
    cache_policy=EXPAND_CACHE,
    cache_expiration=EXPAND_CACHE_EXPIRATION,
    persist_result=True,
    result_serializer="json",
)
async def expand_level(
    frontier: list[NodeRef],
    relationships: dict[str, list[str]],
    fan_out: int = 20,
    request_budget: int | None = None,
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    leaf_verdicts: bool = False,
    skip_enterprise: bool = False,
    *,
    credentials: VirusTotalCredentials,
) -> LevelResult:
    """Fetch one breadth-first level of an IOC graph: every frontier node and its neighbours.

    Each node costs one GET that embeds the first page of each relationship; descriptor
    pages are fetched only where ``fan_out`` wants more than the embedded 20, and never
    for a relationship whose count is zero. Requests run concurrently under the key's
    rate limiter. The result is cached on the inputs and on who answers (the endpoint and a
    salted hash of the key, never the key), so a rerun with the same key reuses a level
    already fetched; a level where requests failed or the quota ran out is not cached.

    Args:
        frontier: the nodes to fetch, in priority order (the budget goes to the first).
        relationships: relationship names to follow per object type; an empty mapping
            only fetches the nodes (verdicts, no neighbours).
        fan_out: most related objects followed per relationship per node.
        request_budget: most requests this level may send; None for no limit.
        policy: verdict thresholds.
        concurrency: requests in flight at once.
        leaf_verdicts: also fetch the related objects in full (one request per 40, only
            for relationships with items), so that the next level's nodes come with
            verdicts; for the last level of an expansion.
        skip_enterprise: do not follow the relationships VirusTotal keeps for VT Enterprise
            users (a public key gets an error for them); each node that had some to follow
            gets a ``tier`` gap saying which were skipped.
        credentials: the VirusTotal credentials block.

    Returns:
        The fetched nodes with verdicts, the related objects found, and what was left
        undone (nodes not fetched, relationships cut short) and why.

    Raises:
        InvalidParameterError: a relationship name is malformed (no request made).
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request of the level failed with that same error (a
            failed task run: Prefect never caches it).

    Example:
        ```python
        level = await expand_level(
            [NodeRef(type="domain", id="example.com")], DEFAULT_RELATIONSHIPS, credentials=credentials
        )
        ```
    """
    async with credentials.get_client() as vt:
        result = await fetch_level(
            vt,
            frontier,
            relationships,
            fan_out=fan_out,
            request_budget=request_budget,
            policy=policy,
            concurrency=concurrency,
            leaf_verdicts=leaf_verdicts,
            skip_enterprise=skip_enterprise,
        )
    get_run_logger().info(
        "expanded %d nodes: %d related objects, %d requests, %d left undone",
        len(frontier),
        len(result.discoveries),
        result.requests,
        len(result.gaps),
    )
    if is_partial_level(result):
        # Errors and quota are about this moment, not about the inputs: a later run must ask
        # again rather than be served the gaps. The result goes to the caller (an unpersisted
        # record with its own key), not under the cache key.
        record = get_result_store().create_result_record(result)
        return cast(LevelResult, Completed(data=record, message="partial level: not cached"))
    return result
