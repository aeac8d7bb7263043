"""``expand_iocs`` against a naive relationship loop, on the emulator with injected latency.

Part 1 expands the same seeds at depth 2 and 3 two ways, 50 ms of latency on every request:

* ``expand_iocs``: one GET per node embedding the first page of every relationship,
  descriptor pages only past it, nothing for empty relationships, requests concurrent
  inside one task per level;
* a naive baseline (below): one request per relationship per node, one at a time, with the
  client's plain relationship paginator, like a plain client loop.

It prints requests, wall time and nodes found for each, and the ratios. Target: at least
3x fewer requests for the same nodes.

Part 2 runs ``expand_iocs`` under a limited rate (a credentials block with a small
per-minute quota and a burst of 1) so that the rate limit is the bottleneck. Target: wall
time within 1.2x of requests / allowed rate.

Run: ``make bench`` or ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_expand.py``.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-bench-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)

import asyncio  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.blocks import VirusTotalCredentials  # noqa: E402
from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.core import IOCGraph  # noqa: E402
from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator  # noqa: E402
from prefect_virustotal.flows import expand_iocs  # noqa: E402
from prefect_virustotal.tasks import DEFAULT_RELATIONSHIPS  # noqa: E402

LATENCY = 0.05
FAN_OUT = 20
MAX_NODES = 100_000
TO_ONE = {"last_serving_ip_address", "network_location", "parent", "immediate_parent"}
COLLECTIONS = {"file": "files", "url": "urls", "domain": "domains", "ip_address": "ip_addresses"}
LIMITED_RPM = 240  # 4 requests per second in part 2


def pick_seeds(emulator: Emulator) -> list[str]:
    """A malicious payload and a malicious URL of one campaign, away from the big hubs."""
    world = emulator.world
    seeds = [world.pick("file", "malicious", min_relationship=("contacted_domains", 2), index=3)]
    url = world.get("url", world.pick("url", "malicious", min_relationship=("contacted_ips", 1), index=5))
    assert url is not None
    seeds.append(url.attributes["url"])
    return seeds


def other_end(source: tuple[str, str], obj: Any) -> tuple[str, str] | None:
    """The node a related object stands for (a resolution stands for its other end)."""
    if obj.type == "resolution":
        attrs = obj.attributes.model_extra or {}
        if source[0] == "domain":
            return ("ip_address", str(attrs["ip_address"]))
        return ("domain", str(attrs["host_name"]))
    if obj.type in COLLECTIONS:
        return (obj.type, obj.id)
    return None


async def naive_expand(vt: VirusTotalClient, seeds: list[str], max_depth: int) -> set[tuple[str, str]]:
    """One request per relationship per node, one at a time: the loop people write first."""
    from prefect_virustotal.client import parse_indicator

    frontier: list[tuple[str, str]] = []
    areas = {"file": vt.files, "url": vt.urls, "domain": vt.domains, "ip_address": vt.ip_addresses}
    for raw in seeds:
        indicator = parse_indicator(raw)
        report = await areas[indicator.kind].get(indicator.value)  # the seed's own report
        frontier.append((report.type, report.id))
    seen = set(frontier)
    for _ in range(max_depth):
        discovered: list[tuple[str, str]] = []
        for kind, ident in frontier:
            for name in DEFAULT_RELATIONSHIPS[kind]:
                if name in TO_ONE:
                    one = await vt.relationships.get_one(COLLECTIONS[kind], ident, name)
                    related = [one] if one is not None else []
                else:
                    pager = vt.relationships.list_objects(
                        COLLECTIONS[kind], ident, name, limit=FAN_OUT, page_size=min(40, FAN_OUT)
                    )
                    related = [obj async for obj in pager]
                for obj in related:
                    node = other_end((kind, ident), obj)
                    if node is not None and node not in seen and len(seen) < MAX_NODES:
                        seen.add(node)
                        discovered.append(node)
        frontier = discovered
    return seen


def graph_nodes(graph: IOCGraph) -> set[tuple[str, str]]:
    return {(node.type, node.id) for node in graph.nodes}


async def timed_expand(
    emulator: Emulator, credentials: VirusTotalCredentials, seeds: list[str], depth: int, **options: Any
) -> tuple[IOCGraph, float, int]:
    """One ``expand_iocs`` run at ``depth``, no budget, no cache: the graph, wall seconds, requests."""
    emulator.reset_log()
    start = time.perf_counter()
    graph = await expand_iocs(
        seeds,
        credentials=credentials,
        max_depth=depth,
        fan_out=FAN_OUT,
        max_nodes=MAX_NODES,
        request_budget=None,
        reuse_cached_levels=False,
        **options,
    )
    return graph, time.perf_counter() - start, emulator.count()


async def part_one(emulator: Emulator, credentials: VirusTotalCredentials, seeds: list[str]) -> bool:
    ok = True
    print(f"Part 1: {LATENCY * 1000:.0f} ms latency per request, fan-out {FAN_OUT}, seeds {len(seeds)}")
    header = f"{'depth':>5} {'method':<22} {'requests':>9} {'wall s':>8} {'nodes':>7} {'with verdict':>13}"
    print(header)
    for depth in (2, 3):
        graph, flow_wall, flow_requests = await timed_expand(emulator, credentials, seeds, depth)
        assert flow_requests == graph.requests_sent, (flow_requests, graph.requests_sent)
        flow_nodes = graph_nodes(graph)
        flow_verdicts = sum(1 for node in graph.nodes if node.detections)

        leafy, leafy_wall, leafy_requests = await timed_expand(
            emulator, credentials, seeds, depth, resolve_leaves=True
        )
        leafy_verdicts = sum(1 for node in leafy.nodes if node.detections)

        emulator.reset_log()
        async with VirusTotalClient(
            PREMIUM_DEMO_KEY, base_url=emulator.base_url, transport=emulator.transport()
        ) as vt:
            start = time.perf_counter()
            naive_nodes = await naive_expand(vt, seeds, depth)
            naive_wall = time.perf_counter() - start
        naive_requests = emulator.count()

        print(
            f"{depth:>5} {'expand_iocs':<22} {flow_requests:>9} {flow_wall:>8.2f} {len(flow_nodes):>7} "
            f"{flow_verdicts:>13}"
        )
        print(
            f"{depth:>5} {'  + resolve_leaves':<22} {leafy_requests:>9} {leafy_wall:>8.2f} "
            f"{len(graph_nodes(leafy)):>7} {leafy_verdicts:>13}"
        )
        print(
            f"{depth:>5} {'naive loop':<22} {naive_requests:>9} {naive_wall:>8.2f} {len(naive_nodes):>7} "
            f"{len(naive_nodes):>13}"
        )
        same = flow_nodes == naive_nodes
        ratio = naive_requests / max(1, flow_requests)
        leafy_ratio = naive_requests / max(1, leafy_requests)
        print(
            f"      ratios: requests {ratio:.1f}x fewer, wall {naive_wall / flow_wall:.1f}x faster, "
            f"same nodes found: {same}; with leaf verdicts {leafy_ratio:.1f}x fewer requests, "
            f"wall {naive_wall / leafy_wall:.1f}x faster, same nodes: {graph_nodes(leafy) == naive_nodes}"
        )
        if not same:
            print(
                f"      only in expand_iocs: {len(flow_nodes - naive_nodes)}, "
                f"only naive: {len(naive_nodes - flow_nodes)}"
            )
        ok = ok and same and ratio >= 3.0
    return ok


async def part_two(emulator: Emulator, seeds: list[str]) -> bool:
    rate = LIMITED_RPM / 60.0
    print(
        f"\nPart 2: depth 3, rate limit {LIMITED_RPM}/min (burst 1) as the bottleneck, "
        f"latency {LATENCY * 1000:.0f} ms"
    )
    emulator.add_key("bench-limited-key", tier="premium", per_minute=100_000, per_day=1_000_000)
    limited = VirusTotalCredentials(
        api_key=SecretStr("bench-limited-key"),
        base_url=emulator.base_url,
        requests_per_minute=LIMITED_RPM,
        burst=1,
        daily_budget=None,
        key_tier="premium",
    )
    emulator.reset_log()
    start = time.perf_counter()
    graph = await expand_iocs(
        seeds,
        credentials=limited,
        max_depth=3,
        fan_out=FAN_OUT,
        request_budget=None,
        reuse_cached_levels=False,
    )
    wall = time.perf_counter() - start
    requests = emulator.count()
    floor = requests / rate
    print(
        f"requests {requests}, wall {wall:.2f} s, requests/rate {floor:.2f} s, "
        f"ratio {wall / floor:.2f} (target <= 1.20), nodes {len(graph.nodes)}"
    )
    return wall / floor <= 1.2


async def main() -> int:
    emulator = Emulator(seed=0)
    emulator.faults.add("latency", seconds=LATENCY)
    seeds = pick_seeds(emulator)
    credentials = VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_DEMO_KEY),
        base_url=emulator.base_url,
        requests_per_minute=1_000_000,
        daily_budget=None,
        key_tier="premium",
    )
    with mount_transport(emulator.base_url, emulator.transport()):
        # Warm Prefect up (the ephemeral server starts on first use) outside the timings.
        await expand_iocs(seeds[:1], credentials=credentials, max_depth=0, reuse_cached_levels=False)
        first = await part_one(emulator, credentials, seeds)
        second = await part_two(emulator, seeds)
    print(
        f"\ntargets met: requests >= 3x fewer for the same nodes: {first}; rate-bound wall <= 1.2x: {second}"
    )
    return 0 if first and second else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
