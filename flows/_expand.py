"""``expand_iocs``: a budgeted, breadth-first, multi-hop graph of indicators' neighbourhood.

Level by level, one ``expand_level`` task per level (many requests concurrently inside it):
level 0 fetches the seeds, each level fetches its frontier and discovers the next one, every
node is visited once. The loop and the graph are the core's (``core.expand_graph``); the flow
gives it the cached task as its level fetcher and publishes the artifacts.

The leaves (nodes at ``max_depth``) are known from relationship descriptors, which carry no
attributes, so by default they stay ``unknown``: that is the cheapest graph, and rerunning
with ``max_depth + 1`` gives them verdicts for the cost of the new level only (the levels
already fetched come from the task cache). With ``resolve_leaves=True`` the last expanded
level also lists each non-empty relationship in full objects (one request per 40 items),
which gives the leaves verdicts for a fraction of one GET per leaf; where the budget does
not stretch that far, leaves stay in the graph as ``unknown``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.client.schemas.objects import State

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy
from prefect_virustotal.core import (
    EMULATED_BANNER,
    GraphNode,
    IOCGraph,
    LevelFetcher,
    LevelResult,
    LevelSummary,
    NodeRef,
    artifact_key,
    check_expansion_limits,
    collection_values,
    expand_graph,
    graph_subject,
    mermaid_markdown,
    node_display,
    node_rows,
    stix_bundle_json,
)
from prefect_virustotal.tasks import expand_level

CollectionHook = Callable[[list[GraphNode]], Awaitable[Any]]
"""Called with the malicious nodes once the graph is built (e.g. to add them to a collection)."""


@flow(name="virustotal-expand-iocs", log_prints=False)
async def expand_iocs(
    seeds: list[str],
    relationships: dict[str, list[str]] | None = None,
    max_depth: int = 2,
    fan_out: int = 20,
    max_nodes: int = 500,
    request_budget: int | None = 100,
    resolve_leaves: bool = False,
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    reuse_cached_levels: bool = True,
    cache_expiration: timedelta | None = timedelta(days=1),
    max_diagram_nodes: int = 40,
    json_path: str | None = None,
    stix_path: str | None = None,
    collection_hook: CollectionHook | None = None,
    collection: str | None = None,
    send_internal: bool = False,
    own_domains: list[str] | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> IOCGraph:
    """Expand indicators through their VirusTotal relationships into a graph, within a budget.

    Breadth-first by level; every node visited once. Each expanded node costs one GET that
    embeds the first 20 items of every followed relationship with their counts; descriptor
    pages are asked only where ``fan_out`` wants more, never for an empty relationship.
    When the request budget runs out the flow stops cleanly and lists the nodes it did not
    expand, and why (``graph.unexpanded``). Levels are cached on their inputs: a rerun
    (or a rerun one level deeper) does not pay for the levels already fetched.

    Args:
        seeds: hashes, URLs, domains or IP addresses (defanged is fine).
        relationships: relationship names to follow per object type (``file``, ``url``,
            ``domain``, ``ip_address``); ``DEFAULT_RELATIONSHIPS`` when omitted.
        max_depth: hops from the seeds (0 fetches the seeds only).
        fan_out: most related objects followed per relationship per node.
        max_nodes: most nodes in the graph; further neighbours are dropped (and reported).
        request_budget: most requests the expansion may cost; None for no limit.
        resolve_leaves: give the last level's nodes verdicts by listing the last expanded
            level's relationships in full objects (one request per relationship with items,
            per 40 items; budget permitting); otherwise the leaves stay ``unknown``.
        policy: verdict thresholds.
        concurrency: requests in flight at once (the key's rate limit still paces them).
        reuse_cached_levels: reuse levels fetched by an earlier run with the same inputs.
        cache_expiration: how long a fetched level may be reused.
        max_diagram_nodes: nodes drawn in the Mermaid diagram before the rest is collapsed.
        json_path: write the graph as JSON here.
        stix_path: write a STIX 2.1 bundle here (needs the ``stix`` extra).
        collection_hook: awaited with the malicious nodes once the graph is built, e.g. to
            add them to an IoC collection (for callers in Python).
        collection: the name or id of an IoC collection to add the malicious nodes to
            (through ``sync_collection``, removing nothing); a deployment parameter.
        send_internal: also send seeds that are internal addresses or names (private,
            loopback, link-local, multicast, reserved IPs; ``.local``, ``.internal``, ...);
            by default they are left out, as gaps "internal, not sent".
        own_domains: the organisation's own domains, left out like internal names.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        The graph: nodes with verdicts, edges named by relationship, what it cost, and what
        it left undone.

    Raises:
        ValueError: a limit is negative.
        AuthenticationError, QuotaExceededError, APIConnectionError: every request of a
            level failed with that same error (a wrong key, a spent quota, no network).

    Example:
        ```python
        graph = await expand_iocs(["evil.example"], max_depth=2, request_budget=50)
        bad = graph.with_verdict("malicious")
        ```
    """
    check_expansion_limits(max_depth, fan_out, max_nodes, request_budget)
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    # Without reuse a level is fetched afresh and its result still cached for later runs.
    level_task = expand_level.with_options(
        cache_expiration=cache_expiration, refresh_cache=not reuse_cached_levels
    )

    async def fetch(
        frontier: list[NodeRef],
        relationships: dict[str, list[str]],
        *,
        fan_out: int,
        request_budget: int,
        leaf_verdicts: bool,
    ) -> tuple[LevelResult, bool]:
        # An async task called with return_state=True gives an awaitable of its State.
        called: Any = level_task(
            frontier,
            relationships,
            fan_out,
            request_budget,
            policy,
            concurrency,
            leaf_verdicts,
            block.key_tier == "public",  # skip what VirusTotal keeps for VT Enterprise users
            credentials=block,
            return_state=True,
        )
        state: State[LevelResult] = await called
        return await state.aresult(), state.name == "Cached"

    def log_level(level: LevelSummary) -> None:
        logger.info(
            "level %d: %d nodes fetched%s, %d requests, %d new nodes",
            level.depth,
            level.frontier,
            " (cached)" if level.cached else "",
            level.requests,
            level.new_nodes,
        )

    fetcher: LevelFetcher = fetch
    graph = await expand_graph(
        seeds,
        fetcher,
        relationships=relationships,
        max_depth=max_depth,
        fan_out=fan_out,
        max_nodes=max_nodes,
        request_budget=request_budget,
        resolve_leaves=resolve_leaves,
        internal=None if send_internal else list(own_domains or []),
        on_level=log_level,
    )

    await _publish(graph, max_diagram_nodes)
    if json_path:
        await anyio.Path(json_path).write_text(graph.to_json(), encoding="utf-8")
    if stix_path:
        await anyio.Path(stix_path).write_text(stix_bundle_json(graph), encoding="utf-8")
    malicious = graph.with_verdict("malicious")
    if collection_hook is not None and malicious:
        await collection_hook(malicious)
    if collection is not None and malicious:
        from ._collections import sync_collection

        await sync_collection(
            collection, indicators=collection_values(malicious), credentials=block, remove_missing=False
        )
    summary: dict[str, int] = {}
    for node in graph.nodes:
        summary[node.verdict] = summary.get(node.verdict, 0) + 1
    logger.info(
        "graph: %d nodes %s, %d edges, %d requests (%d sent), %d left unexpanded",
        len(graph.nodes),
        summary,
        len(graph.edges),
        graph.requests,
        graph.requests_sent,
        len(graph.unexpanded),
    )
    return graph


async def _publish(graph: IOCGraph, max_diagram_nodes: int) -> None:
    """The Mermaid diagram and the ranked table as Prefect artifacts."""
    notice = EMULATED_BANNER if graph.emulated else None
    if graph.emulated:
        get_run_logger().warning(EMULATED_BANNER)
    subject = graph_subject(graph)
    seeds = ", ".join(node_display(n) for n in graph.nodes if n.key in set(graph.seeds)) or "no seeds"
    tail = f"\n\n**{notice}**" if notice else ""
    await acreate_markdown_artifact(
        key=artifact_key("expansion-graph", subject),
        markdown=mermaid_markdown(graph, max_diagram_nodes, notice=notice),
        description=f"VirusTotal relationship graph of {seeds}: {len(graph.nodes)} nodes (Mermaid).{tail}",
    )
    await acreate_table_artifact(
        key=artifact_key("expansion-nodes", subject),
        table=node_rows(graph),
        description=f"VirusTotal expansion of {seeds}: {len(graph.nodes)} nodes, worst verdict first.{tail}",
    )
