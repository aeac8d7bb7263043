"""A seeded, deterministic world of files, URLs, domains and IP addresses, and their links.

``World(seed)`` builds the same world for the same seed, from ``random.Random(seed)`` and
nothing else (no wall clock, no hash randomisation): about 3,300 objects in well under a
second. It is organised as:

* **Campaigns (clusters)**, each with a malware family: registered domains and subdomains (some
  under a shared dynamic-DNS provider), IPs they resolve to, URLs on them, payload files that
  contact that infrastructure, droppers that drop and execute payloads, and archives that
  bundle them. Campaigns share infrastructure: a pool of bulletproof-hosting IPs, one *hub IP*
  that many campaign and parked domains resolve to, and an occasional domain contacted across
  campaigns.
* **Benign noise**: ordinary sites, their subdomains and URLs, a download mirror, parked
  domains, installers and documents, plus telemetry domains that most executables contact.
* **Hubs** with 100+ related items, so pagination is exercised: two fast-flux domains and the
  hub IP (``resolutions``), the hub IP again (``communicating_files``), the dynamic-DNS domain
  (``subdomains``), the telemetry domains (``communicating_files``), the mirror URL
  (``downloaded_files``) and one loader file (``contacted_urls``).

Every object has a **nature** that its ``last_analysis_stats`` obey:

* ``malicious``: ``malicious >= 5``;
* ``suspicious``: ``malicious`` in 1..2 and ``suspicious >= 1``;
* ``clean``: no malicious or suspicious verdicts; for URLs, domains and IPs ``harmless``
  outnumbers ``undetected``; files (which engines rarely call harmless) have a positive
  reputation and only harmless votes;
* ``undetected``: no malicious or suspicious verdicts; ``undetected`` dominates; reputation 0.

Relationships are stored in both directions where one is the other's inverse:
``contacted_domains``/``communicating_files``, ``contacted_ips``/``communicating_files``,
``contacted_urls``/``communicating_files``, ``embedded_*``/``referrer_files``,
``itw_urls``/``downloaded_files`` (and ``itw_domains``/``itw_ips`` against the domain and
serving IP's ``downloaded_files``), ``dropped_files``/``execution_parents``,
``bundled_files``/``compressed_parents``, ``redirects_to``/``redirecting_urls``,
``network_location``/domain ``urls``, ``last_serving_ip_address``/IP ``urls``,
``subdomains``/``immediate_parent``, and ``resolutions`` on both ends. ``siblings`` is derived
(the other subdomains of the immediate parent). Relationship names the contract lists but the
world does not model (comments, votes, graphs, ...) exist and are always empty.

Per-engine ``last_analysis_results`` are not stored: they are rebuilt on demand from the
object's stats with an RNG seeded by (world seed, type, id), so they are just as deterministic
and cost no memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from ._rng import seeded
from ._vocab import (
    AS_SUFFIXES,
    BENIGN_TLDS,
    COUNTRIES,
    FILE_ENGINES,
    FILE_TYPES,
    MALICIOUS_TLDS,
    REGISTRARS,
    RESOLVERS,
    SYLLABLES,
    URL_CATEGORIES_BENIGN,
    URL_CATEGORIES_MALICIOUS,
    URL_ENGINES,
    FileType,
)

__all__ = [
    "COLLECTIONS",
    "NATURES",
    "OBJECT_KINDS",
    "RELATIONSHIPS",
    "WORLD_NOW",
    "Analysis",
    "Ref",
    "Relationship",
    "Resolution",
    "World",
    "WorldObject",
    "canonical_url",
]

#: A reference to any object: ``(type, id)``; types include ``resolution``.
Ref = tuple[str, str]

OBJECT_KINDS: tuple[str, ...] = ("file", "url", "domain", "ip_address")
NATURES: tuple[str, ...] = ("malicious", "suspicious", "clean", "undetected")
#: Object type -> collection name used in paths.
COLLECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "file": "files",
        "url": "urls",
        "domain": "domains",
        "ip_address": "ip_addresses",
        "resolution": "resolutions",
        "analysis": "analyses",
        "user": "users",
    }
)

#: 2026-01-01T00:00:00Z. The world's "now": every generated date is before it, so a world
#: never depends on the wall clock.
WORLD_NOW = 1767225600
_DAY = 86400
_CLUSTERS = 36
_FILE_CATEGORIES = (
    "harmless",
    "type-unsupported",
    "suspicious",
    "confirmed-timeout",
    "timeout",
    "failure",
    "malicious",
    "undetected",
)
_URL_CATEGORIES = ("harmless", "malicious", "suspicious", "undetected", "timeout")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Relationship:
    """A relationship name of an object type.

    Attributes:
        name: As in the API path.
        to_one: The relationship holds at most one object (answered as an object or null).
        modelled: ``False`` for names the contract lists but the world keeps empty.
    """

    name: str
    to_one: bool = False
    modelled: bool = True


def _rels(modelled: str, to_one: str = "", empty: str = "") -> Mapping[str, Relationship]:
    table = {n: Relationship(n) for n in modelled.split()}
    table.update({n: Relationship(n, to_one=True) for n in to_one.split()})
    table.update({n: Relationship(n, modelled=False) for n in empty.split()})
    return MappingProxyType(dict(sorted(table.items())))


#: Relationship names per object type (contract section 2.5).
RELATIONSHIPS: Mapping[str, Mapping[str, Relationship]] = MappingProxyType(
    {
        "file": _rels(
            "contacted_domains contacted_ips contacted_urls dropped_files execution_parents "
            "bundled_files compressed_parents itw_urls itw_domains itw_ips embedded_domains "
            "embedded_ips embedded_urls similar_files",
            empty="analyses behaviours carbonblack_children carbonblack_parents "
            "ciphered_bundled_files ciphered_parents collections comments email_attachments "
            "email_parents graphs memory_pattern_domains memory_pattern_ips memory_pattern_urls "
            "overlay_children overlay_parents pcap_children pcap_parents pe_resource_children "
            "pe_resource_parents related_references related_threat_actors screenshots "
            "submissions urls_for_embedded_js votes",
        ),
        "domain": _rels(
            "resolutions communicating_files downloaded_files referrer_files subdomains siblings urls",
            to_one="parent immediate_parent",
            empty="caa_records cname_records collections comments graphs "
            "historical_ssl_certificates historical_whois mx_records ns_records soa_records votes",
        ),
        "ip_address": _rels(
            "resolutions communicating_files downloaded_files referrer_files urls",
            empty="collections comments graphs historical_ssl_certificates historical_whois votes",
        ),
        "url": _rels(
            "contacted_domains contacted_ips downloaded_files redirects_to redirecting_urls "
            "referrer_files communicating_files",
            to_one="last_serving_ip_address network_location",
            empty="analyses collections comments graphs referrer_urls votes",
        ),
    }
)


@dataclass
class WorldObject:
    """One file, URL, domain or IP address.

    Attributes:
        type: ``file``, ``url``, ``domain`` or ``ip_address``.
        id: Canonical id (SHA-256, URL SHA-256, domain name, IP string).
        nature: ``malicious``, ``suspicious``, ``clean`` or ``undetected``.
        attributes: Stored attributes (``last_analysis_results`` is added on demand).
        family: Malware family of the campaign, if any.
        cluster: Campaign number, or ``None`` for benign noise and shared infrastructure.
        content: File bytes (files only).
    """

    type: str
    id: str
    nature: str
    attributes: dict[str, Any]
    family: str | None = None
    cluster: int | None = None
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Resolution:
    """A DNS resolution: ``domain`` resolved to ``ip`` on ``date``."""

    id: str
    ip: str
    domain: str
    date: int
    resolver: str


@dataclass
class Analysis:
    """An analysis of a file or URL.

    Attributes:
        id: Analysis id (file: base64 of ``<md5>:<date>``; URL: ``u-<sha256>-<date>``).
        item: The analysed object.
        date: Epoch seconds.
        status: ``queued``, ``in-progress`` or ``completed``.
        stats: Category counts (hyphenated keys for files).
        results: Per-engine results.
    """

    id: str
    item: Ref
    date: int
    status: str
    stats: dict[str, int]
    results: dict[str, dict[str, Any]]
    queued_until: float | None = None
    completed_at: float | None = None

    def at(self, now: float) -> Analysis:
        """This analysis as seen at ``now``: a scan moves queued -> in-progress -> completed.

        An analysis without a lifecycle (``completed_at`` unset) is returned as is. While in
        progress, a share of the engines proportional to the time spent has answered.
        """
        if self.completed_at is None or now >= self.completed_at:
            return self if self.completed_at is None else replace(self, status="completed")
        started = self.queued_until if self.queued_until is not None else self.date
        if now < started:
            return replace(self, status="queued", stats=dict.fromkeys(self.stats, 0), results={})
        share = (now - started) / max(1e-6, self.completed_at - started)
        engines = sorted(self.results)[: int(len(self.results) * share)]
        stats = dict.fromkeys(self.stats, 0)
        for engine in engines:
            category = self.results[engine]["category"]
            stats[category] = stats.get(category, 0) + 1
        results = {engine: self.results[engine] for engine in engines}
        return replace(self, status="in-progress", stats=stats, results=results)


def _b64url_decode(raw: str) -> str | None:
    """Decode unpadded URL-safe base64 into text, or ``None`` if it is not that."""
    if not raw or re.fullmatch(r"[A-Za-z0-9_-]+", raw) is None:
        return None
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def canonical_url(url: str) -> str:
    """A light canonical form: scheme added if missing, scheme and host lower-cased, ``/`` path.

    VirusTotal's real canonicalisation does more; the world stores URLs already in this form.
    """
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    scheme, rest = url.split("://", 1)
    host, sep, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}/{path if sep else ''}"


class World:
    """The emulator's data: objects, their relationships, resolutions and analyses.

    Args:
        seed: Same seed, same world.

    Example:
        >>> world = World(seed=0)
        >>> sha256 = world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
        >>> world.get("file", sha256).nature
        'malicious'
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._objects: dict[str, dict[str, WorldObject]] = {k: {} for k in OBJECT_KINDS}
        self._hashes: dict[str, str] = {}  # md5 / sha1 -> sha256
        self._edges: dict[Ref, dict[str, dict[Ref, None]]] = {}
        self._resolutions: dict[str, Resolution] = {}
        self._analyses: dict[str, Analysis] = {}
        self._file_observers: list[Callable[[str], None]] = []
        self._url_observers: list[Callable[[str], None]] = []
        _Builder(self, seeded(seed)).build()

    # ----------------------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return sum(len(objects) for objects in self._objects.values())

    def count(self, kind: str) -> int:
        """Number of objects of one type."""
        return len(self._objects[kind])

    def ids(self, kind: str) -> list[str]:
        """Ids of every object of one type, in generation order."""
        return list(self._objects[kind])

    def objects(self, kind: str) -> Iterator[WorldObject]:
        """Every object of one type, in generation order."""
        return iter(self._objects[kind].values())

    def canonical_id(self, kind: str, raw: str) -> str | None:
        """Resolve an id as a client may send it to the stored id, or ``None`` if unknown.

        Files accept MD5, SHA-1 or SHA-256 in any case; URLs accept the SHA-256 or the
        unpadded URL-safe base64 of the URL; domains are case-insensitive; IPs are
        normalised (IPv6 compressed).
        """
        objects = self._objects.get(kind)
        if objects is None:
            return None
        if kind == "file":
            low = raw.lower()
            return low if low in objects else self._hashes.get(low)
        if kind == "url":
            if _SHA256.fullmatch(raw) and raw.lower() in objects:
                return raw.lower()
            decoded = _b64url_decode(raw)
            if decoded is None:
                return None
            candidate = self.url_id(decoded)
            return candidate if candidate in objects else None
        if kind == "domain":
            low = raw.lower().rstrip(".")
            return low if low in objects else None
        try:
            address = str(ipaddress.ip_address(raw))
        except ValueError:
            return None
        return address if address in objects else None

    def get(self, kind: str, raw_id: str) -> WorldObject | None:
        """The object of ``kind`` with this id (in any accepted form), or ``None``."""
        canonical = self.canonical_id(kind, raw_id)
        return None if canonical is None else self._objects[kind].get(canonical)

    def forget(self, kind: str, object_id: str) -> None:
        """Test handle: VirusTotal no longer has this object, though relationships still list it.

        Lookups then answer 404, and relationship listings carry an error stub in its place.
        """
        canonical = self.canonical_id(kind, object_id)
        if canonical is None:
            raise KeyError(object_id)
        del self._objects[kind][canonical]

    def content(self, sha256: str) -> bytes:
        """The bytes of a file (any accepted hash form)."""
        obj = self.get("file", sha256)
        if obj is None or obj.content is None:
            raise KeyError(sha256)
        return obj.content

    @staticmethod
    def url_id(url: str) -> str:
        """The SHA-256 id of a URL (after the light canonicalisation of ``canonical_url``)."""
        return hashlib.sha256(canonical_url(url).encode()).hexdigest()

    @staticmethod
    def valid_file_id(raw: str) -> bool:
        """Whether ``raw`` is shaped like an MD5, SHA-1 or SHA-256."""
        return _HASH.fullmatch(raw) is not None

    def pick(
        self,
        kind: str,
        nature: str | None = None,
        *,
        min_relationship: tuple[str, int] | None = None,
        family: str | None = None,
        index: int = 0,
    ) -> str:
        """The id of the ``index``-th object (generation order) matching every filter.

        Args:
            kind: ``file``, ``url``, ``domain`` or ``ip_address``.
            nature: Keep objects of this nature only.
            min_relationship: ``(name, n)``: keep objects with at least ``n`` items there.
            family: Keep objects of this campaign family only.
            index: Skip the first ``index`` matches (to get several distinct objects).

        Raises:
            LookupError: Nothing matches.
        """
        if kind not in self._objects:
            raise ValueError(f"unknown kind {kind!r}")
        if nature is not None and nature not in NATURES:
            raise ValueError(f"unknown nature {nature!r}")
        if min_relationship is not None and min_relationship[0] not in RELATIONSHIPS[kind]:
            raise ValueError(f"{kind} has no relationship {min_relationship[0]!r}")
        seen = 0
        for obj in self._objects[kind].values():
            if nature is not None and obj.nature != nature:
                continue
            if family is not None and obj.family != family:
                continue
            if min_relationship is not None:
                name, least = min_relationship
                if len(self.related(kind, obj.id, name)) < least:
                    continue
            if seen == index:
                return obj.id
            seen += 1
        raise LookupError(f"no {kind} matches nature={nature} {min_relationship=} {family=}")

    @property
    def families(self) -> list[str]:
        """Malware families, one per campaign, in campaign order."""
        seen: dict[str, None] = {}
        for obj in self._objects["file"].values():
            if obj.family is not None:
                seen[obj.family] = None
        return list(seen)

    # ---------------------------------------------------------------------- relationships
    @staticmethod
    def relationship(kind: str, name: str) -> Relationship | None:
        """The relationship ``name`` of object type ``kind``, or ``None`` if it has none."""
        return RELATIONSHIPS.get(kind, {}).get(name)

    def related(self, kind: str, object_id: str, name: str) -> list[Ref]:
        """References related to an object (canonical id) through ``name``; to-one: 0 or 1."""
        if name == "siblings" and kind == "domain":
            parents = self.related(kind, object_id, "immediate_parent")
            if not parents:
                return []
            return [r for r in self.related(*parents[0], "subdomains") if r[1] != object_id]
        return list(self._edges.get((kind, object_id), {}).get(name, ()))

    def resolution(self, resolution_id: str) -> Resolution | None:
        """A resolution object by its id (``<ip><domain>``)."""
        return self._resolutions.get(resolution_id)

    # -------------------------------------------------------------------------- rendering
    def attributes(self, obj: WorldObject) -> dict[str, Any]:
        """The attributes a client sees, ``last_analysis_results`` included (a fresh dict)."""
        attrs = dict(obj.attributes)
        stats = attrs.get("last_analysis_stats")
        if stats is not None:
            attrs["last_analysis_results"] = self._results(obj, stats, attrs["last_analysis_date"])
        return attrs

    def resolution_attributes(self, res: Resolution) -> dict[str, Any]:
        """Attributes of a resolution object."""
        domain = self._objects["domain"][res.domain].attributes
        ip = self._objects["ip_address"][res.ip].attributes
        return {
            "date": res.date,
            "host_name": res.domain,
            "ip_address": res.ip,
            "resolver": res.resolver,
            "host_name_last_analysis_stats": dict(domain["last_analysis_stats"]),
            "ip_address_last_analysis_stats": dict(ip["last_analysis_stats"]),
        }

    def _results(self, obj: WorldObject, stats: Mapping[str, int], date: int) -> dict[str, dict[str, Any]]:
        rng = seeded(f"{self.seed}:{obj.type}:{obj.id}")
        is_file = obj.type == "file"
        engines = list(FILE_ENGINES if is_file else URL_ENGINES)
        rng.shuffle(engines)
        categories = [c for c, n in stats.items() for _ in range(n)]
        update = datetime.fromtimestamp(date, timezone.utc).strftime("%Y%m%d")
        platform = _PLATFORM.get(str(obj.attributes.get("type_tag")), "Win32")
        results: dict[str, dict[str, Any]] = {}
        for engine, category in sorted(zip(engines, categories, strict=True)):
            entry: dict[str, Any] = {
                "method": "blacklist",
                "engine_name": engine,
                "category": category,
                "result": _verdict(rng, engine, category, obj.family, platform, is_file),
            }
            if is_file:
                # URL scanners do not report versions on VT; AV engines do.
                entry["engine_version"] = _engine_version(engine)
                entry["engine_update"] = update
            results[engine] = entry
        return results

    # --------------------------------------------------------------------------- analyses
    def analysis_id(self, kind: str, object_id: str) -> str:
        """Id of the completed analysis behind an object's ``last_analysis_*`` attributes."""
        obj = self.get(kind, object_id)
        if obj is None or kind not in ("file", "url"):
            raise KeyError(object_id)
        date = obj.attributes["last_analysis_date"]
        if kind == "url":
            return f"u-{obj.id}-{date}"
        return base64.b64encode(f"{obj.attributes['md5']}:{date}".encode()).decode()

    def add_analysis(self, analysis: Analysis) -> None:
        """Register an analysis (later work: scans that move queued -> completed)."""
        self._analyses[analysis.id] = analysis

    def get_analysis(self, analysis_id: str) -> Analysis | None:
        """An analysis by id: a registered one, or the last analysis of a file or URL."""
        if analysis_id in self._analyses:
            return self._analyses[analysis_id]
        if analysis_id.startswith("u-"):
            _, _, rest = analysis_id.partition("-")
            sha256, _, date = rest.partition("-")
            obj = self._objects["url"].get(sha256)
        else:
            try:
                md5, _, date = base64.b64decode(analysis_id, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            sha256 = self._hashes.get(md5.lower(), "")
            obj = self._objects["file"].get(sha256)
        if obj is None or str(obj.attributes["last_analysis_date"]) != date:
            return None
        attrs = self.attributes(obj)
        return Analysis(
            id=analysis_id,
            item=(obj.type, obj.id),
            date=attrs["last_analysis_date"],
            status="completed",
            stats=dict(attrs["last_analysis_stats"]),
            results=attrs["last_analysis_results"],
        )

    # ---------------------------------------------------------------------------- growing
    def on_file_added(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(sha256)`` whenever ``add_file`` adds a new file (livehunt listens here)."""
        self._file_observers.append(callback)

    def on_url_added(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(url_id)`` whenever ``add_url`` adds a new URL (VT Alerts listens here)."""
        self._url_observers.append(callback)

    def add_file(
        self,
        content: bytes,
        *,
        nature: str = "undetected",
        names: Sequence[str] = (),
        date: int = WORLD_NOW,
        family: str | None = None,
        digests: tuple[str, str, str] | None = None,
        size: int | None = None,
    ) -> str:
        """Add a file with these bytes (no-op if known) and return its SHA-256.

        Its stats follow ``nature``; the type is sniffed from the first bytes. For a large
        upload, ``content`` may be only its first bytes: ``digests`` (sha256, sha1, md5) and
        ``size`` then describe the whole file, which is never held in memory.
        """
        sha256 = digests[0] if digests is not None else hashlib.sha256(content).hexdigest()
        if sha256 in self._objects["file"]:
            return sha256
        if nature not in NATURES:
            raise ValueError(f"unknown nature {nature!r}")
        rng = seeded(f"{self.seed}:add:{sha256}")
        builder = _Builder(self, rng)
        ftype = _sniff(content)
        builder.file_from_content(
            content,
            ftype,
            nature,
            names=list(names) or [f"{sha256[:12]}.{ftype.extension}"],
            family=family,
            cluster=None,
            window=(date, date),
            digests=digests,
            size=size,
        )
        for callback in list(self._file_observers):
            callback(sha256)
        return sha256

    def add_url(self, url: str, *, nature: str = "undetected", date: int = WORLD_NOW) -> str:
        """Add a URL (no-op if known) and return its id; links it to a known host domain."""
        url = canonical_url(url)
        uid = self.url_id(url)
        if uid in self._objects["url"]:
            return uid
        if nature not in NATURES:
            raise ValueError(f"unknown nature {nature!r}")
        builder = _Builder(self, seeded(f"{self.seed}:add:{uid}"))
        host = url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        builder.url(url, host, nature, window=(date, date), family=None, cluster=None)
        for callback in list(self._url_observers):
            callback(uid)
        return uid

    # ------------------------------------------------------------------------ determinism
    def digest(self) -> str:
        """A SHA-256 over everything stored; equal for worlds built from the same seed."""
        hasher = hashlib.sha256()
        for kind in OBJECT_KINDS:
            for obj in self._objects[kind].values():
                row = [obj.type, obj.id, obj.nature, obj.family, obj.cluster, obj.attributes]
                hasher.update(json.dumps(row, sort_keys=True).encode())
        for ref, rels in self._edges.items():
            hasher.update(json.dumps([ref, {k: list(v) for k, v in rels.items()}]).encode())
        for res in self._resolutions.values():
            hasher.update(json.dumps([res.id, res.date, res.resolver]).encode())
        hasher.update(json.dumps(sorted(self._analyses)).encode())
        return hasher.hexdigest()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, World):
            return NotImplemented
        return self.digest() == other.digest()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self._objects.items())
        return f"World(seed={self.seed}, {counts}, resolutions={len(self._resolutions)})"


