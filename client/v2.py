"""A compatibility layer: v2's answers, made from v3 calls through the pack's client.

Legacy scripts parse v2 JSON (``response_code``, ``positives``, ``scans``...). ``V2Compat`` gives
them that JSON while every request is a v3 request of :class:`VirusTotalClient`, with its key in
the ``x-apikey`` header, its pacing, retries and identifier checks::

    async with VirusTotalClient(key) as vt:
        report = await V2Compat(vt).file_report("44d88612fea8a8f36de82e1278abb02f")
        if report["response_code"] == 1 and report["positives"]:
            ...

``response_code``: what a legacy script received. VirusTotal's v2 reference ("API responses",
and the file and URL report pages) says 1 = present and retrieved, 0 = "not present in
VirusTotal's dataset", -2 = "still queued for analysis". The table this project was seeded
with paired 0 with v3's ``NotAvailableYet`` and -2 with ``NotFoundError``: that is the wrong
way round. Here a v3 404 ``NotFoundError`` answers 0, and a queued or in-progress analysis,
or a v3 ``NotAvailableYet`` (400, "not available yet, but will become available later"),
answers -2. A 404 for a file or URL this instance submitted, while its analysis is unfinished,
is -2 too: what v2 said of a fresh submission.

Other choices, where v2 and v3 do not line up one to one:

- ``scan_id``: v2's report ``scan_id`` was ``<sha256>-<epoch>``; a submission's ``scan_id`` here is
  the v3 analysis id (v2's current reference shows base64 ``md5:epoch`` ids, the v3 form). Both
  are accepted back by :meth:`V2Compat.file_report` and :meth:`V2Compat.url_report`; the first
  form gives the latest report, not the one of that date (v3 has no lookup by date).
- ``scans[engine].detected``: true for v3 categories ``malicious`` and ``suspicious``;
  ``positives`` counts them and ``total`` counts engines that gave a verdict (not timeouts,
  failures or unsupported types). UNCONFIRMED: how v2 counted suspicious verdicts.
- ``permalink``: v2's documented form (``/file/<sha256>/analysis/<epoch>/``); UNCONFIRMED that
  virustotal.com still redirects it to the v3 page.
- ``verbose_msg``: the messages VirusTotal's v2 pages show where they show one; the others are
  marked UNCONFIRMED beside them.
- Domain and IP reports embed what v3 splits into relationships; one page of each (up to
  ``related_limit`` objects) is fetched, so a report costs one request per relationship more
  than v2 did. Fields whose v3 data the pack does not read (whois text, pcaps, category
  vendors by name) are left out. UNCONFIRMED: v2's domain and IP answer fields.

This module uses the pack's client only, never Prefect.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._errors import InvalidIndicatorError, NotAvailableYet, NotFoundError
from ._identifiers import normalize_url, parse_domain, parse_file_hash, parse_ip
from .models import VTObject

if TYPE_CHECKING:
    from ._core import VirusTotalClient
    from ._scanning import FileInput
    from .models._objects import EngineResult

__all__ = [
    "MSG_DOMAIN_FOUND",
    "MSG_DOMAIN_NOT_FOUND",
    "MSG_FOUND",
    "MSG_INVALID",
    "MSG_IP_FOUND",
    "MSG_IP_NOT_FOUND",
    "MSG_NOT_FOUND",
    "MSG_QUEUED",
    "MSG_QUEUED_SCAN",
    "V2Compat",
    "V2Report",
]

V2Report = dict[str, Any]
"""A v2 answer, as ``json.loads`` of v2's body would give it."""

MSG_FOUND = "Scan finished, scan information embedded in this object"  # v2 file and URL report pages
MSG_QUEUED_SCAN = "Scan request successfully queued, come back later for the report"  # v2 file/scan, url/scan
MSG_NOT_FOUND = "The requested resource is not among the finished, queued or pending scans"  # UNCONFIRMED
MSG_QUEUED = "Your resource is queued for analysis"  # UNCONFIRMED
MSG_INVALID = "Invalid resource, check what you are submitting"  # UNCONFIRMED
MSG_DOMAIN_FOUND = "Domain found in dataset"  # UNCONFIRMED
MSG_DOMAIN_NOT_FOUND = "Domain not found"  # UNCONFIRMED
MSG_IP_FOUND = "IP address in dataset"  # UNCONFIRMED
MSG_IP_NOT_FOUND = "IP address not in dataset"  # UNCONFIRMED

