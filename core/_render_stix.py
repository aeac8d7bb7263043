"""STIX 2.1 export of an expansion graph, built with the ``stix2`` library (``stix`` extra).

Why in ``core/`` and not in ``client/``: STIX is a report format of what an expansion found,
not part of the v3 API; ``client/`` stays "the v3 API in Python" with httpx and pydantic as
its only dependencies. The function takes the graph model only (no Prefect), so a runbook,
the ``expand_iocs`` flow and the command line call it on any graph, and ``stix2`` is imported
lazily: the pack works without the extra until a bundle is asked for.

Mapping:

* every node becomes a STIX Cyber-observable (``file`` with its hashes, ``url``,
  ``domain-name``, ``ipv4-addr``/``ipv6-addr``) carrying ``x_virustotal_verdict`` and
  ``x_virustotal_detections``; file ids are derived from the SHA-256 alone, so the same
  file has the same id in every bundle;
* every edge becomes a ``relationship`` whose type is the v3 relationship name with
  hyphens (``contacted-domains``); ids are UUIDv5 of the edge, so bundles are stable;
* malicious and suspicious nodes also get an ``indicator`` (STIX pattern) ``based-on`` the
  observable (``malicious-activity`` or ``anomalous-activity``);
* emulated data carries a ``note`` saying it is fiction.

URL nodes known only by their SHA-256 (no URL text) cannot become a ``url`` observable
(its ``value`` is the URL) and are left out with their edges.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, timezone
from typing import Any

from ._display import EMULATED_BANNER
from ._graph_model import GraphNode, IOCGraph

# The namespace STIX 2.1 itself uses for deterministic SCO ids.
_STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def _import_stix2() -> Any:
    try:
        import stix2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "STIX export needs the stix2 library: pip install 'prefect-virustotal[stix]'"
        ) from exc
    return stix2


def _quote(value: str) -> str:
    """A STIX pattern string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _url_text(node: GraphNode) -> str | None:
    text = node.attributes.get("url") or node.label
    return str(text) if text and "://" in str(text) else None


def _observable(stix2: Any, node: GraphNode) -> tuple[Any, str] | None:
    """The SCO of a node and the STIX pattern that matches it."""
    extra: dict[str, Any] = {"x_virustotal_verdict": node.verdict, "allow_custom": True}
    if node.detections:
        extra["x_virustotal_detections"] = node.detections
    if node.type == "file":
        hashes = {"SHA-256": node.id}
        stable_id = stix2.File(hashes=hashes).id  # the id of the hash alone
        for name, field in (("MD5", "md5"), ("SHA-1", "sha1")):
            if node.attributes.get(field):
                hashes[name] = str(node.attributes[field])
        file_name = node.label if node.label and node.label != node.id else None
        sco = stix2.File(id=stable_id, hashes=hashes, name=file_name, **extra)
        return sco, f"[file:hashes.'SHA-256' = {_quote(node.id)}]"
    if node.type == "url":
        url = _url_text(node)
        if url is None:
            return None
        return stix2.URL(value=url, **extra), f"[url:value = {_quote(url)}]"
    if node.type == "domain":
        return stix2.DomainName(value=node.id, **extra), f"[domain-name:value = {_quote(node.id)}]"
    if node.type == "ip_address":
        v6 = isinstance(ipaddress.ip_address(node.id), ipaddress.IPv6Address)
        cls, kind = (stix2.IPv6Address, "ipv6-addr") if v6 else (stix2.IPv4Address, "ipv4-addr")
        return cls(value=node.id, **extra), f"[{kind}:value = {_quote(node.id)}]"
    return None


def stix_bundle(graph: IOCGraph, *, created: datetime | None = None) -> Any:
    """The graph as a ``stix2.Bundle`` (see the module docstring for the mapping).

    Args:
        graph: an ``expand_iocs`` graph.
        created: ``created``/``modified``/``valid_from`` of the SDOs and SROs; now by default.

    Returns:
        A ``stix2.Bundle``; ``bundle.serialize()`` gives its JSON.

    Raises:
        ImportError: the ``stix2`` library is not installed.
    """
    stix2 = _import_stix2()
    when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = {"created": when, "modified": when}
    objects: list[Any] = []
    ids: dict[str, str] = {}
    for node in graph.nodes:
        made = _observable(stix2, node)
        if made is None:
            continue
        sco, pattern = made
        objects.append(sco)
        ids[node.key] = sco.id
        if node.verdict in ("malicious", "suspicious"):
            indicator = stix2.Indicator(
                id=f"indicator--{uuid.uuid5(_STIX_NAMESPACE, pattern)}",
                name=f"{node.verdict} {node.type} {node.label or node.id}"[:200],
                description=node.reason or f"VirusTotal verdict: {node.verdict}",
                pattern=pattern,
                pattern_type="stix",
                valid_from=when,
                indicator_types=[
                    "malicious-activity" if node.verdict == "malicious" else "anomalous-activity"
                ],
                **stamp,
            )
            objects.append(indicator)
            objects.append(
                stix2.Relationship(
                    id=f"relationship--{uuid.uuid5(_STIX_NAMESPACE, f'{indicator.id}|based-on|{sco.id}')}",
                    source_ref=indicator.id,
                    relationship_type="based-on",
                    target_ref=sco.id,
                    **stamp,
                )
            )
    for edge in graph.edges:
        source, target = ids.get(edge.source), ids.get(edge.target)
        if source is None or target is None:
            continue
        kind = edge.relationship.replace("_", "-")
        objects.append(
            stix2.Relationship(
                id=f"relationship--{uuid.uuid5(_STIX_NAMESPACE, f'{source}|{kind}|{target}')}",
                source_ref=source,
                relationship_type=kind,
                target_ref=target,
                description=f"VirusTotal relationship {edge.relationship}",
                **stamp,
            )
        )
    if graph.emulated and objects:
        objects.append(
            stix2.Note(
                id=f"note--{uuid.uuid5(_STIX_NAMESPACE, 'emulated|' + '|'.join(sorted(ids.values())))}",
                content=EMULATED_BANNER,
                object_refs=[obj.id for obj in objects],
                **stamp,
            )
        )
    return stix2.Bundle(objects=objects, allow_custom=True)


def stix_bundle_json(graph: IOCGraph, *, created: datetime | None = None) -> str:
    """The STIX 2.1 bundle of a graph as JSON text."""
    return str(stix_bundle(graph, created=created).serialize(pretty=True))
