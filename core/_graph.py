"""The expansion graph without Prefect: seeds checked, levels merged, the level loop in a budget.

``expand_graph`` runs the breadth-first loop of ``expand_iocs``: level 0 fetches the seeds,
each level fetches its frontier and discovers the next one, every node is visited once, and
each level gets what is left of the request budget (never more than it can spend). How a
level is fetched is the caller's: the ``expand_iocs`` flow passes one that runs the cached
``expand_level`` task, the command line one that calls ``fetch_level`` on a client
(``level_fetcher``). Both build the same graph from the same code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from prefect_virustotal.client import (
    InvalidIndicatorError,
    VerdictPolicy,
    VirusTotalClient,
    is_internal,
    parse_indicator,
    redact_all,
)

from ._enrich import INTERNAL_NOT_SENT
from ._expand import DEFAULT_RELATIONSHIPS, LevelResult, fetch_level, level_request_bound
from ._graph_model import (
    GraphEdge,
    GraphGap,
    GraphNode,
    IOCGraph,
    LevelSummary,
    NodeRef,
    NodeStatus,
    TruncatedRelationship,
)


class LevelFetcher(Protocol):
    """Fetches one level of an expansion; returns its result and whether it came from a cache."""

    def __call__(
        self,
        frontier: list[NodeRef],
        relationships: dict[str, list[str]],
        *,
        fan_out: int,
        request_budget: int,
        leaf_verdicts: bool,
    ) -> Awaitable[tuple[LevelResult, bool]]: ...


class GraphBuilder:
    """Merges level results into one graph: each node once, each edge once, renamed seeds."""

    def __init__(self, graph: IOCGraph, max_nodes: int) -> None:
        self.graph = graph
        self.max_nodes = max_nodes
        self.nodes: dict[str, GraphNode] = {}
        self.edges: dict[tuple[str, str, str], GraphEdge] = {}
        self.dropped: dict[tuple[str, str], int] = {}

    def add(self, node: GraphNode) -> bool:
        """Add a node not seen yet; False if its key is already in the graph."""
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
        """The graph with every node and edge merged so far."""
        self.graph.nodes = list(self.nodes.values())
        self.graph.edges = list(self.edges.values())
        return self.graph


def seed_refs(seeds: Sequence[str], graph: IOCGraph, internal: Sequence[str] | None) -> list[NodeRef]:
    """The seeds to fetch, each once; invalid ones become gaps of ``graph``.

    Credentials in URLs are removed first. Internal addresses and names (and the domains in
    ``internal``) become gaps "internal, not sent" too, unless ``internal`` is None.
    """
    refs: dict[str, NodeRef] = {}
    for raw in redact_all(list(seeds))[0]:
        try:
            indicator = parse_indicator(raw)
        except InvalidIndicatorError as exc:
            graph.unexpanded.append(GraphGap(node=raw, depth=0, reason="invalid", detail=str(exc)))
            continue
        if internal is not None and is_internal(indicator, list(internal)):
            graph.unexpanded.append(
                GraphGap(node=indicator.value, depth=0, reason="internal", detail=INTERNAL_NOT_SENT)
            )
            continue
        ref = NodeRef(type=indicator.kind, id=indicator.value, label=indicator.value)
        refs.setdefault(ref.key, ref)
    return list(refs.values())


def check_expansion_limits(max_depth: int, fan_out: int, max_nodes: int, request_budget: int | None) -> None:
    """Refuse impossible limits before any request.

    Raises:
        ValueError: a limit is negative, or ``max_nodes`` is below 1.
    """
    if max_depth < 0 or fan_out < 0 or max_nodes < 1 or (request_budget is not None and request_budget < 0):
        raise ValueError("max_depth, fan_out and request_budget must not be negative; max_nodes >= 1")


def level_fetcher(
    vt: VirusTotalClient,
    *,
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    skip_enterprise: bool = False,
) -> LevelFetcher:
    """A ``LevelFetcher`` that calls ``fetch_level`` on ``vt`` (no cache: never ``cached``)."""

    async def fetch(
        frontier: list[NodeRef],
        relationships: dict[str, list[str]],
        *,
        fan_out: int,
        request_budget: int,
        leaf_verdicts: bool,
    ) -> tuple[LevelResult, bool]:
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
        return result, False

    return fetch


async def expand_graph(
    seeds: Sequence[str],
    fetch: LevelFetcher,
    *,
    relationships: Mapping[str, Sequence[str]] | None = None,
    max_depth: int = 2,
    fan_out: int = 20,
    max_nodes: int = 500,
    request_budget: int | None = 100,
    resolve_leaves: bool = False,
    internal: Sequence[str] | None = (),
    on_level: Callable[[LevelSummary], None] | None = None,
) -> IOCGraph:
    """Expand seeds breadth-first into a graph, one ``fetch`` per level, within a request budget.

    Every node is fetched once. Each level gets what is left of the budget, capped by what
    it can spend (``level_request_bound``); when nothing is left, the frontier becomes
    ``request_budget`` gaps and the loop stops. The leaves (``max_depth``) are known from
    relationship descriptors; with ``resolve_leaves`` the last expanded level also lists its
    relationships in full objects, which gives the leaves verdicts.

    Args:
        seeds: hashes, URLs, domains or IP addresses (defanged is fine); invalid ones are gaps.
        fetch: fetches one level (``level_fetcher`` for a client, or a task).
        relationships: names to follow per object type; ``DEFAULT_RELATIONSHIPS`` by default.
        max_depth: hops from the seeds (0 fetches the seeds only).
        fan_out: most related objects followed per relationship per node.
        max_nodes: most nodes in the graph; further neighbours are dropped (and reported).
        request_budget: most requests the expansion may cost; None for no limit.
        resolve_leaves: give the leaves verdicts (budget permitting).
        internal: the organisation's own domains: these and internal addresses and names are
            gaps "internal, not sent"; None sends everything.
        on_level: told of each level once it is merged.

    Returns:
        The graph (``requests``, ``requests_sent``, ``levels``, ``unexpanded`` filled in).

    Raises:
        ValueError: a limit is negative (before any request).
        AuthenticationError, QuotaExceededError, APIConnectionError: what ``fetch`` raised
            (``fetch_level`` raises only when every request of a level failed alike).
    """
    check_expansion_limits(max_depth, fan_out, max_nodes, request_budget)
    follow = {kind: list(names) for kind, names in (relationships or DEFAULT_RELATIONSHIPS).items()}
    graph = IOCGraph(max_depth=max_depth, request_budget=request_budget)
    frontier = seed_refs(seeds, graph, internal)
    graph.seeds = [ref.key for ref in frontier]  # every seed, even past max_nodes
    frontier = frontier[:max_nodes]
    builder = GraphBuilder(graph, max_nodes)
    for ref in frontier:
        builder.add(GraphNode(type=ref.type, id=ref.id, label=ref.label or ref.id))

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
        result, cached = await fetch(
            frontier, rels, fan_out=fan_out, request_budget=level_budget, leaf_verdicts=leaf_verdicts
        )
        graph.requests += result.requests
        graph.requests_sent += 0 if cached else result.requests_sent
        graph.emulated = graph.emulated or result.emulated
        before = len(builder.nodes)
        next_frontier = builder.merge(depth, frontier, result)
        level = LevelSummary(
            depth=depth,
            frontier=len(frontier),
            requests=result.requests,
            new_nodes=len(builder.nodes) - before,
            cached=cached,
        )
        graph.levels.append(level)
        if on_level is not None:
            on_level(level)
        frontier = next_frontier
    return builder.finish()


def collection_values(nodes: Sequence[GraphNode]) -> list[str]:
    """What to add to an IoC collection for these nodes: URLs by their text, others by id.

    A URL node known only by its SHA-256 is left out: the id would read as a file hash.
    """
    return [n.label if n.type == "url" else n.id for n in nodes if n.type != "url" or "://" in n.label]


def graph_subject(graph: IOCGraph) -> str:
    """A short name of what a graph is about, for artifact keys: the first seed (and how many more)."""
    subject = graph.seeds[0].partition(":")[2] if graph.seeds else "none"
    if len(graph.seeds) > 1:
        subject += f" and {len(graph.seeds) - 1} more"
    return subject
