"""The expansion engine: fetch one breadth-first level of an IOC graph (no Prefect here).

Requests are spent as sparingly as the v3 API allows:

* one ``GET /{collection}/{id}?relationships=a,b,c`` per node gives its attributes (hence
  its verdict) *and* the first page of every followed relationship: up to 20 descriptors
  each, with ``meta.count``;
* the descriptor endpoint (``/relationships/{name}``) is asked only where the fan-out wants
  more than the embedded page holds, starting at the embedded ``meta.cursor``;
* a relationship whose count is known to be zero costs nothing;
* with ``leaf_verdicts`` (the last level of an expansion), each relationship that has items
  is also listed in full objects (one request per 40), so the leaves get verdicts for far
  fewer requests than one GET per leaf.

Many requests run concurrently inside one call, paced by the client's rate limiter (the
``expand_level`` task makes one call per level: Prefect's per-task overhead is tens of
milliseconds, so never one task per request). A level's request budget is spent in a fixed
order: every frontier node first, then the pages past the embedded ones, allotted in frontier
order before any is sent, so what a tight budget cuts never depends on timing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import Field

from prefect_virustotal.client import (
    ENTERPRISE_RELATIONSHIPS,
    APIConnectionError,
    APIError,
    NotFoundError,
    Page,
    QuotaExceededError,
    RequestBudgetExceededError,
    VerdictPolicy,
    VirusTotalClient,
    VirusTotalError,
    assess,
    assess_object,
    parse_domain,
    parse_ip,
    quota_refusal,
)
from prefect_virustotal.client.models import AnalysisStats, Descriptor, VTModel, VTObject

from ._graph_model import GraphGap, GraphNode, NodeRef, NodeStatus, TruncatedRelationship
from ._safety import run_wide_failure

DEFAULT_RELATIONSHIPS: dict[str, list[str]] = {
    "file": ["contacted_domains", "contacted_ips", "contacted_urls", "dropped_files", "execution_parents"],
    "domain": ["resolutions", "communicating_files", "downloaded_files", "subdomains", "urls"],
    "ip_address": ["resolutions", "communicating_files", "downloaded_files", "urls"],
    "url": [
        "contacted_domains",
        "contacted_ips",
        "downloaded_files",
        "last_serving_ip_address",
        "redirects_to",
    ],
}
"""The relationships ``expand_iocs`` follows per object type unless told otherwise."""

EMBEDDED_PAGE = 20
"""Descriptors VirusTotal embeds per relationship on an object GET."""

DESCRIPTOR_PAGE = 40
"""Largest page of the descriptor endpoint (UNCONFIRMED on the real API; the usual figure)."""

_KINDS = ("file", "url", "domain", "ip_address")
_KEY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "file": ("meaningful_name", "type_description", "size", "md5", "sha1", "tags", "first_submission_date"),
    "url": ("url", "last_final_url", "title", "last_http_response_code", "tags"),
    "domain": ("registrar", "tld", "creation_date", "tags"),
    "ip_address": ("asn", "as_owner", "country", "network", "tags"),
}


class Discovery(VTModel):
    """``source --relationship--> target`` found while expanding ``source``."""

    source: str
    relationship: str
    target: NodeRef
    node: GraphNode | None = None
    """The target with its verdict, when it came as a full object (``leaf_verdicts``)."""


class LevelResult(VTModel):
    """What one level fetched.

    Attributes:
        nodes: one per frontier node, in frontier order (``depth`` left at 0).
        requested: frontier key -> canonical key, where they differ (an MD5 seed, a URL).
        discoveries: related objects found, per fan-out, in a stable order.
        gaps: frontier nodes not fetched or not expanded, and why.
        truncated: relationships cut short by the fan-out, the budget or an error.
        requests: requests this level spent (its share of the budget).
        requests_sent: requests the client sent, retries included.
        emulated: the answers came from the pack's emulator.
    """

    nodes: list[GraphNode] = Field(default_factory=list)
    requested: dict[str, str] = Field(default_factory=dict)
    discoveries: list[Discovery] = Field(default_factory=list)
    gaps: list[GraphGap] = Field(default_factory=list)
    truncated: list[TruncatedRelationship] = Field(default_factory=list)
    requests: int = 0
    requests_sent: int = 0
    emulated: bool = False


def level_request_bound(
    frontier: Sequence[NodeRef],
    relationships: Mapping[str, Sequence[str]],
    fan_out: int,
    leaf_verdicts: bool = False,
) -> int:
    """Most requests a level can need: one GET per node, plus pages past the embedded ones."""
    if leaf_verdicts:
        extra_pages = math.ceil(fan_out / DESCRIPTOR_PAGE)
    else:
        extra_pages = math.ceil(max(0, fan_out - EMBEDDED_PAGE) / DESCRIPTOR_PAGE)
    return sum(1 + extra_pages * len(relationships.get(ref.type, ())) for ref in frontier)


class _Budget:
    """Requests this level may still send (None: no limit). Single event loop: no lock needed."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> bool:
        if self.limit is not None and self.used >= self.limit:
            return False
        self.used += 1
        return True

    def refund(self) -> None:
        self.used -= 1


