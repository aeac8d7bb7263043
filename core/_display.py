"""How the pack shows indicators to people: VirusTotal page links, defanged text, short hashes.

Everything a person reads (artifacts, reports, the terminal) goes through these helpers, so
that the only live links are to VirusTotal's own pages and an indicator under investigation is
never clickable: ``hxxp://evil[.]example/a``, ``evil[.]example``, ``203[.]0[.]113[.]7``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from prefect_virustotal.client.models import VERDICT_SEVERITY

from ._graph_model import GraphNode, IOCGraph
from ._safety import escape_control

GUI_ROOT = "https://www.virustotal.com/gui"
"""The root of VirusTotal's web pages; the only links the pack shows."""
EMULATED_BANNER = "EMULATED DATA: these results come from the prefect-virustotal emulator and are fiction."
"""Said wherever answers of the pack's emulator are shown, so that fiction is never taken for intelligence."""
SHORT_HASH_LENGTH = 12
"""Characters of a hash shown in text (the full value stays in the link)."""

PageKind = Literal["file", "url", "domain", "ip_address", "collection"]

_GUI_PATHS: dict[str, str] = {
    "file": "file",
    "url": "url",
    "domain": "domain",
    "ip_address": "ip-address",
    "collection": "collection",
}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
_LIVE_SCHEME_AT_END = re.compile(r"\b(https?|ftp)$", re.IGNORECASE)
_HASH_TOKEN = re.compile(r"\b(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b")


def canonical_url(url: str) -> str:
    """The URL as VirusTotal names its page: scheme added if missing, scheme and host in lower
    case, an empty path as ``/``.

    UNCONFIRMED: VirusTotal's canonicalisation does more (percent-encoding, default ports); for
    URLs it already knows, :func:`vt_link` is given the report's id and needs none of this.
    """
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))


def url_page_id(url_or_id: str) -> str:
    """The identifier of a URL's page: the SHA-256 of its canonical form (a SHA-256 as is)."""
    if _SHA256.fullmatch(url_or_id):
        return url_or_id.lower()
    return hashlib.sha256(canonical_url(url_or_id).encode()).hexdigest()


def vt_link(kind: str, identifier: str, *, private: bool = False) -> str:
    """The page of an object on virustotal.com.

    Args:
        kind: ``file``, ``url``, ``domain``, ``ip_address`` or ``collection`` (the v3 type).
        identifier: the object's id; for a URL, the URL itself or its SHA-256.
        private: the private-scanning page (UNCONFIRMED path ``/gui/private/<kind>/``; the
            public paths are documented).

    Example:
        >>> vt_link("ip_address", "203.0.113.7")
        'https://www.virustotal.com/gui/ip-address/203.0.113.7'
    """
    ident = url_page_id(identifier) if kind == "url" else identifier
    path = _GUI_PATHS.get(kind, kind)
    return f"{GUI_ROOT}/{'private/' if private else ''}{path}/{ident}"


def short_hash(value: str, length: int = SHORT_HASH_LENGTH) -> str:
    """The first ``length`` characters of a hash (other text unchanged)."""
    return value[:length] if _HASH.fullmatch(value) else value


def shorten_hashes(text: str) -> str:
    """Free text with every MD5, SHA-1 or SHA-256 in it cut to its first 12 characters."""
    return _HASH_TOKEN.sub(lambda m: short_hash(m.group(0)), text)


def _defang_host(host: str) -> str:
    return re.sub(r"(?<!\[)\.(?!\])", "[.]", host)


def defang(value: str) -> str:
    """A URL, domain or IP address that no reader can follow by accident.

    ``http://evil.example/a`` → ``hxxp://evil[.]example/a``; ``evil.example`` → ``evil[.]example``.
    Already defanged text is returned as is.
    """
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        host, slash, tail = text.partition("/")
        return _defang_host(host) + slash + tail.replace("://", "[:]//")
    authority, slash, tail = rest.partition("/")
    # The scheme may follow a prefix (a graph key such as ``url:http://...``): defang it wherever it ends.
    scheme = _LIVE_SCHEME_AT_END.sub(lambda m: _SCHEMES[m.group(1).lower()], scheme)
    return f"{scheme}://{_defang_host(authority)}{slash}{tail.replace('://', '[:]//')}"


