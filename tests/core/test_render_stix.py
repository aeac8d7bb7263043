"""STIX 2.1 export of an expansion graph, checked with the stix2 library itself."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import stix2

from prefect_virustotal.core import EMULATED_BANNER, stix_bundle, stix_bundle_json
from tests.core.test_graph_model import sample_graph

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_bundle_maps_nodes_edges_and_verdicts() -> None:
    graph = sample_graph()
    bundle = stix2.parse(stix_bundle_json(graph, created=WHEN), allow_custom=True)
    by_type: dict[str, list[object]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert len(by_type["file"]) == 1 and by_type["file"][0].hashes["MD5"] == "b" * 32
    assert by_type["file"][0].x_virustotal_verdict == "malicious"
    assert [d.value for d in by_type["domain-name"]] == ["evil.example", "other.example"]
    assert [ip.value for ip in by_type["ipv4-addr"]] == ["192.0.2.7"]
    assert [ip.value for ip in by_type["ipv6-addr"]] == ["2001:db8::1"]
    assert [u.value for u in by_type["url"]] == ["http://evil.example/a'b"]
    # Two malicious and one suspicious node: three indicators, each based on its observable.
    patterns = sorted(i.pattern for i in by_type["indicator"])
    assert patterns == sorted(
        [
            "[file:hashes.'SHA-256' = '" + "a" * 64 + "']",
            "[domain-name:value = 'evil.example']",
            "[ipv6-addr:value = '2001:db8::1']",
        ]
    )
    kinds = sorted(r.relationship_type for r in by_type["relationship"])
    assert kinds.count("based-on") == 3
    assert sorted(k for k in kinds if k != "based-on") == sorted(
        e.relationship.replace("_", "-") for e in graph.edges
    )
    (note,) = by_type["note"]
    assert note.content == EMULATED_BANNER


def test_ids_are_stable() -> None:
    first = json.loads(stix_bundle_json(sample_graph(), created=WHEN))
    second = json.loads(stix_bundle_json(sample_graph(), created=WHEN))
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in second["objects"]]
    file_id = next(o["id"] for o in first["objects"] if o["type"] == "file")
    assert file_id == stix2.File(hashes={"SHA-256": "a" * 64}).id


def test_url_without_text_is_left_out() -> None:
    graph = sample_graph()
    graph.nodes[3] = graph.nodes[3].model_copy(update={"label": graph.nodes[3].id})
    bundle = stix_bundle(graph, created=WHEN)
    assert not [o for o in bundle.objects if o.type == "url"]
    assert all(getattr(o, "relationship_type", "") != "urls" for o in bundle.objects)