async def _get(vt: VirusTotalClient, ref: NodeRef, relationships: Sequence[str]) -> VTObject[Any]:
    """One object GET, embedding the first page of each relationship."""
    return await vt.get_report(ref.type, ref.id, relationships=list(relationships) or None)


def _label(obj: VTObject[Any], ref: NodeRef) -> str:
    attrs = obj.attributes
    if obj.type == "file":
        names = getattr(attrs, "names", None) or []
        return str(getattr(attrs, "meaningful_name", None) or (names[0] if names else obj.id))
    if obj.type == "url":
        return str(getattr(attrs, "url", None) or ref.label or obj.id)
    return obj.id


def _key_attributes(obj: VTObject[Any]) -> dict[str, Any]:
    wanted = _KEY_ATTRIBUTES.get(obj.type, ())
    dumped = obj.attributes.model_dump(mode="json", include=set(wanted), by_alias=True)
    out = {name: dumped[name] for name in wanted if dumped.get(name) not in (None, [], {}, "")}
    threat = getattr(obj.attributes, "popular_threat_classification", None)
    if isinstance(threat, dict) and threat.get("suggested_threat_label"):
        out["threat_label"] = threat["suggested_threat_label"]
    return out


def _node(obj: VTObject[Any], ref: NodeRef, status: NodeStatus, policy: VerdictPolicy) -> GraphNode:
    found = assess_object(obj, policy)
    stats = getattr(obj.attributes, "last_analysis_stats", None)
    return GraphNode(
        type=obj.type,
        id=obj.id,
        verdict=found.verdict.value,
        status=status,
        label=_label(obj, ref),
        detections=found.ratio if stats is not None else None,
        reason=found.reason,
        attributes=_key_attributes(obj),
    )


def target_of(source: NodeRef, descriptor: Descriptor) -> NodeRef | None:
    """The node a descriptor leads to; a resolution leads to its other end.

    A resolution id is ``<ip><domain>`` (as the emulator and the public examples spell
    it); knowing the end we came from, the other end is the rest of the id.
    """
    kind, ident = descriptor.type, descriptor.id
    if kind == "resolution":
        try:
            if source.type == "domain" and ident.endswith(source.id) and len(ident) > len(source.id):
                return NodeRef(type="ip_address", id=parse_ip(ident[: -len(source.id)]))
            if source.type == "ip_address" and ident.startswith(source.id) and len(ident) > len(source.id):
                return NodeRef(type="domain", id=parse_domain(ident[len(source.id) :]))
        except VirusTotalError:
            return None
        return None
    if kind not in _KINDS:
        return None
    label = None
    if kind == "url" and descriptor.context_attributes:
        url = descriptor.context_attributes.get("url")
        label = str(url) if url else None
    return NodeRef(type=kind, id=ident, label=label)


