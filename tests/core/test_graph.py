"""The expansion loop and graph without Prefect: ``expand_graph`` over the real client and emulator.

``level_fetcher`` calls ``fetch_level`` directly (what the command line does without a Prefect
API); the flow passes the cached ``expand_level`` task instead, through the same loop.
"""

from __future__ import annotations

from collections import Counter

import pytest

from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.core import (
    INTERNAL_NOT_SENT,
    IOCGraph,
    LevelResult,
    NodeRef,
    NodeStatus,
    collection_values,
    expand_graph,
    graph_subject,
    level_fetcher,
    seed_refs,
)
from prefect_virustotal.emulator import Emulator


async def test_each_node_fetched_once_and_every_request_counted(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    seed = emulator.world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
    seen: list[int] = []
    graph = await expand_graph(
        [seed], level_fetcher(vt), request_budget=None, on_level=lambda level: seen.append(level.depth)
    )
    assert graph.seeds == [f"file:{seed}"] and seen == [0, 1]
    gets = [r.path for r in emulator.requests]
    assert len(gets) == len(set(gets)) == sum(level.frontier for level in graph.levels)
    # One client for every level: each level counts only what it sent.
    assert graph.requests == graph.requests_sent == emulator.count()
    assert graph.emulated and graph.complete and not graph.unexpanded
    keys = [node.key for node in graph.nodes]
    assert len(keys) == len(set(keys))
    depths = Counter(node.depth for node in graph.nodes)
    assert depths[0] == 1 and depths[1] >= 2 and depths[2] >= 1
    assert all(node.status == NodeStatus.DISCOVERED for node in graph.nodes if node.depth == 2)
    contacted = {e.target for e in graph.edges if e.relationship == "contacted_domains"}
    assert {f"domain:{d}" for _, d in emulator.world.related("file", seed, "contacted_domains")} <= contacted


async def test_the_budget_is_never_exceeded_and_what_is_left_is_said(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    seed = emulator.world.pick("file", "malicious", min_relationship=("contacted_domains", 3))
    graph = await expand_graph([seed], level_fetcher(vt), request_budget=4)
    assert graph.requests == emulator.count() == 4
    assert {gap.reason for gap in graph.unexpanded} == {"request_budget"}
    skipped = {gap.node for gap in graph.unexpanded}
    assert all(graph.node(key).status == NodeStatus.SKIPPED for key in skipped)  # type: ignore[union-attr]
    # Nothing left: the next level is not asked at all, and its nodes are gaps too.
    emulator.reset_log()
    nothing = await expand_graph([seed, "not an indicator"], level_fetcher(vt), request_budget=0)
    assert emulator.count() == 0
    assert [gap.reason for gap in nothing.unexpanded] == ["invalid", "request_budget"]


async def test_impossible_limits_are_refused_before_any_request(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    for limits in ({"max_depth": -1}, {"fan_out": -1}, {"max_nodes": 0}, {"request_budget": -1}):
        with pytest.raises(ValueError, match="must not be negative"):
            await expand_graph(["example.com"], level_fetcher(vt), **limits)  # type: ignore[arg-type]
    assert emulator.count() == 0


async def test_seed_forms_become_canonical_keys(emulator: Emulator, vt: VirusTotalClient) -> None:
    sha256 = emulator.world.pick("file", "malicious")
    md5 = emulator.world.get("file", sha256).attributes["md5"]  # type: ignore[union-attr]
    url = emulator.world.get("url", emulator.world.pick("url", "malicious"))
    assert url is not None
    graph = await expand_graph([md5, sha256, url.attributes["url"]], level_fetcher(vt), max_depth=0)
    assert graph.seeds == [f"file:{sha256}", f"url:{url.id}"]
    assert [node.key for node in graph.nodes] == graph.seeds
    assert collection_values(graph.nodes) == [sha256, url.attributes["url"]]
    assert graph_subject(graph) == f"{sha256} and 1 more"


async def test_max_nodes_caps_the_graph_and_records_the_cut(emulator: Emulator, vt: VirusTotalClient) -> None:
    hub = emulator.world.pick("domain", min_relationship=("resolutions", 100))
    graph = await expand_graph([hub], level_fetcher(vt), max_nodes=12, request_budget=None)
    assert len(graph.nodes) == 12
    assert any(cut.reason == "max_nodes" for cut in graph.truncated)


def test_invalid_and_internal_seeds_are_gaps_and_credentials_never_kept() -> None:
    graph = IOCGraph()
    refs = seed_refs(
        [
            "10.0.0.1",
            "wiki.acme.example",
            "nope",
            "evil.example",
            "evil[.]example",
            "https://u:pw@bad.example/x",
        ],
        graph,
        ["acme.example"],
    )
    assert [ref.key for ref in refs] == ["domain:evil.example", refs[1].key]
    assert refs[1].type == "url" and "pw" not in (refs[1].label or "")
    assert [(g.node, g.reason) for g in graph.unexpanded] == [
        ("10.0.0.1", "internal"),
        ("wiki.acme.example", "internal"),
        ("nope", "invalid"),
    ]
    assert graph.unexpanded[0].detail == INTERNAL_NOT_SENT
    sent = seed_refs(["10.0.0.1"], IOCGraph(), None)  # None: send everything
    assert [ref.key for ref in sent] == ["ip_address:10.0.0.1"]


async def test_a_cached_level_costs_nothing_sent(emulator: Emulator, vt: VirusTotalClient) -> None:
    """A fetcher that answers from a cache (the flow's task) counts requests, not requests sent."""
    direct = level_fetcher(vt)
    answers: dict[str, tuple[LevelResult, bool]] = {}

    async def cached(
        frontier: list[NodeRef],
        relationships: dict[str, list[str]],
        *,
        fan_out: int,
        request_budget: int,
        leaf_verdicts: bool,
    ) -> tuple[LevelResult, bool]:
        key = ",".join(ref.key for ref in frontier)
        if key in answers:
            return answers[key][0], True
        answers[key] = await direct(
            frontier,
            relationships,
            fan_out=fan_out,
            request_budget=request_budget,
            leaf_verdicts=leaf_verdicts,
        )
        return answers[key]

    seed = emulator.world.pick("domain", "malicious", min_relationship=("urls", 1))
    first = await expand_graph([seed], cached, max_depth=1)
    again = await expand_graph([seed], cached, max_depth=1)
    assert first.requests_sent == first.requests == emulator.count()
    assert again.requests == first.requests and again.requests_sent == 0
    assert [level.cached for level in again.levels] == [True]
    assert again.model_dump(exclude={"levels", "requests_sent"}) == first.model_dump(
        exclude={"levels", "requests_sent"}
    )