_DETECTED = frozenset({"malicious", "suspicious"})
_ANSWERED = frozenset({"malicious", "suspicious", "undetected", "harmless"})
_V2_SCAN_ID = re.compile(r"([0-9a-fA-F]{64})-(\d{1,12})")
_SITE = "https://www.virustotal.com"


def _v2_date(value: datetime | None) -> str | None:
    """v2's ``YYYY-MM-DD HH:MM:SS`` (UTC) from an aware datetime."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else None


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def _scans(results: Mapping[str, EngineResult], *, with_versions: bool) -> dict[str, dict[str, Any]]:
    """v2's ``scans``: one entry per engine that gave a verdict."""
    scans: dict[str, dict[str, Any]] = {}
    for engine, result in sorted(results.items()):
        if result.category not in _ANSWERED:
            continue
        entry: dict[str, Any] = {"detected": result.category in _DETECTED, "result": result.result}
        if with_versions:
            entry["version"] = result.engine_version
            entry["update"] = result.engine_update
        scans[engine] = entry
    return scans


def _verdict_fields(results: Mapping[str, EngineResult], *, with_versions: bool) -> dict[str, Any]:
    scans = _scans(results, with_versions=with_versions)
    return {
        "positives": sum(1 for s in scans.values() if s["detected"]),
        "total": len(scans),
        "scans": scans,
    }


def _status(resource: str, code: int, message: str, **extra: Any) -> V2Report:
    return {"response_code": code, "verbose_msg": message, "resource": resource, **extra}


