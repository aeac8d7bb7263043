"""The typed graph of an indicator's neighbourhood that ``expand_iocs`` builds.

Nodes are keyed ``<type>:<id>`` (``file:<sha256>``, ``url:<sha256>``, ``domain:<name>``,
``ip_address:<address>``); edges carry the v3 relationship name they were found through.
The graph also says what it did not do: frontier nodes left unexpanded (and why) and
relationships cut short by the fan-out, the node cap or the request budget.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field

from prefect_virustotal.client.models import VERDICT_SEVERITY, VTModel

NodeVerdict = Literal["malicious", "suspicious", "clean", "unknown"]
"""A node's verdict (the values of the client's ``Verdict``)."""


def node_key(kind: str, object_id: str) -> str:
    """The key of a node: ``<type>:<id>``."""
    return f"{kind}:{object_id}"


class NodeStatus(str, Enum):
    """How much the expansion knows about a node."""

    EXPANDED = "expanded"
    """Fetched, and its relationships followed."""
    FETCHED = "fetched"
    """Fetched (verdict known); its relationships were not followed (last level)."""
    DISCOVERED = "discovered"
    """Known only from a relationship descriptor: no attributes, verdict unknown."""
    NOT_FOUND = "not_found"
    """VirusTotal has no record of it."""
    SKIPPED = "skipped"
    """A limit (request budget, quota) stopped it from being fetched."""
    ERROR = "error"
    """The request for it failed."""


class NodeRef(VTModel):
    """A node to fetch: its type and id, and a label when a descriptor gave one."""

    type: str
    id: str
    label: str | None = None

    @property
    def key(self) -> str:
        """``<type>:<id>``."""
        return node_key(self.type, self.id)


class GraphNode(VTModel):
    """One indicator in the graph.

    Attributes:
        type: file, url, domain or ip_address.
        id: the canonical v3 id (SHA-256 for files and URLs).
        verdict: malicious, suspicious, clean or unknown (never fetched: unknown).
        status: how much is known (see ``NodeStatus``).
        depth: hops from the nearest seed (seeds are 0).
        label: what an analyst reads: the URL, the domain, the address, the file name.
        detections: ``malicious/engines`` when fetched.
        reason: why the verdict (or why no verdict).
        attributes: a few key attributes (names, type, AS owner, registrar, ...).
        relationship_counts: ``meta.count`` of each followed relationship.
    """

    type: str
    id: str
    verdict: NodeVerdict = "unknown"
    status: NodeStatus = NodeStatus.DISCOVERED
    depth: int = 0
    label: str = ""
    detections: str | None = None
    reason: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    relationship_counts: dict[str, int] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """``<type>:<id>``."""
        return node_key(self.type, self.id)

    @property
    def severity(self) -> int:
        """3 malicious, 2 suspicious, 1 unknown, 0 clean."""
        return VERDICT_SEVERITY[self.verdict]

    @property
    def ref(self) -> NodeRef:
        """The node as a reference to fetch."""
        return NodeRef(type=self.type, id=self.id, label=self.label or None)


class GraphEdge(VTModel):
    """``source --relationship--> target`` (node keys)."""

    source: str
    target: str
    relationship: str


class GraphGap(VTModel):
    """A node the expansion should have fetched or expanded but did not.

    Attributes:
        node: the node key.
        depth: its depth.
        reason: request_budget, quota, not_found or error.
        detail: one line for the analyst.
    """

    node: str
    depth: int
    reason: str
    detail: str = ""


class TruncatedRelationship(VTModel):
    """A relationship of a node that was not followed to its end.

    Attributes:
        node: the node key.
        relationship: the v3 relationship name.
        count: how many related objects VirusTotal has (None when it does not say).
        followed: how many the graph holds.
        reason: fan_out, request_budget or max_nodes.
    """

    node: str
    relationship: str
    count: int | None = None
    followed: int
    reason: str


class LevelSummary(VTModel):
    """What one breadth-first level cost and found."""

    depth: int
    frontier: int
    requests: int
    new_nodes: int
    cached: bool = False


class IOCGraph(VTModel):
    """The neighbourhood of one or more seed indicators.

    Attributes:
        seeds: node keys of the seeds (canonical ids once fetched).
        nodes: every node, in discovery order.
        edges: every edge, deduplicated.
        max_depth: the depth asked for.
        requests: requests the expansion cost (levels reused from the cache count what
            they cost when they were fetched).
        requests_sent: requests actually sent by this run (0 for a fully cached rerun).
        request_budget: the budget given; None for none.
        unexpanded: nodes left unfetched or unexpanded, and why.
        truncated: relationships cut short, and why.
        levels: per-level cost.
        emulated: the data came from the pack's emulator: it is fiction.
    """

    seeds: list[str] = Field(default_factory=list)
    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[GraphEdge] = Field(default_factory=list)
    max_depth: int = 0
    requests: int = 0
    requests_sent: int = 0
    request_budget: int | None = None
    unexpanded: list[GraphGap] = Field(default_factory=list)
    truncated: list[TruncatedRelationship] = Field(default_factory=list)
    levels: list[LevelSummary] = Field(default_factory=list)
    emulated: bool = False

    @property
    def complete(self) -> bool:
        """True when no node was left unexpanded for a limit or an error."""
        return not self.unexpanded

    def node(self, key: str) -> GraphNode | None:
        """The node with this key, or None."""
        for node in self.nodes:
            if node.key == key:
                return node
        return None

    def node_map(self) -> dict[str, GraphNode]:
        """Nodes by key."""
        return {node.key: node for node in self.nodes}

    def ranked(self) -> list[GraphNode]:
        """Nodes worst first: by verdict, then detections, then depth."""

        def malicious_count(node: GraphNode) -> int:
            if not node.detections:
                return 0
            head = node.detections.split("/", 1)[0]
            return int(head) if head.isdigit() else 0

        return sorted(self.nodes, key=lambda n: (-n.severity, -malicious_count(n), n.depth))

    def with_verdict(self, *verdicts: str) -> list[GraphNode]:
        """Nodes with one of these verdicts, e.g. ``graph.with_verdict("malicious")``."""
        return [node for node in self.nodes if node.verdict in verdicts]

    def neighbours(self, key: str) -> list[tuple[str, str]]:
        """``(relationship, other key)`` of every edge leaving ``key``."""
        return [(edge.relationship, edge.target) for edge in self.edges if edge.source == key]

    def to_json(self, *, indent: int | None = 2) -> str:
        """The graph as JSON (``IOCGraph.model_validate_json`` reads it back)."""
        return self.model_dump_json(indent=indent)
