"""The graph model: keys, ranking, JSON round trip."""

from __future__ import annotations

from prefect_virustotal.core import GraphEdge, GraphGap, GraphNode, IOCGraph, NodeStatus, node_key


def sample_graph() -> IOCGraph:
    """A small hand-made graph: a malicious file, what it contacted, and a gap."""
    sha = "a" * 64
    nodes = [
        GraphNode(
            type="file",
            id=sha,
            verdict="malicious",
            status=NodeStatus.EXPANDED,
            label="drop.exe",
            detections="12/70",
            attributes={"md5": "b" * 32},
        ),
        GraphNode(
            type="domain",
            id="evil.example",
            verdict="suspicious",
            status=NodeStatus.EXPANDED,
            depth=1,
            label="evil.example",
            detections="2/90",
        ),
        GraphNode(
            type="ip_address",
            id="192.0.2.7",
            verdict="clean",
            status=NodeStatus.EXPANDED,
            depth=1,
            label="192.0.2.7",
            detections="0/90",
        ),
        GraphNode(type="url", id="c" * 64, depth=2, label="http://evil.example/a'b"),
        GraphNode(
            type="ip_address",
            id="2001:db8::1",
            depth=2,
            verdict="malicious",
            detections="30/90",
            status=NodeStatus.FETCHED,
        ),
        GraphNode(type="domain", id="other.example", depth=1, status=NodeStatus.SKIPPED),
    ]
    edges = [
        GraphEdge(source=f"file:{sha}", target="domain:evil.example", relationship="contacted_domains"),
        GraphEdge(source=f"file:{sha}", target="ip_address:192.0.2.7", relationship="contacted_ips"),
        GraphEdge(source="domain:evil.example", target="url:" + "c" * 64, relationship="urls"),
        GraphEdge(source="domain:evil.example", target="ip_address:2001:db8::1", relationship="resolutions"),
        GraphEdge(source=f"file:{sha}", target="domain:other.example", relationship="contacted_domains"),
    ]
    return IOCGraph(
        seeds=[f"file:{sha}"],
        nodes=nodes,
        edges=edges,
        max_depth=2,
        requests=4,
        requests_sent=4,
        request_budget=4,
        unexpanded=[GraphGap(node="domain:other.example", depth=1, reason="request_budget", detail="spent")],
        emulated=True,
    )


def test_keys_and_lookups() -> None:
    graph = sample_graph()
    assert node_key("domain", "evil.example") == "domain:evil.example"
    assert graph.node("domain:evil.example") is graph.nodes[1]
    assert graph.node("domain:nothing") is None
    assert graph.nodes[0].ref.key == graph.seeds[0]
    assert graph.neighbours(graph.seeds[0])[0] == ("contacted_domains", "domain:evil.example")
    assert not graph.complete


def test_ranking_is_worst_first() -> None:
    ranked = sample_graph().ranked()
    assert [n.verdict for n in ranked] == [
        "malicious",
        "malicious",
        "suspicious",
        "unknown",
        "unknown",
        "clean",
    ]
    assert ranked[0].id == "2001:db8::1"  # 30 detections before 12
    assert [n.id for n in sample_graph().with_verdict("malicious")] == ["a" * 64, "2001:db8::1"]


def test_json_round_trip() -> None:
    graph = sample_graph()
    text = graph.to_json()
    assert '"status": "expanded"' in text
    assert IOCGraph.model_validate_json(text) == graph