# ------------------------------------------------------------------------------ verdicts
_PLATFORM = {
    "peexe": "Win32",
    "pedll": "Win32",
    "elf": "Linux",
    "doc": "Doc",
    "javascript": "JS",
    "powershell": "PowerShell",
    "html": "HTML",
    "pdf": "PDF",
    "zip": "Win32",
    "text": "Script",
}
_TEMPLATES = (
    "Trojan.{F}.{n}",
    "{P}/{F}.{L}",
    "Trojan:{P}/{F}!MTB",
    "HEUR:Trojan.{P}.{F}.gen",
    "Gen:Variant.{F}.{n}",
    "W32/{F}.{L}!tr",
    "Malware.{F}/Agent",
    "Trojan.{P}.{F}.{l}",
    "{F}.Trojan",
    "TR/{F}.{n}",
    "Backdoor.{F}",
    "Trojan-Downloader.{P}.{F}",
)
_GENERIC = ("Generic.ml", "Unsafe", "malicious (moderate confidence)", "Trojan.Generic.ml")


def _engine_version(engine: str) -> str:
    h = int(hashlib.md5(engine.encode()).hexdigest()[:8], 16)  # noqa: S324 - not security
    return f"{1 + h % 20}.{h // 20 % 10}.{h // 200 % 1000}"


