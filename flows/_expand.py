"""``expand_iocs``: a budgeted, breadth-first, multi-hop graph of indicators' neighbourhood.

Level by level, one ``expand_level`` task per level (many requests concurrently inside it):
level 0 fetches the seeds, each level fetches its frontier and discovers the next one, every
node is visited once.

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
from prefect_virustotal.client import (
    InvalidIndicatorError,
    VerdictPolicy,
    is_internal,
    parse_indicator,
    redact_all,
)
from prefect_virustotal.client.models import (
    GraphEdge,
    GraphGap,
    GraphNode,
    IOCGraph,
    LevelSummary,
    NodeRef,
    NodeStatus,
    TruncatedRelationship,
)
from prefect_virustotal.core import (
    DEFAULT_RELATIONSHIPS,
    INTERNAL_NOT_SENT,
    LevelResult,
    artifact_key,
    level_request_bound,
    node_display,
)
from prefect_virustotal.tasks import expand_level

from ._enrich import EMULATED_BANNER
from ._expand_artifacts import mermaid_markdown, node_rows

CollectionHook = Callable[[list[GraphNode]], Awaitable[Any]]
"""Called with the malicious nodes once the graph is built (e.g. to add them to a collection)."""


class _Builder:
    """Merges level results into one graph."""

    def __init__(self, graph: IOCGraph, max_nodes: int) -> None:
        self.graph = graph
        self.max_nodes = max_nodes
        self.nodes: dict[str, GraphNode] = {}
        self.edges: dict[tuple[str, str, str], GraphEdge] = {}
        self.dropped: dict[tuple[str, str], int] = {}

    def add(self, node: GraphNode) -> bool:
        if node.key in self.nodes:
            return False
        self.nodes[node.key] = node
        return True

    def _rename(self, requested: str, fetched: GraphNode) -> None:
        """A seed given in another form (MD5, URL text) gets its canonical key, in place."""
        if requested in self.graph.seeds:
            self.graph.seeds[self.graph.seeds.index(requested)] = fetched.key
        old = self.nodes.get(requested)
        depth = old.depth if old is not None else 0
        renamed: dict[str, GraphNode] = {}
        for key, node in self.nodes.items():
            if key == requested:
                if fetched.key not in self.nodes:
                    renamed[fetched.key] = fetched.model_copy(update={"depth": depth})
            elif key == fetched.key and node.status == NodeStatus.DISCOVERED:
                renamed[key] = fetched.model_copy(update={"depth": min(depth, node.depth)})
            else:
                renamed[key] = node
        self.nodes = renamed
        self.graph.seeds = list(dict.fromkeys(self.graph.seeds))

    def merge(self, depth: int, frontier: list[NodeRef], result: LevelResult) -> list[NodeRef]:
        """Fold one level in; return the next frontier, children of the worst nodes first."""
        for ref, fetched in zip(frontier, result.nodes, strict=True):
            requested = ref.key
            if requested != fetched.key:
                self._rename(requested, fetched)
                continue
            self.nodes[fetched.key] = fetched.model_copy(update={"depth": depth})
        for gap in result.gaps:
            key = result.requested.get(gap.node, gap.node)
            self.graph.unexpanded.append(gap.model_copy(update={"node": key, "depth": depth}))
        self.graph.truncated += result.truncated

        parents: dict[str, int] = {}
        discovered: list[NodeRef] = []
        for found in result.discoveries:
            target = found.target.key
            if target == found.source:
                continue
            if found.node is not None and target in self.nodes:
                known = self.nodes[target]
                if known.status == NodeStatus.DISCOVERED:  # the verdict arrives with the full object
                    self.nodes[target] = found.node.model_copy(
                        update={"depth": known.depth, "label": known.label or found.node.label}
                    )
            if target not in self.nodes:
                if len(self.nodes) >= self.max_nodes:
                    slot = (found.source, found.relationship)
                    self.dropped[slot] = self.dropped.get(slot, 0) + 1
                    continue
                if found.node is not None:
                    self.nodes[target] = found.node.model_copy(update={"depth": depth + 1})
                else:
                    self.nodes[target] = GraphNode(
                        type=found.target.type,
                        id=found.target.id,
                        depth=depth + 1,
                        label=found.target.label or found.target.id,
                    )
                discovered.append(found.target)
            edge_key = (found.source, found.relationship, target)
            if edge_key not in self.edges:
                self.edges[edge_key] = GraphEdge(
                    source=found.source, target=target, relationship=found.relationship
                )
            source = self.nodes.get(found.source)
            severity = source.severity if source is not None else 0
            parents[target] = max(parents.get(target, 0), severity)
        for (source_key, name), dropped in sorted(self.dropped.items()):
            holder = self.nodes.get(source_key)
            count = holder.relationship_counts.get(name) if holder else None
            self.graph.truncated.append(
                TruncatedRelationship(
                    node=source_key,
                    relationship=name,
                    count=count,
                    followed=max(0, (count or dropped) - dropped),
                    reason="max_nodes",
                )
            )
        self.dropped.clear()
        order = {ref.key: i for i, ref in enumerate(discovered)}
        return sorted(discovered, key=lambda ref: (-parents.get(ref.key, 0), order[ref.key]))

    def finish(self) -> IOCGraph:
        self.graph.nodes = list(self.nodes.values())
        self.graph.edges = list(self.edges.values())
        return self.graph


def _seed_refs(seeds: list[str], graph: IOCGraph, internal: list[str] | None) -> list[NodeRef]:
    """The seeds to fetch; invalid and internal ones (unless ``internal`` is None) become gaps."""
    refs: dict[str, NodeRef] = {}
    for raw in redact_all(seeds)[0]:
        try:
            indicator = parse_indicator(raw)
        except InvalidIndicatorError as exc:
            graph.unexpanded.append(GraphGap(node=raw, depth=0, reason="invalid", detail=str(exc)))
            continue
        if internal is not None and is_internal(indicator, internal):
            graph.unexpanded.append(
                GraphGap(node=indicator.value, depth=0, reason="internal", detail=INTERNAL_NOT_SENT)
            )
            continue
        ref = NodeRef(type=indicator.kind, id=indicator.value, label=indicator.value)
        refs.setdefault(ref.key, ref)
    return list(refs.values())


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
        credentials: a credentials block, or the name of a saved one.
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
    if max_depth < 0 or fan_out < 0 or max_nodes < 1 or (request_budget is not None and request_budget < 0):
        raise ValueError("max_depth, fan_out and request_budget must not be negative; max_nodes >= 1")
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    follow = {kind: list(names) for kind, names in (relationships or DEFAULT_RELATIONSHIPS).items()}
    graph = IOCGraph(max_depth=max_depth, request_budget=request_budget)
    frontier = _seed_refs(seeds, graph, None if send_internal else list(own_domains or []))
    graph.seeds = [ref.key for ref in frontier]
    builder = _Builder(graph, max_nodes)
    for ref in frontier[:max_nodes]:
        builder.add(GraphNode(type=ref.type, id=ref.id, label=ref.label or ref.id))
    frontier = frontier[:max_nodes]
    # Without reuse a level is fetched afresh and its result still cached for later runs.
    level_task = expand_level.with_options(
        cache_expiration=cache_expiration, refresh_cache=not reuse_cached_levels
    )

    for depth in range(max_depth + 1):
        if not frontier:
            break
        expanding = depth < max_depth
        if not expanding and depth > 0:
            break  # the leaves: known from descriptors (or with verdicts, see resolve_leaves)
        rels = follow if expanding else {}
        leaf_verdicts = resolve_leaves and depth == max_depth - 1
        bound = level_request_bound(frontier, rels, fan_out, leaf_verdicts)
        remaining = None if request_budget is None else request_budget - graph.requests
        level_budget = bound if remaining is None else min(remaining, bound)
        if level_budget <= 0:
            what = "expanded" if expanding else "fetched (leaf verdict)"
            for ref in frontier:
                graph.unexpanded.append(
                    GraphGap(
                        node=ref.key,
                        depth=depth,
                        reason="request_budget",
                        detail=f"not {what}: the request budget of {request_budget} is spent",
                    )
                )
            break
        # An async task called with return_state=True gives an awaitable of its State.
        called: Any = level_task(
            frontier,
            rels,
            fan_out,
            level_budget,
            policy,
            concurrency,
            leaf_verdicts,
            block.key_tier == "public",  # skip what VirusTotal keeps for VT Enterprise users
            credentials=block,
            return_state=True,
        )
        state: State[LevelResult] = await called
        result: LevelResult = await state.aresult()
        cached = state.name == "Cached"
        graph.requests += result.requests
        graph.requests_sent += 0 if cached else result.requests_sent
        graph.emulated = graph.emulated or result.emulated
        before = len(builder.nodes)
        next_frontier = builder.merge(depth, frontier, result)
        graph.levels.append(
            LevelSummary(
                depth=depth,
                frontier=len(frontier),
                requests=result.requests,
                new_nodes=len(builder.nodes) - before,
                cached=cached,
            )
        )
        logger.info(
            "level %d: %d nodes fetched%s, %d requests, %d new nodes",
            depth,
            len(frontier),
            " (cached)" if cached else "",
            result.requests,
            len(builder.nodes) - before,
        )
        frontier = next_frontier
    graph = builder.finish()

    await _publish(graph, max_diagram_nodes)
    if json_path:
        await anyio.Path(json_path).write_text(graph.to_json(), encoding="utf-8")
    if stix_path:
        from ._stix import stix_bundle_json

        await anyio.Path(stix_path).write_text(stix_bundle_json(graph), encoding="utf-8")
    malicious = graph.with_verdict("malicious")
    if collection_hook is not None and malicious:
        await collection_hook(malicious)
    if collection is not None and malicious:
        from ._collections import sync_collection

        # A URL node known only by its SHA-256 would read as a file hash: send URLs by URL.
        values = [
            n.label if n.type == "url" else n.id for n in malicious if n.type != "url" or "://" in n.label
        ]
        await sync_collection(collection, indicators=values, credentials=block, remove_missing=False)
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
    subject = graph.seeds[0].partition(":")[2] if graph.seeds else "none"
    if len(graph.seeds) > 1:
        subject += f" and {len(graph.seeds) - 1} more"
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