def display_indicator(kind: str | None, value: str) -> str:
    """What a person reads for an indicator: hashes shortened, everything else defanged, control
    characters (an invalid indicator can hold terminal escapes) shown escaped."""
    if kind == "file" or (kind is None and _HASH.fullmatch(value)):
        return short_hash(value)
    return escape_control(defang(value))


def markdown_link(text: str, url: str) -> str:
    """A markdown link to one of VirusTotal's pages; ``text`` must already be defanged.

    Plain text, not code: Prefect's UI shows backticks inside a link's text literally.
    """
    if not url.startswith(GUI_ROOT + "/"):
        raise ValueError("only VirusTotal's own pages are linked")
    text = markdown_cell(text).replace("[", "\\[").replace("]", "\\]")
    return f"[{text}]({url})"


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: control characters shown escaped, never raw."""
    return escape_control(text.replace("\n", " ")).replace("|", "\\|").replace("`", "'")


_LIVE_SCHEME = re.compile(r"\b(https?|ftp)://", re.IGNORECASE)
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)


def defang_text(text: str) -> str:
    """Free text (a reason, an error) with every scheme and ``www.`` defanged, so that no
    renderer turns a URL inside it into a link; VirusTotal's own page links are kept."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = re.sub(re.escape(GUI_ROOT) + r"/\S*", keep, text)
    text = _LIVE_SCHEME.sub(lambda m: _SCHEMES.get(m.group(1).lower(), m.group(1)) + "://", text)
    text = _WWW.sub("www[.]", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")
_KEY_LENGTH = 80


def artifact_key(what: str, subject: str) -> str:
    """A Prefect artifact key for ``what`` about ``subject`` (a case, a seed, a collection):
    lowercase and dashes, hashes shortened, at most 80 characters.

    Example:
        >>> artifact_key("enrichment", "INC-2026/11 27")
        'virustotal-enrichment-inc-2026-11-27'
    """
    shortened = shorten_hashes(subject.strip())
    slug = _KEY_UNSAFE.sub("-", shortened.lower()).strip("-") or "unnamed"
    return f"virustotal-{what}-{slug}"[:_KEY_LENGTH].rstrip("-")


VERDICT_ORDER: dict[str, int] = {
    verdict: len(VERDICT_SEVERITY) - 1 - severity for verdict, severity in VERDICT_SEVERITY.items()
}
"""The order rows are read in: worst verdict first (from the one ranking, ``VERDICT_SEVERITY``);
statuses (invalid, error, ...) come last."""


def verdict_rank(verdict: str) -> int:
    """Sort key of a verdict (worst first)."""
    return VERDICT_ORDER.get(verdict, len(VERDICT_ORDER))


def verdict_counts(counts: Mapping[str, int]) -> str:
    """``2 malicious, 1 clean``: counts by verdict, worst first."""
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: verdict_rank(kv[0])))


def node_display(node: GraphNode) -> str:
    """What a person reads for a graph node: its label defanged, a file's hash shortened."""
    if node.type == "file":
        name = node.label if node.label and node.label != node.id else ""
        return f"{name} ({short_hash(node.id)})" if name else short_hash(node.id)
    return defang(node.label or node.id)


def relationship_summary(graph: IOCGraph, limit: int = 20) -> list[str]:
    """A compact text account of a graph: one line per expanded node, its relationships counted.

    ``evil[.]example (malicious): 3 communicating_files (2 malicious), 1 resolutions``
    """
    nodes = graph.node_map()
    grouped: dict[str, dict[str, list[str]]] = {}
    for edge in graph.edges:
        grouped.setdefault(edge.source, {}).setdefault(edge.relationship, []).append(edge.target)
    ordered = sorted(
        grouped, key=lambda key: (key not in graph.seeds, -nodes[key].severity if key in nodes else 0)
    )
    lines = []
    for key in ordered[:limit]:
        node = nodes.get(key)
        parts = []
        for relationship, targets in grouped[key].items():
            bad = sum(1 for t in targets if t in nodes and nodes[t].verdict in ("malicious", "suspicious"))
            parts.append(
                f"{len(targets)} {relationship}" + (f" ({bad} malicious or suspicious)" if bad else "")
            )
        name = node_display(node) if node is not None else key
        verdict = f" ({node.verdict})" if node is not None else ""
        lines.append(f"{name}{verdict}: {', '.join(parts)}")
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more expanded nodes")
    return lines