def _verdict(
    rng: random.Random, engine: str, category: str, family: str | None, platform: str, file: bool
) -> str | None:
    if category == "malicious":
        if not file:
            return rng.choice(("malicious", "malware", "phishing"))
        if family is None:
            return rng.choice(_GENERIC)
        template = _TEMPLATES[int(hashlib.md5(engine.encode()).hexdigest()[:4], 16) % len(_TEMPLATES)]  # noqa: S324
        return template.format(
            F=family,
            P=platform,
            n=rng.randint(1000, 99999),
            L=rng.choice("ABCDEFGH"),
            l=rng.choice("abcdef"),
        )
    if category == "suspicious":
        return "suspicious" if not file else rng.choice(("Suspicious.heuristic", "HEUR/Suspicious"))
    if file:
        return None
    return "clean" if category == "harmless" else "unrated"


def _file_stats(rng: random.Random, nature: str) -> dict[str, int]:
    total = len(FILE_ENGINES)
    unsupported = rng.randint(0, 8)
    timeout, confirmed, failure = (rng.choice((0, 0, 0, 1)) for _ in range(3))
    if nature == "malicious":
        malicious, suspicious = rng.randint(8, 52), rng.choice((0, 0, 1))
    elif nature == "suspicious":
        malicious, suspicious = rng.randint(1, 2), rng.randint(1, 3)
    else:
        malicious = suspicious = 0
    undetected = total - unsupported - timeout - confirmed - failure - malicious - suspicious
    counts = {
        "harmless": 0,
        "type-unsupported": unsupported,
        "suspicious": suspicious,
        "confirmed-timeout": confirmed,
        "timeout": timeout,
        "failure": failure,
        "malicious": malicious,
        "undetected": undetected,
    }
    return {c: counts[c] for c in _FILE_CATEGORIES}


