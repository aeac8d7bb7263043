"""The Mermaid diagram and the ranked table of an expansion graph."""

from __future__ import annotations

from prefect_virustotal.core import (
    GraphEdge,
    GraphNode,
    IOCGraph,
    mermaid_diagram,
    mermaid_markdown,
    node_rows,
)
from tests.core.test_graph_model import sample_graph


def test_small_graph_is_drawn_whole() -> None:
    graph = sample_graph()
    diagram = mermaid_diagram(graph, max_nodes=40)
    assert diagram.startswith("graph LR")
    assert diagram.count(":::") == len(graph.nodes)
    assert diagram.count("-->|") == len(graph.edges)
    assert "-->|contacted_domains|" in diagram
    assert "classDef malicious" in diagram
    assert "#quot;" not in diagram and "a'b" in diagram  # quotes only where Mermaid needs them
    assert "drop.exe (aaaaaaaaaaaa)" in diagram  # the hash shortened to 12 characters


def test_big_graph_is_collapsed_readably() -> None:
    seed = GraphNode(type="domain", id="hub.example", verdict="malicious", detections="9/90")
    leaves = [
        GraphNode(
            type="ip_address", id=f"198.51.100.{i}", depth=1, verdict="malicious" if i < 3 else "unknown"
        )
        for i in range(60)
    ]
    graph = IOCGraph(
        seeds=[seed.key],
        nodes=[seed, *leaves],
        edges=[GraphEdge(source=seed.key, target=leaf.key, relationship="resolutions") for leaf in leaves],
        max_depth=1,
    )
    diagram = mermaid_diagram(graph, max_nodes=10)
    drawn = [line for line in diagram.splitlines() if ":::" in line and "collapsed" not in line]
    assert len(drawn) == 10
    assert (
        "198[.]51[.]100[.]0" in diagram and "198[.]51[.]100[.]2" in diagram
    )  # the malicious first, defanged
    assert '["+51 more"]:::collapsed' in diagram
    assert "-.->|resolutions|" in diagram
    report = mermaid_markdown(graph, max_nodes=10)
    assert "shows 10 of 61 nodes" in report and "```mermaid" in report


def test_report_lists_gaps_and_table_ranks() -> None:
    graph = sample_graph()
    report = mermaid_markdown(graph)
    assert "## Not expanded (1)" in report and "`domain:other[.]example`" in report
    assert "budget 4" in report
    rows = node_rows(graph)
    assert [row["verdict"] for row in rows][:3] == ["malicious", "malicious", "suspicious"]
    assert rows[0]["found via"] == "resolutions of evil[.]example"
    seed_row = next(row for row in rows if row["found via"] == "seed")
    assert seed_row["link"] == "https://www.virustotal.com/gui/file/" + "a" * 64
    assert {row["rank"] for row in rows} == {str(i) for i in range(1, len(rows) + 1)}