_P = TypeVar("_P", bound=Page[Any])

_COLLECTIONS = {"file": "files", "url": "urls", "domain": "domains", "ip_address": "ip_addresses"}


@dataclass
class _More:
    """A relationship of a node that wants descriptor pages past the embedded ones."""

    node: GraphNode
    name: str
    cursor: str | None
    have: int
    wanted: int
    allowance: int = 0  # pages allotted to it and not yet sent
    full: bool = False
    to_one: bool = False

    @property
    def pages(self) -> int:
        """Pages needed (from the start when there is no cursor)."""
        start = 0 if self.cursor is not None else self.have
        return math.ceil((self.wanted + start) / DESCRIPTOR_PAGE)


class _Level:
    """The state of one level's fetch."""

    def __init__(
        self,
        vt: VirusTotalClient,
        relationships: Mapping[str, Sequence[str]],
        fan_out: int,
        budget: _Budget,
        policy: VerdictPolicy,
        concurrency: int,
        leaf_verdicts: bool = False,
    ) -> None:
        self.vt = vt
        self.leaf_verdicts = leaf_verdicts
        self.relationships = relationships
        self.fan_out = fan_out
        self.budget = budget
        self.policy = policy
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.stop: str | None = None
        self.failures: list[BaseException] = []
        self.result = LevelResult()

    async def fetch(self, ref: NodeRef) -> tuple[GraphNode, VTObject[Any] | None]:
        """GET one frontier node, or say why not."""
        rels = list(self.relationships.get(ref.type, ()))

        def gap(status: NodeStatus, reason: str, detail: str) -> tuple[GraphNode, None]:
            self.result.gaps.append(GraphGap(node=ref.key, depth=0, reason=reason, detail=detail))
            node = GraphNode(
                type=ref.type, id=ref.id, status=status, label=ref.label or ref.id, reason=detail
            )
            return node, None

        async with self.semaphore:
            if self.stop is not None:
                return gap(NodeStatus.SKIPPED, "quota", self.stop)
            if not self.budget.take():
                return gap(NodeStatus.SKIPPED, "request_budget", "request budget spent before this node")
            try:
                obj = await _get(self.vt, ref, rels)
            except NotFoundError:
                return gap(NodeStatus.NOT_FOUND, "not_found", "VirusTotal has no record of it")
            except (RequestBudgetExceededError, QuotaExceededError) as exc:
                if isinstance(exc, RequestBudgetExceededError):
                    self.budget.refund()  # the limiter refused it: nothing was sent
                message, lasting = quota_refusal(exc)
                if lasting:
                    self.stop = message
                self.failures.append(exc)
                return gap(NodeStatus.SKIPPED, "quota", message)
            except (APIError, APIConnectionError) as exc:
                self.failures.append(exc)
                return gap(NodeStatus.ERROR, "error", f"{type(exc).__name__}: {exc}")
        status = NodeStatus.EXPANDED if rels else NodeStatus.FETCHED
        return _node(obj, ref, status, self.policy), obj

    def follow_embedded(self, node: GraphNode, obj: VTObject[Any]) -> list[_More]:
        """Record the embedded descriptors; return the relationships that want more pages."""
        source = NodeRef(type=node.type, id=node.id)
        more: list[_More] = []
        for name in self.relationships.get(node.type, ()):
            embedded = obj.relationships.get(name)
            if embedded is None:
                continue  # the service did not answer for this name: nothing to follow
            items = embedded.items
            count = embedded.count
            if count is None and not isinstance(embedded.data, list):
                count = len(items)  # a to-one relationship
            if count is not None:
                node.relationship_counts[name] = count
            taken = items[: self.fan_out]
            self._discover(source, name, taken)
            if self.leaf_verdicts and (count or taken):
                # The same items again as full objects: their verdicts, one page per 40.
                wanted = min(self.fan_out, count if count is not None else len(taken))
                to_one = not isinstance(embedded.data, list)
                more.append(_More(node, name, None, 0, wanted, full=True, to_one=to_one))
                continue
            has_more = (count is not None and count > len(items)) or (count is None and embedded.cursor)
            if len(taken) == len(items) and has_more and len(taken) < self.fan_out:
                wanted = self.fan_out - len(taken)
                if count is not None:
                    wanted = min(wanted, count - len(taken))
                more.append(_More(node, name, embedded.cursor, len(taken), wanted))
            elif count is not None and count > len(taken):
                self._truncate(node, name, count, len(taken), "fan_out")
        return more

    async def page_more(self, more: _More) -> None:
        """Descriptor pages past the embedded ones, within the pages allotted to it."""
        if more.full:
            await self._page_full(more)
            return
        node, name = more.node, more.name
        source = NodeRef(type=node.type, id=node.id)
        count = node.relationship_counts.get(name)
        # Without a cursor (not promised by the contract) start over and skip what we have.
        skip = 0 if more.cursor is not None else more.have
        limit = more.wanted + skip
        pager = self.vt.relationships.list_descriptors(
            _COLLECTIONS[node.type],
            node.id,
            name,
            cursor=more.cursor,
            limit=limit,
            page_size=min(DESCRIPTOR_PAGE, limit),
        )

        def take(page: Page[Descriptor]) -> int:
            nonlocal skip, count
            items = page.items[skip:]
            skip = max(0, skip - len(page.items))
            self._discover(source, name, items)
            if count is None and page.count is not None:
                count = node.relationship_counts[name] = page.count
            return len(items)

        async with self.semaphore:
            got, reason = await self._pull_pages(more, pager.pages(), take, "request_budget")
        self._settle(more, count, got, reason)

    async def _page_full(self, more: _More) -> None:
        """Related objects in full, so that the next level's nodes come with verdicts."""
        node, name = more.node, more.name
        source = NodeRef(type=node.type, id=node.id)
        count = node.relationship_counts.get(name)
        got = 0
        reason: str | None = None
        async with self.semaphore:
            if more.to_one:
                if more.allowance > 0 and self.stop is None:
                    more.allowance -= 1
                    try:
                        one = await self.vt.relationships.get_one(_COLLECTIONS[node.type], node.id, name)
                    except (APIError, APIConnectionError, RequestBudgetExceededError):
                        reason = "error"
                    else:
                        got += self._discover_full(source, name, [one] if one is not None else [])
                else:
                    reason = "verdicts_budget"
            else:
                pager = self.vt.relationships.list_objects(
                    _COLLECTIONS[node.type],
                    node.id,
                    name,
                    limit=more.wanted,
                    page_size=min(DESCRIPTOR_PAGE, more.wanted),
                )
                got, reason = await self._pull_pages(
                    more,
                    pager.pages(),
                    lambda page: self._discover_full(source, name, page.items),
                    "verdicts_budget" if more.wanted <= EMBEDDED_PAGE else "request_budget",
                )
        self._settle(more, count, got, reason)

    async def _pull_pages(
        self,
        more: _More,
        pages: AsyncIterator[_P],
        take: Callable[[_P], int],
        spent: str,
    ) -> tuple[int, str | None]:
        """Pull pages while ``more`` wants items; return the items taken and why it stopped short."""
        # Each page sent spends one of ``more.allowance``; ``spent`` is the reason given when
        # the allowance (or the level's quota) runs out first.
        got = 0
        while got < more.wanted:
            if more.allowance <= 0 or self.stop is not None:
                return got, spent
            more.allowance -= 1
            try:
                page = await pages.__anext__()
            except StopAsyncIteration:
                more.allowance += 1
                return got, None
            except RequestBudgetExceededError as exc:
                more.allowance += 1  # the limiter refused it: nothing was sent
                self.stop = str(exc)
                return got, "request_budget"
            except (APIError, APIConnectionError):
                return got, "error"
            got += take(page)
        return got, None

    def _settle(self, more: _More, count: int | None, got: int, reason: str | None) -> None:
        """Give back the pages allotted but not sent; record why the relationship stopped short."""
        self.budget.used -= more.allowance
        followed = more.have + got
        if reason is not None:
            self._truncate(more.node, more.name, count, followed, reason)
        elif count is not None and count > followed:
            self._truncate(more.node, more.name, count, followed, "fan_out")

    def _discover_full(self, source: NodeRef, name: str, objects: Sequence[VTObject[Any]]) -> int:
        for obj in objects:
            if self._gone(source, name, obj):
                continue
            leaf = self._leaf(source, obj)
            if leaf is not None:
                self.result.discoveries.append(
                    Discovery(source=source.key, relationship=name, target=leaf.ref, node=leaf)
                )
        return len(objects)

    def _leaf(self, source: NodeRef, obj: VTObject[Any]) -> GraphNode | None:
        """A related object as a node with its verdict; a resolution as its other end."""
        if obj.type in _KINDS:
            ref = NodeRef(type=obj.type, id=obj.id)
            return _node(obj, ref, NodeStatus.FETCHED, self.policy)
        target = target_of(source, Descriptor(type=obj.type, id=obj.id))
        if target is None:
            return None
        extra = obj.attributes.model_extra or {}
        field = (
            "ip_address_last_analysis_stats"
            if target.type == "ip_address"
            else "host_name_last_analysis_stats"
        )
        raw = extra.get(field)
        if not isinstance(raw, dict):
            return GraphNode(type=target.type, id=target.id, label=target.id)
        stats = AnalysisStats.model_validate(raw)
        found = assess(stats, None, self.policy)
        return GraphNode(
            type=target.type,
            id=target.id,
            verdict=found.verdict.value,
            status=NodeStatus.FETCHED,
            label=target.id,
            detections=found.ratio,
            reason=found.reason + " (from the resolution)",
        )

    def _gone(self, source: NodeRef, name: str, item: Descriptor | VTObject[Any]) -> bool:
        """An error stub (an object VirusTotal no longer has) is a gap of the level, not a node."""
        if item.error is None:
            return False
        key = NodeRef(type=item.type, id=item.id).key
        if all(gap.node != key for gap in self.result.gaps):  # embedded, then in full: once
            detail = f"listed in {source.key} {name}, but {item.error.code}: {item.error.message}"
            self.result.gaps.append(GraphGap(node=key, depth=0, reason="not_found", detail=detail))
        return True

    def _discover(self, source: NodeRef, name: str, items: Sequence[Descriptor]) -> None:
        for item in items:
            if self._gone(source, name, item):
                continue
            target = target_of(source, item)
            if target is not None:
                self.result.discoveries.append(Discovery(source=source.key, relationship=name, target=target))

    def _truncate(self, node: GraphNode, name: str, count: int | None, followed: int, reason: str) -> None:
        self.result.truncated.append(
            TruncatedRelationship(
                node=node.key, relationship=name, count=count, followed=followed, reason=reason
            )
        )

    async def run(self, frontier: Sequence[NodeRef]) -> LevelResult:
        fetched = await asyncio.gather(*(self.fetch(ref) for ref in frontier))
        result = self.result
        follow_ups: list[_More] = []
        for ref, (node, obj) in zip(frontier, fetched, strict=True):
            result.nodes.append(node)
            if node.key != ref.key:
                result.requested[ref.key] = node.key
            if obj is not None:
                follow_ups += self.follow_embedded(node, obj)
        # Pages past the embedded ones come after every node of the level has been fetched:
        # with a tight budget, a wider level beats a deeper list.
        # Pages are allotted in frontier order before any is sent, so which relationships a
        # tight budget cuts does not depend on timing.
        for more in follow_ups:
            while more.allowance < more.pages and self.budget.take():
                more.allowance += 1
        extra_discoveries_at = len(result.discoveries)
        await asyncio.gather(*(self.page_more(more) for more in follow_ups))
        # Concurrent pages finish in any order: keep the result independent of timing.
        extra = result.discoveries[extra_discoveries_at:]
        order = {node.key: i for i, node in enumerate(result.nodes)}
        extra.sort(key=lambda d: (order.get(d.source, 0), d.relationship))
        result.discoveries[extra_discoveries_at:] = extra
        result.truncated.sort(key=lambda t: (order.get(t.node, 0), t.relationship))
        result.gaps.sort(key=lambda g: order.get(g.node, 0))
        result.requests = self.budget.used
        return result