def _url_stats(rng: random.Random, nature: str) -> dict[str, int]:
    total = len(URL_ENGINES)
    timeout = rng.choice((0, 0, 1))
    if nature == "malicious":
        malicious, suspicious, harmless = rng.randint(5, 18), rng.randint(0, 2), rng.randint(25, 38)
    elif nature == "suspicious":
        malicious, suspicious, harmless = rng.randint(1, 2), rng.randint(1, 3), rng.randint(30, 45)
    elif nature == "clean":
        malicious, suspicious, harmless = 0, 0, rng.randint(40, 55)
    else:
        malicious, suspicious, harmless = 0, 0, rng.randint(5, 20)
    undetected = total - timeout - malicious - suspicious - harmless
    counts = {
        "harmless": harmless,
        "malicious": malicious,
        "suspicious": suspicious,
        "undetected": undetected,
        "timeout": timeout,
    }
    return {c: counts[c] for c in _URL_CATEGORIES}


def _reputation(rng: random.Random, nature: str) -> tuple[int, dict[str, int]]:
    if nature == "malicious":
        votes = {"harmless": rng.choice((0, 0, 1)), "malicious": rng.randint(1, 12)}
        return -rng.randint(5, 100), votes
    if nature == "suspicious":
        return -rng.randint(0, 10), {"harmless": 0, "malicious": rng.randint(0, 2)}
    if nature == "clean":
        return rng.randint(1, 60), {"harmless": rng.randint(1, 15), "malicious": 0}
    return 0, {"harmless": 0, "malicious": 0}


# Maps random bytes onto letters, digits, spaces and newlines: cheap filler for text files.
_TEXT_ALPHABET = b"    \n" + b"abcdefghijklmnopqrstuvwxyz" * 3 + b"0123456789"
_TEXT_TABLE = bytes(_TEXT_ALPHABET[i % len(_TEXT_ALPHABET)] for i in range(256))


