"""How an expansion graph is shown: a Mermaid diagram (collapsed past a size) and a ranked table.

Pure functions of the graph model (no Prefect): the ``expand_iocs`` and ``triage`` flows put
their output in artifacts, the command line prints it.
"""

from __future__ import annotations

from collections import Counter

from ._display import defang, node_display, relationship_summary, vt_link
from ._graph_model import GraphNode, IOCGraph

_TYPE_TAG = {"file": "file", "url": "url", "domain": "domain", "ip_address": "ip"}
_LABEL_WIDTH = 36
_CLASSES = (
    "classDef malicious fill:#f8d7da,stroke:#b02a37,color:#58151c",
    "classDef suspicious fill:#fff3cd,stroke:#b58105,color:#523a00",
    "classDef clean fill:#d1e7dd,stroke:#146c43,color:#0a3622",
    "classDef unknown fill:#e9ecef,stroke:#6c757d,color:#212529",
    "classDef collapsed fill:#ffffff,stroke:#adb5bd,stroke-dasharray:4 3,color:#495057",
)


def _short(text: str, width: int = _LABEL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _escape(text: str) -> str:
    """Mermaid-safe label text (entity codes for the characters its parser reads)."""
    for raw, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return text


def _display(node: GraphNode) -> str:
    name = node_display(node)
    verdict = node.verdict if not node.detections else f"{node.verdict} {node.detections}"
    return f"{_TYPE_TAG.get(node.type, node.type)}: {_escape(_short(name))}<br/>{verdict}"


def _drawn(graph: IOCGraph, limit: int) -> list[GraphNode]:
    """Seeds first, then the worst and nearest nodes, up to ``limit``."""
    seeds = set(graph.seeds)
    order = {node.key: i for i, node in enumerate(graph.nodes)}
    ranked = sorted(
        graph.nodes,
        key=lambda n: (n.key not in seeds, -n.severity, n.depth, order[n.key]),
    )
    return ranked[: max(limit, len(seeds))]


def mermaid_diagram(graph: IOCGraph, max_nodes: int = 40) -> str:
    """The graph as a Mermaid ``graph LR``; past ``max_nodes`` the rest is collapsed.

    Collapsed neighbours are drawn as one dashed box per (node, relationship):
    ``+12 more via contacted_domains (3 malicious)``.
    """
    drawn = _drawn(graph, max_nodes)
    ids = {node.key: f"n{i}" for i, node in enumerate(drawn)}
    nodes = graph.node_map()
    lines = ["graph LR"]
    for node in drawn:
        lines.append(f'  {ids[node.key]}["{_display(node)}"]:::{node.verdict}')
    hidden: dict[tuple[str, str], list[GraphNode]] = {}
    for edge in graph.edges:
        if edge.source not in ids:
            continue
        if edge.target in ids:
            lines.append(f"  {ids[edge.source]} -->|{edge.relationship}| {ids[edge.target]}")
        elif edge.target in nodes:
            hidden.setdefault((edge.source, edge.relationship), []).append(nodes[edge.target])
    for i, ((source, relationship), members) in enumerate(hidden.items()):
        verdicts = Counter(member.verdict for member in members)
        worst = ", ".join(f"{verdicts[v]} {v}" for v in ("malicious", "suspicious") if verdicts[v])
        text = f"+{len(members)} more" + (f" ({worst})" if worst else "")
        lines.append(f'  c{i}["{text}"]:::collapsed')
        lines.append(f"  {ids[source]} -.->|{relationship}| c{i}")
    lines += [f"  {line}" for line in _CLASSES]
    return "\n".join(lines)


def mermaid_markdown(
    graph: IOCGraph,
    max_nodes: int = 40,
    title: str = "VirusTotal relationship graph",
    notice: str | None = None,
) -> str:
    """A markdown report: title, ``notice`` (the emulated-data banner), summary, the Mermaid
    diagram, and what was left undone."""
    verdicts = Counter(node.verdict for node in graph.nodes)
    summary = ", ".join(f"{verdicts[v]} {v}" for v in ("malicious", "suspicious", "clean", "unknown"))
    budget = "no budget" if graph.request_budget is None else f"budget {graph.request_budget}"
    cached = sum(1 for level in graph.levels if level.cached)
    parts = [
        f"# {title}",
        "",
        *([f"**{notice}**", ""] if notice else []),
        f"Seeds: {', '.join(f'`{_seed(graph, seed)}`' for seed in graph.seeds) or '(none)'}  ",
        f"{len(graph.nodes)} nodes ({summary}), {len(graph.edges)} edges, depth {graph.max_depth}.  ",
        f"Requests: {graph.requests} ({budget}); sent by this run: {graph.requests_sent}"
        + (f"; {cached} level(s) reused from the cache." if cached else "."),
    ]
    if len(graph.nodes) > max_nodes:
        parts.append(
            f"\nThe diagram shows {max_nodes} of {len(graph.nodes)} nodes (seeds first, then the worst "
            "verdicts); dashed boxes stand for the rest."
        )
    # A text account first: Prefect's default UI shows the Mermaid block as raw code.
    parts += ["", "## Relationships", ""]
    parts += [f"- {line}" for line in relationship_summary(graph)] or ["None."]
    parts += ["", "## Diagram (Mermaid)", "", "```mermaid", mermaid_diagram(graph, max_nodes), "```"]
    if graph.unexpanded:
        parts += ["", f"## Not expanded ({len(graph.unexpanded)})", ""]
        reasons = Counter(gap.reason for gap in graph.unexpanded)
        parts.append(", ".join(f"{n} for {reason}" for reason, n in reasons.most_common()))
        parts.append("")
        for gap in graph.unexpanded[:20]:
            parts.append(f"- `{defang(gap.node)}` (depth {gap.depth}): {gap.reason}: {gap.detail}")
        if len(graph.unexpanded) > 20:
            parts.append(f"- ... and {len(graph.unexpanded) - 20} more (see the flow's result)")
    if graph.truncated:
        reasons = Counter(cut.reason for cut in graph.truncated)
        parts += [
            "",
            f"Relationships cut short: {len(graph.truncated)} "
            f"({', '.join(f'{n} by {r}' for r, n in reasons.most_common())}).",
        ]
    return "\n".join(parts)


def _seed(graph: IOCGraph, key: str) -> str:
    node = graph.node_map().get(key)
    return node_display(node) if node is not None else defang(key)


def node_rows(graph: IOCGraph) -> list[dict[str, str]]:
    """One table row per node, worst verdict first, in the order an analyst reads.

    Indicators are defanged and hashes shortened; the only link is to VirusTotal's page.
    """
    labels = {node.key: node_display(node) for node in graph.nodes}
    via: dict[str, str] = {}
    for edge in graph.edges:
        via.setdefault(
            edge.target, f"{edge.relationship} of {_short(labels.get(edge.source, defang(edge.source)), 48)}"
        )
    seeds = set(graph.seeds)
    rows = []
    for rank, node in enumerate(graph.ranked(), start=1):
        rows.append(
            {
                "indicator": _short(labels[node.key], 80),
                "verdict": node.verdict,
                "detections": node.detections or "-",
                "found via": "seed" if node.key in seeds else via.get(node.key, "-"),
                "type": node.type,
                "depth": str(node.depth),
                "rank": str(rank),
                "status": node.status.value,
                "link": vt_link(node.type, node.id),
            }
        )
    return rows