async def fetch_level(
    vt: VirusTotalClient,
    frontier: Sequence[NodeRef],
    relationships: Mapping[str, Sequence[str]],
    *,
    fan_out: int = 20,
    request_budget: int | None = None,
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    leaf_verdicts: bool = False,
    skip_enterprise: bool = False,
) -> LevelResult:
    """Fetch one breadth-first level of an IOC graph: every frontier node and its neighbours.

    Each node costs one GET that embeds the first page of each relationship; descriptor
    pages are fetched only where ``fan_out`` wants more than the embedded 20, and never
    for a relationship whose count is zero. Requests run concurrently under the client's
    rate limiter. Expected failures (not found, quota, errors) become gaps in the result;
    nothing is raised for one node, only when every request of the level failed alike.

    Args:
        vt: the client.
        frontier: the nodes to fetch, in priority order (the budget goes to the first).
        relationships: relationship names to follow per object type; an empty mapping
            only fetches the nodes (verdicts, no neighbours).
        fan_out: most related objects followed per relationship per node.
        request_budget: most requests this level may send; None for no limit.
        policy: verdict thresholds.
        concurrency: requests in flight at once.
        leaf_verdicts: also fetch the related objects in full (one request per 40, only
            for relationships with items), so that the next level's nodes come with
            verdicts; for the last level of an expansion.
        skip_enterprise: do not follow the relationships VirusTotal keeps for VT Enterprise
            users (a public key gets an error for them); each node that had some to follow
            gets a ``tier`` gap saying which were skipped.

    Returns:
        The fetched nodes with verdicts, the related objects found, and what was left
        undone (nodes not fetched, relationships cut short) and why.

    Raises:
        InvalidParameterError: a relationship name is malformed (no request made).
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request of the level failed with that same error (a
            wrong key, a spent quota, no network): the level failed, not node by node.
    """
    policy = policy or VerdictPolicy()
    skipped = {
        kind: sorted(ENTERPRISE_RELATIONSHIPS.get(kind, frozenset()) & set(names))
        for kind, names in relationships.items()
    }
    if skip_enterprise:
        relationships = {
            kind: [n for n in names if n not in skipped[kind]] for kind, names in relationships.items()
        }
    level = _Level(
        vt, relationships, max(0, fan_out), _Budget(request_budget), policy, concurrency, leaf_verdicts
    )
    sent_before = vt.request_count  # the client may have served earlier levels (the CLI's one client)
    result = await level.run(frontier)
    result.requests_sent = vt.request_count - sent_before
    result.emulated = vt.emulated
    for node in result.nodes if skip_enterprise else ():
        if skipped.get(node.type) and node.status in (NodeStatus.EXPANDED, NodeStatus.FETCHED):
            detail = f"not followed with a public key (VT Enterprise only): {', '.join(skipped[node.type])}"
            result.gaps.append(GraphGap(node=node.key, depth=0, reason="tier", detail=detail))
    answered = sum(node.status in _ANSWERED for node in result.nodes)
    fatal = run_wide_failure(level.failures, answered + len(level.failures))
    if fatal is not None:
        raise fatal  # a wrong key, a spent quota, no network: the level failed (never cached)
    return result


_ANSWERED = (NodeStatus.EXPANDED, NodeStatus.FETCHED, NodeStatus.NOT_FOUND)


def is_partial_level(result: LevelResult) -> bool:
    """True when part of a level failed for reasons of the moment (errors, quota): such a
    level must not be cached, a later run has to ask again."""
    return any(gap.reason in ("error", "quota") for gap in result.gaps) or any(
        cut.reason == "error" for cut in result.truncated
    )