class V2Compat:
    """v2's report and scan calls, answered in v2's JSON from v3 calls of ``client``.

    Args:
        client: the pack's client (its key, pacing, retries and base URL are used as they are).
        related_limit: objects fetched per relationship for domain and IP reports.

    Example:
        >>> async with VirusTotalClient(key) as vt:  # doctest: +SKIP
        ...     legacy = V2Compat(vt)
        ...     report = await legacy.url_report("http://example.com/")
        ...     report["response_code"], report.get("positives")
    """

    def __init__(self, client: VirusTotalClient, *, related_limit: int = 10) -> None:
        self._vt = client
        self._related_limit = related_limit
        # What this instance submitted: SHA-256 (file or URL id) -> v3 analysis id. A lookup of
        # a fresh submission can be a 404 on v3 until its first analysis ends (UNCONFIRMED);
        # v2 answered -2 then, so a 404 on something submitted here asks the analysis instead.
        self._submitted: dict[str, str] = {}

    # ------------------------------------------------------------------------------ files
    async def file_report(self, resource: str) -> V2Report | list[V2Report]:
        """v2 ``GET /file/report``: by MD5, SHA-1, SHA-256 or a ``scan_id``.

        Several comma-separated resources give a list, as in v2; they are looked up one after
        the other, so a batch never bursts past the key's pacing.
        """
        items = [r.strip() for r in resource.split(",") if r.strip()]
        if len(items) > 1:
            return [await self._file_report(item) for item in items]
        return await self._file_report(items[0] if items else resource)

    async def _file_report(self, resource: str) -> V2Report:
        scan_id = _V2_SCAN_ID.fullmatch(resource)
        target = scan_id.group(1) if scan_id else resource
        try:
            ident = parse_file_hash(target)
        except InvalidIndicatorError:
            return await self._analysis_report(resource, "file")
        try:
            obj = await self._vt.files.get(ident)
        except NotFoundError:
            return await self._not_found(resource, ident.lower())
        except NotAvailableYet:
            return _status(resource, -2, MSG_QUEUED)
        attrs = obj.attributes
        if attrs.last_analysis_date is None and not attrs.last_analysis_results:
            return _status(resource, -2, MSG_QUEUED)  # known, not analysed yet
        hashes = {"md5": attrs.md5, "sha1": attrs.sha1}
        return self._file_answer(
            resource, obj.id, hashes, attrs.last_analysis_date, attrs.last_analysis_results
        )

    def _file_answer(
        self,
        resource: str,
        sha256: str,
        hashes: Mapping[str, str | None],
        date: datetime | None,
        results: Mapping[str, EngineResult],
        scan_id: str | None = None,
    ) -> V2Report:
        return {
            "response_code": 1,
            "verbose_msg": MSG_FOUND,
            "resource": resource,
            "scan_id": scan_id or f"{sha256}-{_epoch(date)}",
            "md5": hashes.get("md5"),
            "sha1": hashes.get("sha1"),
            "sha256": sha256,
            "scan_date": _v2_date(date),
            "permalink": f"{_SITE}/file/{sha256}/analysis/{_epoch(date)}/",
            **_verdict_fields(results, with_versions=True),
        }

    async def _not_found(self, resource: str, key: str) -> V2Report:
        """0, unless this instance submitted ``key`` and its analysis is not finished (-2)."""
        analysis_id = self._submitted.get(key)
        if analysis_id is not None:
            try:
                if not (await self._vt.analyses.get(analysis_id)).attributes.completed:
                    return _status(resource, -2, MSG_QUEUED, scan_id=analysis_id)
            except (NotFoundError, NotAvailableYet):
                return _status(resource, -2, MSG_QUEUED, scan_id=analysis_id)
        return _status(resource, 0, MSG_NOT_FOUND)

    async def _analysis_report(self, resource: str, kind: str) -> V2Report:
        """A report by v3 analysis id (the ``scan_id`` a submission here answered)."""
        try:
            analysis = await self._vt.analyses.get(resource)
        except InvalidIndicatorError:
            return _status(resource, 0, MSG_INVALID)
        except NotFoundError:
            return _status(resource, 0, MSG_NOT_FOUND)
        except NotAvailableYet:
            return _status(resource, -2, MSG_QUEUED, scan_id=resource)
        attrs = analysis.attributes
        if not attrs.completed:
            return _status(resource, -2, MSG_QUEUED, scan_id=resource)
        meta = analysis.meta or {}
        if kind == "file":
            info = meta.get("file_info") or {}
            sha256 = str(info.get("sha256", ""))
            if not sha256:
                return _status(resource, 0, MSG_INVALID)  # a URL analysis asked as a file
            return self._file_answer(resource, sha256, info, attrs.date, attrs.results, scan_id=resource)
        info = meta.get("url_info") or {}
        if not info.get("url") and not info.get("id"):
            return _status(resource, 0, MSG_INVALID)  # a file analysis asked as a URL
        url = str(info.get("url") or "")
        return self._url_answer(resource, url, str(info.get("id", "")), attrs.date, attrs.results, resource)

    async def file_scan(self, path: FileInput) -> V2Report:
        """v2 ``POST /file/scan``: upload a file (public: every VirusTotal user can see it).

        Above 32 MB the client asks for an upload URL by itself (v2's ``file/scan/upload_url``).
        The answer's ``scan_id`` is the v3 analysis id; hand it to :meth:`file_report`. Its
        fields are those of the v2 file/scan page's example.
        """
        from ._scanning import UploadSource

        source = UploadSource.of(path)  # checks the file before any request
        sha256 = await asyncio.to_thread(source.sha256)
        analysis = await self._vt.files.upload(source)
        self._submitted[sha256] = analysis.id
        return {
            "response_code": 1,
            "verbose_msg": MSG_QUEUED_SCAN,
            "resource": sha256,
            "scan_id": analysis.id,
            "permalink": f"{_SITE}/file/{sha256}/analysis/{_epoch(datetime.now(timezone.utc))}/",
            "sha256": sha256,
        }

    async def file_rescan(self, resource: str) -> V2Report:
        """v2 ``POST /file/rescan`` (v2 private API; v3 ``POST /files/{id}/analyse``).

        An MD5 or SHA-1 costs one lookup first, for the SHA-256 v2 answered with; an unknown
        file is found out before anything is queued.
        """
        try:
            ident = parse_file_hash(resource)
        except InvalidIndicatorError:
            return _status(resource, 0, MSG_INVALID)
        try:
            sha256 = ident if len(ident) == 64 else (await self._vt.files.get(ident)).id
            analysis = await self._vt.files.analyse(sha256)
        except NotFoundError:
            return _status(resource, 0, MSG_NOT_FOUND)
        return {
            "response_code": 1,
            "verbose_msg": MSG_QUEUED_SCAN,  # UNCONFIRMED: the v2 page's example has no verbose_msg
            "resource": resource,
            "scan_id": analysis.id,
            "permalink": f"{_SITE}/file/{sha256}/analysis/{_epoch(datetime.now(timezone.utc))}/",
            "sha256": sha256,
        }

    # ------------------------------------------------------------------------------- URLs
    async def url_report(self, resource: str, *, scan: bool = False) -> V2Report:
        """v2 ``GET /url/report``: by URL or ``scan_id``; ``scan=True`` submits an unknown URL."""
        scan_id = _V2_SCAN_ID.fullmatch(resource)
        # v2 took a URL or a scan_id; a URL's SHA-256 (the v3 id) is taken too.
        is_url = "://" in resource or "/" in resource or "." in resource
        if not is_url and not scan_id and not re.fullmatch(r"[0-9a-fA-F]{64}", resource):
            return await self._analysis_report(resource, "url")
        target = scan_id.group(1) if scan_id else resource
        try:
            obj = await self._vt.urls.get(target)
        except InvalidIndicatorError:
            return _status(resource, 0, MSG_INVALID)
        except NotFoundError:
            if scan and not scan_id:
                submitted = await self.url_scan(resource)
                # v2: "the result will contain a scan_id field" (url/report page); code UNCONFIRMED.
                return _status(resource, 0, MSG_QUEUED_SCAN, scan_id=submitted["scan_id"])
            key = target.lower() if len(target) == 64 and "." not in target else _url_key(target)
            return await self._not_found(resource, key)
        except NotAvailableYet:
            return _status(resource, -2, MSG_QUEUED)
        attrs = obj.attributes
        if attrs.last_analysis_date is None and not attrs.last_analysis_results:
            return _status(resource, -2, MSG_QUEUED)
        return self._url_answer(
            resource, attrs.url or resource, obj.id, attrs.last_analysis_date, attrs.last_analysis_results
        )

    def _url_answer(
        self,
        resource: str,
        url: str,
        url_id: str,
        date: datetime | None,
        results: Mapping[str, EngineResult],
        scan_id: str | None = None,
    ) -> V2Report:
        sha = url_id if re.fullmatch(r"[0-9a-f]{64}", url_id) else hashlib.sha256(url.encode()).hexdigest()
        return {
            "response_code": 1,
            "verbose_msg": MSG_FOUND,
            "resource": resource,
            "scan_id": scan_id or f"{sha}-{_epoch(date)}",
            "permalink": f"{_SITE}/url/{sha}/analysis/{_epoch(date)}/",
            "url": url,
            "scan_date": _v2_date(date),
            "filescan_id": None,
            **_verdict_fields(results, with_versions=False),
        }

    async def url_scan(self, url: str) -> V2Report:
        """v2 ``POST /url/scan``, with the fields of the v2 url/scan page's example.

        The ``scan_id`` is the v3 analysis id; hand it to :meth:`url_report`.
        """
        analysis = await self._vt.urls.scan(url)
        target = normalize_url(url)
        sha = hashlib.sha256(target.encode()).hexdigest()
        self._submitted[_url_key(url)] = analysis.id
        now = datetime.now(timezone.utc)
        return {
            "response_code": 1,
            "verbose_msg": MSG_QUEUED_SCAN,
            "url": target,
            "scan_id": analysis.id,
            "scan_date": _v2_date(now),
            "permalink": f"{_SITE}/url/{sha}/analysis/{_epoch(now)}/",
        }

    # ---------------------------------------------------------------------- domains, IPs
    async def _related(self, collection: str, ident: str, name: str) -> list[VTObject[Any]]:
        paginator = self._vt.relationships.list_objects(
            collection, ident, name, page_size=self._related_limit, limit=self._related_limit
        )
        return [item async for item in paginator]

    def _url_rows(self, urls: list[VTObject[Any]]) -> tuple[list[dict[str, Any]], list[list[Any]]]:
        detected: list[dict[str, Any]] = []
        undetected: list[list[Any]] = []
        for item in urls:
            attrs = item.model_dump().get("attributes", {})
            stats = attrs.get("last_analysis_stats") or {}
            positives = int(stats.get("malicious", 0)) + int(stats.get("suspicious", 0))
            total = sum(int(stats.get(k, 0)) for k in _ANSWERED)
            date = _v2_date(_as_datetime(attrs.get("last_analysis_date")))
            if positives:
                detected.append(
                    {"url": attrs.get("url"), "positives": positives, "total": total, "scan_date": date}
                )
            else:
                undetected.append([attrs.get("url"), item.id, positives, total, date])
        return detected, undetected

    @staticmethod
    def _sample_rows(files: list[VTObject[Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        detected: list[dict[str, Any]] = []
        undetected: list[dict[str, Any]] = []
        for item in files:
            attrs = item.model_dump().get("attributes", {})
            stats = attrs.get("last_analysis_stats") or {}
            positives = int(stats.get("malicious", 0)) + int(stats.get("suspicious", 0))
            row = {
                "date": _v2_date(_as_datetime(attrs.get("last_analysis_date"))),
                "positives": positives,
                "total": sum(int(stats.get(k, 0)) for k in _ANSWERED),
                "sha256": item.id,
            }
            (detected if positives else undetected).append(row)
        return detected, undetected

    async def domain_report(self, domain: str, *, lists: bool = True) -> V2Report:
        """v2 ``GET /domain/report``: the domain, its resolutions, URLs, samples and subdomains.

        ``lists=False`` saves the seven relationship requests and leaves the lists out.
        """
        try:
            ident = parse_domain(domain)
        except InvalidIndicatorError:
            return {"response_code": 0, "verbose_msg": MSG_INVALID}
        try:
            obj = await self._vt.domains.get(ident)
        except NotFoundError:
            return {"response_code": 0, "verbose_msg": MSG_DOMAIN_NOT_FOUND}
        except NotAvailableYet:
            return {"response_code": -2, "verbose_msg": MSG_QUEUED}
        answer: V2Report = {
            "response_code": 1,
            "verbose_msg": MSG_DOMAIN_FOUND,
            "categories": sorted(set(obj.attributes.categories.values())),
        }
        if lists:
            answer.update(await self._network_lists("domains", ident, "ip_address"))
            answer["subdomains"] = [s.id for s in await self._related("domains", ident, "subdomains")]
            answer["domain_siblings"] = [s.id for s in await self._related("domains", ident, "siblings")]
        return answer

    async def ip_report(self, ip: str, *, lists: bool = True) -> V2Report:
        """v2 ``GET /ip-address/report``: owner, country, resolutions, URLs and samples.

        ``lists=False`` saves the five relationship requests and leaves the lists out.
        """
        try:
            ident = parse_ip(ip)
        except InvalidIndicatorError:
            return {"response_code": 0, "verbose_msg": MSG_INVALID}
        try:
            obj = await self._vt.ip_addresses.get(ident)
        except NotFoundError:
            return {"response_code": 0, "verbose_msg": MSG_IP_NOT_FOUND}
        except NotAvailableYet:
            return {"response_code": -2, "verbose_msg": MSG_QUEUED}
        attrs = obj.attributes
        answer: V2Report = {
            "response_code": 1,
            "verbose_msg": MSG_IP_FOUND,
            "asn": attrs.asn,
            "as_owner": attrs.as_owner,
            "country": attrs.country,
        }
        if lists:
            answer.update(await self._network_lists("ip_addresses", ident, "host_name"))
        return answer

    async def _network_lists(self, collection: str, ident: str, other: str) -> dict[str, Any]:
        """v2's embedded lists of a domain or IP, one relationship page each."""
        resolutions = await self._related(collection, ident, "resolutions")
        urls = await self._related(collection, ident, "urls")
        downloaded = await self._related(collection, ident, "downloaded_files")
        communicating = await self._related(collection, ident, "communicating_files")
        referrer = await self._related(collection, ident, "referrer_files")
        detected_urls, undetected_urls = self._url_rows(urls)
        det_down, undet_down = self._sample_rows(downloaded)
        det_comm, undet_comm = self._sample_rows(communicating)
        det_ref, undet_ref = self._sample_rows(referrer)
        rows = []
        for res in resolutions:
            attrs = res.model_dump().get("attributes", {})
            # v3 resolution: ip_address and host_name; v2 named the other end ip_address/hostname.
            value = attrs.get("ip_address") if other == "ip_address" else attrs.get("host_name")
            rows.append(
                {
                    "last_resolved": _v2_date(_as_datetime(attrs.get("date"))),
                    ("ip_address" if other == "ip_address" else "hostname"): value,
                }
            )
        return {
            "resolutions": rows,
            "detected_urls": detected_urls,
            "undetected_urls": undetected_urls,
            "detected_downloaded_samples": det_down,
            "undetected_downloaded_samples": undet_down,
            "detected_communicating_samples": det_comm,
            "undetected_communicating_samples": undet_comm,
            "detected_referrer_samples": det_ref,
            "undetected_referrer_samples": undet_ref,
        }


def _url_key(url: str) -> str:
    """The key a URL is remembered under between ``url_scan`` and ``url_report``."""
    try:
        return hashlib.sha256(normalize_url(url).encode()).hexdigest()
    except InvalidIndicatorError:
        return url


def _as_datetime(value: Any) -> datetime | None:
    """A v3 date from a generic object's attributes (epoch seconds or already a datetime)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return None