_MAGIC_PREFIXES = (
    (b"MZ", "peexe"),
    (b"\x7fELF", "elf"),
    (b"%PDF", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0", "doc"),
)


def _sniff(content: bytes) -> FileType:
    """A file type from the first bytes, as far as a few magic numbers tell."""
    for prefix, tag in _MAGIC_PREFIXES:
        if content.startswith(prefix):
            return FILE_TYPES[tag]
    try:
        content.decode("ascii")
    except UnicodeDecodeError:
        return FileType("unknown", "unknown", "data", "bin", b"")
    return FILE_TYPES["text"]


# ------------------------------------------------------------------------------- builder
class _Builder:
    """Generates the world; every choice comes from one ``random.Random``."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.w = world
        self.rng = rng
        self.names: set[str] = set()
        self.blocks: dict[str, tuple[int, str, tuple[str, str, str]]] = {}
        addresses = [f"{p}.{i}" for p in ("192.0.2", "203.0.113") for i in range(1, 255)]
        rng.shuffle(addresses)
        self.bad_ips = addresses
        self.good_ips = [f"198.51.100.{i}" for i in range(1, 255)]
        rng.shuffle(self.good_ips)
        self.cluster_domains: list[str] = []
        self.cluster_urls: list[str] = []
        self.cluster_ips: list[str] = []
        # Shared scenery, filled in by build().
        self.hub_ip = ""
        self.ddns = ""
        self.pool_ips: list[str] = []
        self.good: list[str] = []
        self.telemetry: list[str] = []
        self.flux: list[str] = []

    # ------------------------------------------------------------------ low-level pieces
    def word(self, syllables: int) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(syllables))

    def unique(self, make: Callable[[], str]) -> str:
        while True:
            name = make()
            if name not in self.names:
                self.names.add(name)
                return name

    def dates(self, window: tuple[int, int]) -> tuple[int, int, int]:
        start, end = window
        first = self.rng.randint(start, end)
        last = self.rng.randint(first, end)
        analysed = min(WORLD_NOW, last + self.rng.randint(0, 3 * _DAY)) if end < WORLD_NOW else end
        return first, last, max(last, analysed)

    def add(self, obj: WorldObject) -> None:
        self.w._objects[obj.type][obj.id] = obj

    def link(self, a: Ref, name: str, b: Ref, inverse: str | None = None) -> None:
        if a == b:
            return
        self.w._edges.setdefault(a, {}).setdefault(name, {})[b] = None
        if inverse is not None:
            self.w._edges.setdefault(b, {}).setdefault(inverse, {})[a] = None

    def block(self, address: str) -> tuple[int, str, tuple[str, str, str], str]:
        """ASN, owner, place and network of the /27 (IPv4) or /48 (IPv6) holding ``address``."""
        ip = ipaddress.ip_address(address)
        prefix = 27 if ip.version == 4 else 48
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
        if network not in self.blocks:
            owner = f"{self.word(2).capitalize()} {self.rng.choice(AS_SUFFIXES)}"
            self.blocks[network] = (64512 + self.rng.randint(0, 1000), owner, self.rng.choice(COUNTRIES))
        asn, owner, place = self.blocks[network]
        return asn, owner, place, network

    # -------------------------------------------------------------------- object makers
    def ip(self, address: str, nature: str, window: tuple[int, int]) -> str:
        rng = self.rng
        asn, owner, (country, continent, rir), network = self.block(address)
        _first, _last, analysed = self.dates(window)
        reputation, votes = _reputation(rng, nature)
        attrs = {
            "as_owner": owner,
            "asn": asn,
            "continent": continent,
            "country": country,
            "network": network,
            "regional_internet_registry": rir,
            "last_analysis_date": analysed,
            "last_modification_date": analysed,
            "last_analysis_stats": _url_stats(rng, nature),
            "reputation": reputation,
            "tags": [],
            "total_votes": votes,
        }
        self.add(WorldObject("ip_address", address, nature, attrs))
        return address

    def domain(
        self,
        name: str,
        nature: str,
        window: tuple[int, int],
        *,
        parent: str | None = None,
        popular: bool = False,
        family: str | None = None,
        cluster: int | None = None,
    ) -> str:
        rng = self.rng
        self.names.add(name)
        first, last, analysed = self.dates(window)
        reputation, votes = _reputation(rng, nature)
        if nature in ("malicious", "suspicious"):
            categories = dict(rng.sample(URL_CATEGORIES_MALICIOUS, rng.randint(1, 3)))
        else:
            categories = {"Forcepoint ThreatSeeker": rng.choice(URL_CATEGORIES_BENIGN)}
        attrs: dict[str, Any] = {
            "categories": categories,
            "creation_date": first - rng.randint(1, 30) * _DAY,
            "last_analysis_date": analysed,
            "last_analysis_stats": _url_stats(rng, nature),
            "last_modification_date": analysed,
            "last_update_date": last,
            "reputation": reputation,
            "tags": [],
            "tld": name.rsplit(".", 1)[-1],
            "total_votes": votes,
        }
        if parent is None:
            attrs["registrar"] = rng.choice(REGISTRARS)
        if popular:
            attrs["popularity_ranks"] = {
                "Cisco Umbrella": {"rank": rng.randint(50, 50000), "timestamp": analysed}
            }
        self.add(WorldObject("domain", name, nature, attrs, family, cluster))
        if parent is not None:
            self.link(("domain", name), "immediate_parent", ("domain", parent), "subdomains")
            roots = self.w.related("domain", parent, "parent")
            self.link(("domain", name), "parent", roots[0] if roots else ("domain", parent))
        return name

    def resolve(self, domain: str, ip: str, window: tuple[int, int]) -> None:
        rid = f"{ip}{domain}"
        if rid in self.w._resolutions:
            return
        res = Resolution(rid, ip, domain, self.rng.randint(*window), self.rng.choice(RESOLVERS))
        self.w._resolutions[rid] = res
        self.link(("domain", domain), "resolutions", ("resolution", rid))
        self.link(("ip_address", ip), "resolutions", ("resolution", rid))

    def url(
        self,
        url: str,
        host: str,
        nature: str,
        *,
        window: tuple[int, int],
        family: str | None,
        cluster: int | None,
    ) -> str:
        rng = self.rng
        uid = hashlib.sha256(url.encode()).hexdigest()
        if uid in self.w._objects["url"]:
            return uid
        first, last, analysed = self.dates(window)
        reputation, votes = _reputation(rng, nature)
        bad = nature in ("malicious", "suspicious")
        is_ip = _is_ip(host)
        code = rng.choice((200, 200, 200, 404)) if bad else 200
        body_sha = hashlib.sha256(f"{url}:{code}".encode()).hexdigest()
        attrs: dict[str, Any] = {
            "categories": (
                dict(rng.sample(URL_CATEGORIES_MALICIOUS, 2))
                if bad
                else {"Forcepoint ThreatSeeker": rng.choice(URL_CATEGORIES_BENIGN)}
            ),
            "first_submission_date": first,
            "has_content": code == 200,
            "last_analysis_date": analysed,
            "last_analysis_stats": _url_stats(rng, nature),
            "last_final_url": url,
            "last_http_response_code": code,
            "last_http_response_content_length": rng.randint(200, 90000),
            "last_http_response_content_sha256": body_sha,
            "last_http_response_headers": {
                "content-type": "text/html; charset=UTF-8",
                "server": rng.choice(("nginx", "Apache", "cloudflare")),
            },
            "last_modification_date": analysed,
            "last_submission_date": last,
            "outgoing_links": [],
            "redirection_chain": [url],
            "reputation": reputation,
            "tags": ["ip"] if is_ip else [],
            "threat_names": [family] if family and nature == "malicious" else [],
            "times_submitted": rng.randint(1, 40),
            "title": (
                rng.choice(("Sign in to your account", "Index of /", "Document Viewer", ""))
                if bad
                else f"{self.word(2).capitalize()} - {self.word(3).capitalize()}"
            ),
            "total_votes": votes,
            "url": url,
        }
        if not is_ip:
            attrs["tld"] = host.rsplit(".", 1)[-1]
        self.add(WorldObject("url", uid, nature, attrs, family, cluster))
        ref = ("url", uid)
        if is_ip:
            if host in self.w._objects["ip_address"]:
                self.link(ref, "network_location", ("ip_address", host))
                self.link(ref, "last_serving_ip_address", ("ip_address", host), "urls")
                self.link(ref, "contacted_ips", ("ip_address", host))
        elif host in self.w._objects["domain"]:
            self.link(ref, "network_location", ("domain", host), "urls")
            self.link(ref, "contacted_domains", ("domain", host))
            served = self.w.related("domain", host, "resolutions")
            if served:
                ip = self.w._resolutions[rng.choice(served)[1]].ip
                self.link(ref, "last_serving_ip_address", ("ip_address", ip), "urls")
                self.link(ref, "contacted_ips", ("ip_address", ip))
        return uid

    def file_from_content(
        self,
        content: bytes,
        ftype: FileType,
        nature: str,
        *,
        names: list[str],
        family: str | None,
        cluster: int | None,
        window: tuple[int, int],
        digests: tuple[str, str, str] | None = None,
        size: int | None = None,
    ) -> str:
        rng = self.rng
        if digests is not None:
            sha256, sha1, md5 = digests
        else:
            sha256 = hashlib.sha256(content).hexdigest()
            md5 = hashlib.md5(content).hexdigest()  # noqa: S324 - VT reports MD5s
            sha1 = hashlib.sha1(content).hexdigest()  # noqa: S324 - VT reports SHA-1s
        first, last, analysed = self.dates(window)
        reputation, votes = _reputation(rng, nature)
        submitted = rng.randint(1, 40 if nature == "malicious" else 200)
        tags = list(ftype.tags)
        if nature == "malicious" and ftype.tag in ("peexe", "pedll"):
            tags += rng.sample(
                (
                    "detect-debug-environment",
                    "long-sleeps",
                    "persistence",
                    "direct-cpu-clock-access",
                    "runtime-modules",
                ),
                2,
            )
        elif nature == "malicious" and ftype.tag == "doc":
            tags.append("macros")
        elif nature == "clean" and ftype.tag == "peexe":
            tags.append("signed")
        attrs: dict[str, Any] = {
            "first_submission_date": first,
            "last_analysis_date": analysed,
            "last_analysis_stats": _file_stats(rng, nature),
            "last_modification_date": analysed,
            "last_submission_date": last,
            "magic": ftype.magic,
            "md5": md5,
            "meaningful_name": names[0],
            "names": names,
            "reputation": reputation,
            "sha1": sha1,
            "sha256": sha256,
            "size": len(content) if size is None else size,
            "tags": tags,
            "times_submitted": submitted,
            "total_votes": votes,
            "type_description": ftype.description,
            "type_extension": ftype.extension,
            "type_tag": ftype.tag,
            "unique_sources": rng.randint(1, submitted),
        }
        if family is not None and nature == "malicious":
            label = family.lower()
            attrs["popular_threat_classification"] = {
                "suggested_threat_label": f"trojan.{label}",
                "popular_threat_category": [{"count": rng.randint(5, 30), "value": "trojan"}],
                "popular_threat_name": [{"count": rng.randint(3, 20), "value": label}],
            }
        self.add(WorldObject("file", sha256, nature, attrs, family, cluster, content))
        self.w._hashes[md5] = sha256
        self.w._hashes[sha1] = sha256
        return sha256

    def file(
        self,
        tag: str,
        nature: str,
        *,
        strings: Sequence[str],
        family: str | None,
        cluster: int | None,
        window: tuple[int, int],
        bad_names: bool,
    ) -> str:
        """Make a file of type ``tag`` whose bytes contain ``strings`` (hosts, URLs, markers)."""
        rng = self.rng
        ftype = FILE_TYPES[tag]
        size = rng.randint(64, 2048)
        body = bytearray(ftype.header)
        for s in strings:
            piece = (s + "\n").encode() if ftype.text else b"\x00" + s.encode() + b"\x00"
            if len(body) + len(piece) > 1900:
                break
            body += piece
        missing = max(0, size - len(body))
        filler = rng.randbytes(missing)
        body += filler.translate(_TEXT_TABLE) if ftype.text else filler
        stems = (
            ("invoice_{n}", "payment_{n}", "scan_{n}", "{w}", "{w}_update", "order{n}", "document_{n}")
            if bad_names
            else ("{w}_setup", "{w}-{n}", "report_{n}", "{w}_manual", "{w}")
        )
        names = [
            rng.choice(stems).format(w=self.word(2), n=rng.randint(1, 9999)) + "." + ftype.extension
            for _ in range(rng.randint(1, 3))
        ]
        return self.file_from_content(
            bytes(body), ftype, nature, names=names, family=family, cluster=cluster, window=window
        )

    # ------------------------------------------------------------------------- scenery
    def build(self) -> None:
        rng = self.rng
        everywhen = (WORLD_NOW - 900 * _DAY, WORLD_NOW - _DAY)
        self.hub_ip = self.ip(self.bad_ips.pop(), "malicious", everywhen)
        self.pool_ips = [
            self.ip(self.bad_ips.pop(), rng.choice(("malicious", "suspicious")), everywhen) for _ in range(10)
        ]
        self.good = [
            self.ip(self.good_ips.pop(), rng.choice(("clean", "clean", "undetected")), everywhen)
            for _ in range(45)
        ]
        for i in range(6):
            self.good.append(self.ip(f"2001:db8:{rng.randint(1, 0xFFFF):x}::{i + 1:x}", "clean", everywhen))
        self.ddns = self.domain(
            self.unique(lambda: self.word(2) + "dns.net"), "clean", everywhen, popular=True
        )
        self.resolve(self.ddns, rng.choice(self.good), everywhen)
        for suffix in ("-telemetry.com", "-cdn.net", "-time.org"):

            def make(suffix: str = suffix) -> str:
                return self.word(2) + suffix

            name = self.domain(self.unique(make), "clean", everywhen, popular=True)
            for ip in rng.sample(self.good, 2):
                self.resolve(name, ip, everywhen)
            self.telemetry.append(name)
        families: set[str] = set()
        for cluster in range(_CLUSTERS):
            family = self.word(rng.choice((2, 3))).capitalize()
            while family in families:
                family = self.word(3).capitalize()
            families.add(family)
            self.campaign(cluster, family)
        self.fast_flux()
        self.benign(everywhen)
        self.loader()
        self.finish()

    def campaign(self, cluster: int, family: str) -> None:
        rng = self.rng
        end = WORLD_NOW - rng.randint(1, 90) * _DAY
        window = (end - rng.randint(15, 600) * _DAY, end)
        ips = [
            self.ip(self.bad_ips.pop(), "malicious" if rng.random() < 0.8 else "suspicious", window)
            for _ in range(rng.randint(2, 3))
        ]
        ips.append(rng.choice(self.pool_ips))

        def bad_nature() -> str:
            return "malicious" if rng.random() < 0.85 else "suspicious"

        domains: list[str] = []
        for _ in range(rng.randint(3, 5)):
            name = self.unique(
                lambda: rng.choice(
                    (
                        f"{self.word(2)}-{self.word(2)}.{rng.choice(MALICIOUS_TLDS)}",
                        f"{self.word(3)}{rng.randint(1, 99)}.{rng.choice(MALICIOUS_TLDS)}",
                        f"secure-{self.word(2)}.{rng.choice(MALICIOUS_TLDS)}",
                        f"{family.lower()}{self.word(1)}.{rng.choice(MALICIOUS_TLDS)}",
                    )
                )
            )
            domains.append(self.domain(name, bad_nature(), window, family=family, cluster=cluster))
            for label in rng.sample(("cdn", "api", "update", "mail", "login"), rng.choice((0, 0, 1, 2))):
                domains.append(
                    self.domain(
                        f"{label}.{name}", bad_nature(), window, parent=name, family=family, cluster=cluster
                    )
                )
        for _ in range(2):
            name = self.unique(lambda: f"{self.word(2)}{rng.randint(1, 99)}.{self.ddns}")
            domains.append(
                self.domain(name, "malicious", window, parent=self.ddns, family=family, cluster=cluster)
            )
        for name in domains:
            for ip in rng.sample(ips, rng.randint(1, 2)):
                self.resolve(name, ip, window)
            if rng.random() < 0.35:
                self.resolve(name, self.hub_ip, window)
        if self.cluster_domains and rng.random() < 0.3:
            # Shared infrastructure: an older campaign's domain moves onto this one's servers.
            self.resolve(rng.choice(self.cluster_domains), ips[0], window)

        urls: list[str] = []
        downloads: list[str] = []
        for _ in range(rng.randint(9, 15)):
            host = rng.choice(ips) if rng.random() < 0.15 else rng.choice(domains)
            w = self.word(2)
            path, download = rng.choice(
                (
                    ("gate.php", False),
                    ("panel/login.php", False),
                    (f"secure/{w}/verify", False),
                    (f"wp-content/uploads/2025/{rng.randint(1, 12):02d}/{w}.zip", True),
                    (f"download/{w}.exe", True),
                    (f"bins/{w}.x86", True),
                    (f"files/{w}.doc", True),
                    (f"update/{w}.ps1", True),
                    (f"{w}/index.html", False),
                )
            )
            url = f"{rng.choice(('http', 'https'))}://{host}/{path}"
            uid = self.url(url, host, bad_nature(), window=window, family=family, cluster=cluster)
            urls.append(uid)
            if download:
                downloads.append(uid)
        if not downloads:
            downloads.append(urls[0])
        for uid in urls:
            if rng.random() < 0.15:
                self.redirect(uid, rng.choice(urls))

        def mal_nature() -> str:
            roll = rng.random()
            return "malicious" if roll < 0.85 else "suspicious" if roll < 0.95 else "undetected"

        def campaign_file(tag: str, nature: str, strings: list[str]) -> str:
            """A file of this campaign, under the misleading names malware goes by."""
            return self.file(
                tag, nature, strings=strings, family=family, cluster=cluster, window=window, bad_names=True
            )

        marker = f"{family.upper()}-{cluster:02d}"
        payloads: list[str] = []
        for _ in range(rng.randint(12, 20)):
            cdomains = rng.sample(domains, rng.randint(1, 3))
            cips = rng.sample(ips, rng.randint(1, 2))
            curls = rng.sample(urls, rng.randint(0, 3))
            shown_domains = cdomains[: rng.randint(0, len(cdomains))]
            shown_urls = curls[: rng.randint(0, len(curls))]
            strings = [marker, *shown_domains, *(self.url_text(u) for u in shown_urls)]
            sha = campaign_file(rng.choice(("peexe", "peexe", "pedll", "elf")), mal_nature(), strings)
            ref = ("file", sha)
            if rng.random() < 0.5:
                cdomains.append(rng.choice(self.telemetry))
            if self.cluster_domains and rng.random() < 0.1:
                cdomains.append(rng.choice(self.cluster_domains))
            if rng.random() < 0.4:
                cips.append(self.hub_ip)
            self.contacts(ref, cdomains, cips, curls)
            self.embeds(ref, shown_domains, cips if rng.random() < 0.3 else [], shown_urls)
            for uid in rng.sample(downloads, rng.randint(0, min(2, len(downloads)))):
                self.download(sha, uid)
            payloads.append(sha)
        for sha in payloads:
            for other in rng.sample(payloads, 3):
                self.link(("file", sha), "similar_files", ("file", other), "similar_files")
        droppers: list[str] = []
        for _ in range(rng.randint(5, 10)):
            dropped = rng.sample(payloads, rng.randint(1, 3))
            fetch = rng.sample(downloads, min(len(downloads), rng.randint(1, 2)))
            strings = [marker, *(self.url_text(u) for u in fetch)]
            sha = campaign_file(rng.choice(("doc", "javascript", "powershell", "pdf")), mal_nature(), strings)
            ref = ("file", sha)
            for child in dropped:
                self.link(ref, "dropped_files", ("file", child), "execution_parents")
            hosts = [
                r[1] for u in fetch for r in self.w.related("url", u, "network_location") if r[0] == "domain"
            ]
            self.contacts(ref, hosts, [], fetch)
            self.embeds(ref, [], [], fetch)
            droppers.append(sha)
        for _ in range(rng.randint(1, 3)):
            inner = rng.sample(payloads + droppers, rng.randint(2, 4))
            names = [self.w._objects["file"][s].attributes["meaningful_name"] for s in inner]
            sha = campaign_file("zip", "malicious", names)
            for child in inner:
                self.link(("file", sha), "bundled_files", ("file", child), "compressed_parents")
            if rng.random() < 0.5:
                self.download(sha, rng.choice(downloads))
        self.cluster_domains += domains
        self.cluster_urls += urls
        self.cluster_ips += ips

    def fast_flux(self) -> None:
        """Make fast-flux domains, each resolved to 100+ bot IPs (``resolutions`` hubs)."""
        rng = self.rng
        window = (WORLD_NOW - 120 * _DAY, WORLD_NOW - _DAY)
        bots = [
            self.ip(self.bad_ips.pop(), rng.choice(("malicious", "suspicious")), window) for _ in range(140)
        ]
        for _ in range(2):
            name = self.unique(lambda: f"{self.word(3)}{rng.randint(10, 99)}.{rng.choice(MALICIOUS_TLDS)}")
            self.domain(name, "malicious", window)
            for ip in rng.sample(bots, rng.randint(110, 130)):
                self.resolve(name, ip, window)
            self.flux.append(name)
            for path in ("gate.php", "panel/", f"dl/{self.word(2)}.exe"):
                self.cluster_urls.append(
                    self.url(
                        f"http://{name}/{path}", name, "malicious", window=window, family=None, cluster=None
                    )
                )

    def finish(self) -> None:
        """Order every ``resolutions`` list newest first."""
        dates = {rid: res.date for rid, res in self.w._resolutions.items()}
        for rels in self.w._edges.values():
            if "resolutions" in rels:
                ordered = sorted(rels["resolutions"], key=lambda ref: -dates[ref[1]])
                rels["resolutions"] = dict.fromkeys(ordered)

    def benign(self, window: tuple[int, int]) -> None:
        rng = self.rng

        def nature() -> str:
            return "clean" if rng.random() < 0.7 else "undetected"

        sites: list[str] = []
        for _ in range(150):
            name = self.unique(lambda: f"{self.word(rng.choice((2, 3)))}.{rng.choice(BENIGN_TLDS)}")
            self.domain(name, nature(), window, popular=rng.random() < 0.3)
            sites.append(name)
            for ip in rng.sample(self.good, rng.randint(1, 2)):
                self.resolve(name, ip, window)
            for label in rng.sample(("www", "mail", "cdn", "docs", "shop"), rng.choice((0, 1, 1, 2))):
                sub = self.domain(f"{label}.{name}", nature(), window, parent=name)
                self.resolve(sub, rng.choice(self.good), window)
                sites.append(sub)
        for _ in range(75):
            name = self.unique(lambda: f"{self.word(2)}{rng.randint(1, 999)}.{self.ddns}")
            self.domain(name, nature(), window, parent=self.ddns)
            self.resolve(name, rng.choice(self.good), window)
        for _ in range(100):
            # Parked domains on the hub IP: benign noise sharing the bad neighbourhood.
            name = self.unique(lambda: f"{self.word(3)}{rng.randint(1, 99)}.{rng.choice(BENIGN_TLDS)}")
            self.domain(name, "undetected", window)
            self.resolve(name, self.hub_ip, window)
        mirror_host = self.domain(f"downloads.{sites[0]}", "clean", window, parent=sites[0])
        self.resolve(mirror_host, self.good[0], window)
        mirror = self.url(
            f"https://{mirror_host}/mirror/latest/",
            mirror_host,
            "clean",
            window=window,
            family=None,
            cluster=None,
        )
        urls: list[str] = []
        downloads: list[str] = []
        for _ in range(380):
            host = rng.choice(sites)
            w = self.word(2)
            path, download = rng.choice(
                (
                    ("", False),
                    ("about", False),
                    (f"products/{w}", False),
                    (f"blog/2025/{rng.randint(1, 12):02d}/{w}", False),
                    (f"docs/{w}", False),
                    (f"download/{w}-setup.exe", True),
                    ("contact", False),
                    (f"news/{w}", False),
                )
            )
            uid = self.url(f"https://{host}/{path}", host, nature(), window=window, family=None, cluster=None)
            urls.append(uid)
            if download:
                downloads.append(uid)
        for _ in range(25):
            self.redirect(rng.choice(urls), rng.choice(urls))
        mirrored = 0
        for _ in range(600):
            roll = rng.random()
            kind = "clean" if roll < 0.6 else "undetected" if roll < 0.95 else "suspicious"
            tag = rng.choice(("pdf", "peexe", "peexe", "doc", "zip", "javascript", "html", "text"))
            shown = rng.sample(urls, rng.randint(0, 2)) if tag in ("pdf", "html", "doc") else []
            sha = self.file(
                tag,
                kind,
                strings=[self.url_text(u) for u in shown],
                family=None,
                cluster=None,
                window=window,
                bad_names=False,
            )
            ref = ("file", sha)
            if tag == "peexe":
                contacted = [
                    *rng.sample(self.telemetry, rng.randint(1, 2)),
                    *rng.sample(sites, rng.randint(0, 2)),
                ]
                self.contacts(ref, contacted, rng.sample(self.good, rng.randint(0, 1)), [])
            self.embeds(ref, [], [], shown)
            if mirrored < 120 and tag in ("peexe", "zip"):
                mirrored += 1
                self.download(sha, mirror)
            elif downloads and rng.random() < 0.4:
                self.download(sha, rng.choice(downloads))

    def loader(self) -> None:
        """Make a loader file that contacts 110 campaign URLs: the ``contacted_urls`` hub."""
        rng = self.rng
        family = self.w._objects["file"][next(iter(self.w._objects["file"]))].family
        curls = rng.sample(self.cluster_urls, 110)
        hosts = [
            r[1] for u in curls for r in self.w.related("url", u, "network_location") if r[0] == "domain"
        ]
        sha = self.file(
            "peexe",
            "malicious",
            strings=["LOADER", *hosts[:20]],
            family=family,
            cluster=0,
            window=(WORLD_NOW - 30 * _DAY, WORLD_NOW - _DAY),
            bad_names=True,
        )
        self.contacts(("file", sha), [*hosts, *self.flux], rng.sample(self.cluster_ips, 30), curls)

    # ---------------------------------------------------------------- relationship helpers
    def url_text(self, uid: str) -> str:
        return str(self.w._objects["url"][uid].attributes["url"])

    def contacts(self, ref: Ref, domains: Sequence[str], ips: Sequence[str], urls: Sequence[str]) -> None:
        for d in domains:
            self.link(ref, "contacted_domains", ("domain", d), "communicating_files")
        for ip in ips:
            self.link(ref, "contacted_ips", ("ip_address", ip), "communicating_files")
        for u in urls:
            self.link(ref, "contacted_urls", ("url", u), "communicating_files")

    def embeds(self, ref: Ref, domains: Sequence[str], ips: Sequence[str], urls: Sequence[str]) -> None:
        for d in domains:
            self.link(ref, "embedded_domains", ("domain", d), "referrer_files")
        for ip in ips:
            self.link(ref, "embedded_ips", ("ip_address", ip), "referrer_files")
        for u in urls:
            self.link(ref, "embedded_urls", ("url", u), "referrer_files")

    def download(self, sha256: str, uid: str) -> None:
        """``sha256`` was downloaded from URL ``uid`` (and so from its host and serving IP)."""
        ref = ("file", sha256)
        self.link(ref, "itw_urls", ("url", uid), "downloaded_files")
        for target in self.w.related("url", uid, "network_location"):
            if target[0] == "domain":
                self.link(ref, "itw_domains", target, "downloaded_files")
        for target in self.w.related("url", uid, "last_serving_ip_address"):
            self.link(ref, "itw_ips", target, "downloaded_files")

    def redirect(self, source: str, target: str) -> None:
        edges = self.w._edges
        # One hop only: no chains, no cycles, one target per source.
        if source == target or any(
            edges.get(("url", u), {}).get(rel)
            for u in (source, target)
            for rel in ("redirects_to", "redirecting_urls")
        ):
            return
        self.link(("url", source), "redirects_to", ("url", target), "redirecting_urls")
        attrs = self.w._objects["url"][source].attributes
        final = self.url_text(target)
        attrs["last_final_url"] = final
        attrs["redirection_chain"] = [attrs["url"], final]
        attrs["last_http_response_code"] = 302
        if "redirector" not in attrs["tags"]:
            attrs["tags"] = [*attrs["tags"], "redirector"]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
