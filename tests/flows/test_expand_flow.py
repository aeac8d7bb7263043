"""``expand_iocs`` end to end: real flow, real level tasks, real client, emulator behind it.

Every test that counts requests runs with ``reuse_cached_levels=False`` (the level cache is
shared by the whole test session), except the cache test's second run, which is the point.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import parse_qs

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.core import GraphNode, IOCGraph, NodeStatus, expand_graph, level_fetcher
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import expand_iocs
from prefect_virustotal.tasks import DEFAULT_RELATIONSHIPS

pytestmark = pytest.mark.usefixtures("prefect_harness")

_OBJECT_PATH_PARTS = 5  # "", api, v3, collection, id


def _object_gets(emulator: Emulator) -> list[str]:
    return [r.path for r in emulator.requests if len(r.path.split("/")) == _OBJECT_PATH_PARTS]


def _descriptor_gets(emulator: Emulator) -> list[tuple[str, dict[str, list[str]]]]:
    return [(r.path, parse_qs(r.query)) for r in emulator.requests if "/relationships/" in r.path]


async def test_two_levels_one_get_per_node(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    world = mounted.world
    seed = world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
    mounted.reset_log()
    graph = await expand_iocs([seed], credentials=credentials, request_budget=None, reuse_cached_levels=False)

    assert graph.seeds == [f"file:{seed}"]
    root = graph.node(f"file:{seed}")
    assert root is not None and root.verdict == "malicious" and root.status == NodeStatus.EXPANDED
    assert root.detections and root.attributes["md5"]
    assert [level.depth for level in graph.levels] == [0, 1]
    # Every node visited once: each object GET names a different node.
    gets = _object_gets(mounted)
    assert len(gets) == len(set(gets)) == sum(level.frontier for level in graph.levels)
    # Descriptor pages only past the embedded 20 (none at the default fan-out of 20).
    assert _descriptor_gets(mounted) == []
    assert graph.requests == graph.requests_sent == mounted.count() == len(gets)
    # Embedded relationships were asked for every followed name at once.
    first = next(r for r in mounted.requests if r.path.endswith(seed))
    assert parse_qs(first.query)["relationships"] == [",".join(DEFAULT_RELATIONSHIPS["file"])]

    by_depth = Counter(node.depth for node in graph.nodes)
    assert by_depth[0] == 1 and by_depth[1] >= 2 and by_depth[2] >= 1
    for node in graph.nodes:
        if node.depth < 2:
            assert node.status in (NodeStatus.EXPANDED, NodeStatus.NOT_FOUND), node
            assert node.verdict == world.get(node.type, node.id).nature.replace("undetected", "clean") or (
                node.verdict in ("unknown", "clean")
            )
        else:
            assert node.status == NodeStatus.DISCOVERED and node.verdict == "unknown"
    contacted = {
        e.target for e in graph.edges if e.source == f"file:{seed}" and e.relationship == "contacted_domains"
    }
    assert contacted == {f"domain:{d}" for _, d in world.related("file", seed, "contacted_domains")}
    keys = [node.key for node in graph.nodes]
    assert len(keys) == len(set(keys))
    assert graph.complete and not graph.unexpanded


async def test_verdicts_follow_the_world(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    world = mounted.world
    seed = world.pick("domain", "malicious", min_relationship=("urls", 1))
    graph = await expand_iocs([seed], credentials=credentials, max_depth=1, resolve_leaves=True)
    expected = {"malicious": "malicious", "suspicious": "suspicious", "clean": "clean", "undetected": "clean"}
    for node in graph.nodes:
        obj = world.get(node.type, node.id)
        assert obj is not None
        assert node.verdict == expected[obj.nature] or (
            obj.nature == "undetected" and node.verdict == "unknown"
        )


async def test_budget_stops_cleanly_and_says_what_was_left(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_domains", 3))
    mounted.reset_log()
    graph = await expand_iocs([seed], credentials=credentials, request_budget=4, reuse_cached_levels=False)

    assert graph.requests == mounted.count() == 4
    assert not graph.complete
    assert {gap.reason for gap in graph.unexpanded} == {"request_budget"}
    depth_one = {node.key for node in graph.nodes if node.depth == 1}
    skipped = {gap.node for gap in graph.unexpanded}
    assert skipped and skipped <= depth_one
    fetched = {node.key for node in graph.nodes if node.depth == 1 and node.status == NodeStatus.EXPANDED}
    assert len(fetched) == 3 and fetched.isdisjoint(skipped)
    assert all(graph.node(key).status == NodeStatus.SKIPPED for key in skipped)  # type: ignore[union-attr]
    assert "request budget" in graph.unexpanded[0].detail


async def test_zero_budget_sends_nothing(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    mounted.reset_log()
    domain = mounted.world.pick("domain")
    graph = await expand_iocs([domain, "not an indicator"], credentials=credentials, request_budget=0)
    assert mounted.count() == 0
    assert {gap.reason for gap in graph.unexpanded} == {"invalid", "request_budget"}


async def test_rerun_reuses_the_levels_already_fetched(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    seed = mounted.world.pick("ip_address", "malicious", min_relationship=("communicating_files", 2), index=1)
    params = {"seeds": [seed], "credentials": credentials, "max_depth": 1, "fan_out": 7}
    mounted.reset_log()
    first = await expand_iocs(**params, reuse_cached_levels=False)
    assert mounted.count() == first.requests > 0

    mounted.reset_log()
    again = await expand_iocs(**params)
    assert mounted.count() == 0
    assert again.requests_sent == 0 and again.requests == first.requests
    assert all(level.cached for level in again.levels)
    assert again.nodes == first.nodes and again.edges == first.edges

    # One level deeper: only the new level is paid for.
    mounted.reset_log()
    deeper = await expand_iocs(**{**params, "max_depth": 2})
    assert [level.cached for level in deeper.levels] == [True, False]
    assert mounted.count() == deeper.requests_sent == deeper.levels[-1].requests


async def test_fan_out_past_the_embedded_page_follows_its_cursor(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    world = mounted.world
    hub = world.pick("domain", min_relationship=("resolutions", 100))
    total = len(world.related("domain", hub, "resolutions"))
    mounted.reset_log()
    graph = await expand_iocs(
        [hub],
        credentials=credentials,
        relationships={"domain": ["resolutions"]},
        max_depth=1,
        fan_out=65,
        request_budget=None,
        reuse_cached_levels=False,
    )
    pages = _descriptor_gets(mounted)
    # 20 embedded + 45 more: two pages (40 + 5), the first from the embedded cursor.
    assert len(pages) == 2 and all("cursor" in query for _, query in pages)
    assert [query["limit"] for _, query in pages] == [["40"], ["40"]]
    assert mounted.count() == 3
    resolved = [e for e in graph.edges if e.relationship == "resolutions"]
    assert len(resolved) == 65 and all(e.target.startswith("ip_address:") for e in resolved)
    (cut,) = graph.truncated
    assert (cut.relationship, cut.count, cut.followed, cut.reason) == ("resolutions", total, 65, "fan_out")
    assert graph.node(f"domain:{hub}").relationship_counts["resolutions"] == total  # type: ignore[union-attr]


async def test_no_request_for_empty_relationships(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    world = mounted.world
    hub = world.pick("domain", min_relationship=("resolutions", 100))
    mounted.reset_log()
    graph = await expand_iocs(
        [hub],
        credentials=credentials,
        max_depth=1,
        fan_out=100,
        request_budget=None,
        reuse_cached_levels=False,
    )
    node = graph.node(f"domain:{hub}")
    assert node is not None
    wanted = {name for name, count in node.relationship_counts.items() if count > 20}
    asked = {path.rsplit("/", 1)[1] for path, _ in _descriptor_gets(mounted)}
    assert asked == wanted and "resolutions" in asked


async def test_max_nodes_caps_the_graph(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    hub = mounted.world.pick("domain", min_relationship=("resolutions", 100))
    graph = await expand_iocs([hub], credentials=credentials, max_depth=2, max_nodes=12, request_budget=None)
    assert len(graph.nodes) == 12
    assert any(cut.reason == "max_nodes" for cut in graph.truncated)


async def test_seed_forms_become_canonical_keys(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    world = mounted.world
    sha256 = world.pick("file", "malicious")
    md5 = world.get("file", sha256).attributes["md5"]  # type: ignore[union-attr]
    url_obj = world.get("url", world.pick("url", "malicious"))
    assert url_obj is not None
    graph = await expand_iocs(
        [md5, sha256, url_obj.attributes["url"]],
        credentials=credentials,
        max_depth=0,
        reuse_cached_levels=False,
    )
    assert graph.seeds == [f"file:{sha256}", f"url:{url_obj.id}"]
    assert [node.key for node in graph.nodes] == graph.seeds
    assert graph.nodes[1].label == url_obj.attributes["url"]


async def test_leaves_resolved_when_asked(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_ips", 2))
    mounted.reset_log()
    graph = await expand_iocs(
        [seed],
        credentials=credentials,
        relationships={"file": ["contacted_ips"]},
        max_depth=1,
        resolve_leaves=True,
        reuse_cached_levels=False,
    )
    leaves = [node for node in graph.nodes if node.depth == 1]
    assert len(leaves) >= 2 and all(node.status == NodeStatus.FETCHED and node.detections for node in leaves)
    # One GET for the seed, one full-object page for its contacted IPs: not one GET per leaf.
    assert mounted.count() == graph.requests == 2
    assert mounted.requests[-1].path.endswith("/contacted_ips")


async def test_a_gone_leaf_is_a_gap_not_a_node(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_ips", 2))
    gone = mounted.world.related("file", seed, "contacted_ips")[0][1]
    mounted.world.forget("ip_address", gone)
    graph = await expand_iocs(
        [seed],
        credentials=credentials,
        relationships={"file": ["contacted_ips"]},
        max_depth=1,
        resolve_leaves=True,
        reuse_cached_levels=False,
    )
    # VirusTotal listed it but no longer has it: no node with a made-up verdict, one gap.
    assert graph.node(f"ip_address:{gone}") is None
    assert not any(e.target == f"ip_address:{gone}" for e in graph.edges)
    (gap,) = [g for g in graph.unexpanded if g.node == f"ip_address:{gone}"]
    assert gap.reason == "not_found" and "NotFoundError" in gap.detail
    assert [n for n in graph.nodes if n.depth == 1]


async def test_a_public_key_skips_enterprise_relationships_and_says_so(mounted: Emulator) -> None:
    from pydantic import SecretStr

    from tests.conftest import PUBLIC_KEY

    mounted.add_key(PUBLIC_KEY + "-fast", tier="public", per_minute=1000, per_day=10_000)
    public = VirusTotalCredentials(
        api_key=SecretStr(PUBLIC_KEY + "-fast"), base_url=mounted.base_url, requests_per_minute=1000
    )
    seed = mounted.world.pick("domain", "malicious", min_relationship=("urls", 1))
    mounted.reset_log()
    graph = await expand_iocs([seed], credentials=public, max_depth=1, reuse_cached_levels=False)
    # No request spent on an error: the Enterprise-only names were never asked for.
    asked = parse_qs(mounted.requests[0].query)["relationships"][0].split(",")
    assert "urls" not in asked and "downloaded_files" not in asked and "resolutions" in asked
    assert mounted.count(status=403) == 0
    (gap,) = [g for g in graph.unexpanded if g.node == f"domain:{seed}"]
    assert gap.reason == "tier" and "downloaded_files, urls" in gap.detail


async def test_leaf_verdicts_through_resolutions(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    world = mounted.world
    seed = world.pick("domain", "malicious", min_relationship=("resolutions", 2))
    graph = await expand_iocs(
        [seed],
        credentials=credentials,
        relationships={"domain": ["resolutions"]},
        max_depth=1,
        resolve_leaves=True,
        reuse_cached_levels=False,
    )
    ips = [node for node in graph.nodes if node.type == "ip_address"]
    assert ips and all(node.detections for node in ips)
    for node in ips:
        nature = world.get("ip_address", node.id).nature  # type: ignore[union-attr]
        assert (node.verdict == "malicious") == (nature == "malicious")


async def test_unknown_seed_and_collection_hook(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    seen: list[list[GraphNode]] = []

    async def hook(nodes: list[GraphNode]) -> None:
        seen.append(nodes)

    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_domains", 1))
    graph = await expand_iocs(
        [seed, "f" * 64],
        credentials=credentials,
        max_depth=1,
        collection_hook=hook,
        reuse_cached_levels=False,
    )
    assert [gap.reason for gap in graph.unexpanded] == ["not_found"]
    assert graph.node("file:" + "f" * 64).status == NodeStatus.NOT_FOUND  # type: ignore[union-attr]
    assert len(seen) == 1 and {n.key for n in seen[0]} == {n.key for n in graph.with_verdict("malicious")}
    assert graph.emulated


async def test_exports_written(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: pytest.TempPathFactory
) -> None:
    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
    json_path = tmp_path / "graph.json"  # type: ignore[operator]
    stix_path = tmp_path / "graph.stix.json"  # type: ignore[operator]
    graph = await expand_iocs(
        [seed], credentials=credentials, max_depth=1, json_path=str(json_path), stix_path=str(stix_path)
    )
    assert IOCGraph.model_validate_json(json_path.read_text()) == graph
    assert '"type": "bundle"' in stix_path.read_text()


async def test_artifacts_published(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    from prefect.client.orchestration import get_client

    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
    await expand_iocs([seed], credentials=credentials, max_depth=1)
    async with get_client() as client:
        graph_art = await client.read_latest_artifacts()
    by_key = {a.key: a for a in graph_art}
    # Keyed by the seed: another expansion does not overwrite this one.
    graph_key, nodes_key = (f"virustotal-expansion-{what}-{seed[:12]}" for what in ("graph", "nodes"))
    assert "```mermaid" in str(by_key[graph_key].data)
    assert "EMULATED DATA" in str(by_key[graph_key].data)
    assert str(by_key[graph_key].description).startswith("VirusTotal relationship graph of ")
    assert by_key[nodes_key].type == "table"
    assert list(json.loads(str(by_key[nodes_key].data))[0])[:3] == ["indicator", "verdict", "detections"]


async def test_malicious_nodes_pushed_into_a_collection(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    seed = mounted.world.pick("file", "malicious", min_relationship=("contacted_domains", 1))
    graph = await expand_iocs(
        [seed], credentials=credentials, max_depth=1, collection="case-expand", reuse_cached_levels=False
    )
    malicious = graph.with_verdict("malicious")
    assert malicious
    (stored,) = [c for c in mounted.collections.collections.values() if c.name == "case-expand"]
    held = {item_id for items in stored.items.values() for item_id in items}
    assert {n.id for n in malicious if n.type != "url"} <= held


async def test_the_flow_and_the_direct_loop_build_the_same_graph(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    """The command line without Prefect calls ``core.expand_graph`` on a client: same graph, same cost."""
    seed = mounted.world.pick("domain", "malicious", min_relationship=("urls", 2))
    mounted.reset_log()
    flowed = await expand_iocs([seed, "not an indicator"], credentials=credentials, reuse_cached_levels=False)
    by_flow = [r.path for r in mounted.requests]
    mounted.reset_log()
    async with credentials.get_client() as vt:
        direct = await expand_graph([seed, "not an indicator"], level_fetcher(vt))
    assert sorted(r.path for r in mounted.requests) == sorted(by_flow)  # the same requests, once each
    assert direct.model_dump() == flowed.model_dump()
