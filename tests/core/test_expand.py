"""The expansion engine without Prefect: the real client against the emulator, plain asyncio.

``fetch_level`` is what the ``expand_level`` task runs; here it is called directly, so the
budget, the page allotment and the gaps are checked request by request, with no test harness.
"""

from __future__ import annotations

from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.core import (
    DEFAULT_RELATIONSHIPS,
    EMBEDDED_PAGE,
    NodeRef,
    NodeStatus,
    fetch_level,
    level_request_bound,
)
from prefect_virustotal.emulator import Emulator


def _file_with(emulator: Emulator, relationship: str, at_least: int) -> NodeRef:
    sha256 = emulator.world.pick("file", "malicious", min_relationship=(relationship, at_least))
    return NodeRef(type="file", id=sha256)


async def test_one_get_per_node_embeds_the_first_page(emulator: Emulator, vt: VirusTotalClient) -> None:
    seed = _file_with(emulator, "contacted_domains", 2)
    result = await fetch_level(vt, [seed], DEFAULT_RELATIONSHIPS)
    (node,) = result.nodes
    assert node.status == NodeStatus.EXPANDED and node.verdict == "malicious"
    assert result.requests == result.requests_sent == emulator.count() == 1
    domains = {d.target.id for d in result.discoveries if d.relationship == "contacted_domains"}
    assert domains == {d for _, d in emulator.world.related("file", seed.id, "contacted_domains")}
    assert result.emulated and not result.gaps


async def test_budget_goes_to_the_frontier_in_order(emulator: Emulator, vt: VirusTotalClient) -> None:
    first = _file_with(emulator, "contacted_domains", 1)
    second = NodeRef(type="domain", id=emulator.world.pick("domain", "malicious"))
    result = await fetch_level(vt, [first, second], DEFAULT_RELATIONSHIPS, request_budget=1)
    assert [n.status for n in result.nodes] == [NodeStatus.EXPANDED, NodeStatus.SKIPPED]
    assert [(g.node, g.reason) for g in result.gaps] == [(second.key, "request_budget")]
    assert emulator.count() == result.requests == 1


async def test_pages_past_the_embedded_one_are_allotted_within_the_budget(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    hub = emulator.world.pick("domain", min_relationship=("resolutions", 100))
    seed = NodeRef(type="domain", id=hub)
    relationships = {"domain": ["resolutions"]}
    wide = await fetch_level(vt, [seed], relationships, fan_out=EMBEDDED_PAGE + 40)
    count = wide.nodes[0].relationship_counts["resolutions"]
    followed = sum(d.relationship == "resolutions" for d in wide.discoveries)
    assert followed == min(count, EMBEDDED_PAGE + 40)
    assert wide.requests == emulator.count() <= level_request_bound([seed], relationships, EMBEDDED_PAGE + 40)
    # Budget for the node only: the extra page is not sent, and the cut is recorded.
    emulator.reset_log()
    tight = await fetch_level(vt, [seed], relationships, fan_out=EMBEDDED_PAGE + 40, request_budget=1)
    assert emulator.count() == tight.requests == 1
    (cut,) = tight.truncated
    assert (cut.relationship, cut.followed, cut.reason) == ("resolutions", EMBEDDED_PAGE, "request_budget")


async def test_unknown_node_is_a_gap_not_a_failure(emulator: Emulator, vt: VirusTotalClient) -> None:
    missing = NodeRef(type="file", id="0" * 64)
    result = await fetch_level(vt, [missing], DEFAULT_RELATIONSHIPS)
    assert result.nodes[0].status == NodeStatus.NOT_FOUND
    assert [(g.node, g.reason) for g in result.gaps] == [(missing.key, "not_found")]
