"""The VirusTotal API v2 endpoints and fields, each with its v3 equivalent and this pack's task.

Data, not logic: :data:`V2_ENDPOINTS` lists every public and private v2 endpoint with the v3 call
that replaces it (method, path, parameters), the pack's task or flow that makes that call, and
what changes in meaning. :data:`V2_FIELDS` does the same for the v2 answer fields that legacy
code reads. The migration scanner (``_migrate``) and the README draw on these tables.

Checked against VirusTotal's reference (docs.virustotal.com, the v2.0 pages and the "API v2 to v3
Migration Guide") where a row says ``checked``; the other rows come from the v3 reference of the
v3 side only and are marked ``UNCONFIRMED`` in their note: their v2 page was not found.

What the migration guide says for every row: the prefix ``/vtapi/v2/`` becomes ``/api/v3/``,
the key moves from the ``apikey`` query or form parameter to the ``x-apikey`` header, the
resource moves from a ``resource``/``domain``/``ip`` parameter into the path, and "not found" /
"queued" move from ``response_code`` in a 200 answer to HTTP statuses with a v3 error code.
"""

from __future__ import annotations

from dataclasses import dataclass

V2_PREFIX = "/vtapi/v2/"
V3_PREFIX = "/api/v3/"


@dataclass(frozen=True)
class V2Endpoint:
    """One v2 endpoint and what replaces it.

    Attributes:
        method: the v2 HTTP method.
        path: the v2 path after ``/vtapi/v2/`` (``file/report``).
        v3_method: the v3 method, or None when v3 has no equivalent.
        v3_path: the v3 path after ``/api/v3`` (``/files/{id}``), or None.
        v3_params: where v2's parameters go in v3.
        pack: the task or flow of this pack that makes the v3 call, or None.
        note: what differs in meaning.
        private: a private-API (premium) endpoint in v2.
        checked: the v2 side was checked against VirusTotal's v2 reference page.
    """

    method: str
    path: str
    v3_method: str | None
    v3_path: str | None
    v3_params: str
    pack: str | None
    note: str
    private: bool = False
    checked: bool = False

    @property
    def v2_call(self) -> str:
        """``GET /vtapi/v2/file/report``."""
        return f"{self.method} {V2_PREFIX}{self.path}"

    @property
    def v3_call(self) -> str:
        """``GET /api/v3/files/{id}``, or a sentence saying there is none."""
        if self.v3_method is None or self.v3_path is None:
            return "no v3 equivalent"
        return f"{self.v3_method} /api/v3{self.v3_path}"


_NOT_FOUND_NOTE = (
    "v2 answered 200 with response_code 0 (not in the dataset) or -2 (queued); v3 answers 404 "
    "NotFoundError for an unknown resource"
)

V2_ENDPOINTS: tuple[V2Endpoint, ...] = (
    V2Endpoint(
        "GET",
        "file/report",
        "GET",
        "/files/{id}",
        "resource (MD5/SHA-1/SHA-256) goes into the path; a scan_id becomes GET /analyses/{id}; "
        "allinfo is gone (v3 returns every attribute)",
        "tasks.get_file_report (flows.enrich_iocs for batches)",
        f"{_NOT_FOUND_NOTE}. positives/total/scans become last_analysis_stats and "
        "last_analysis_results; v2 took up to 4 comma-separated resources per call, v3 one per call",
        checked=True,
    ),
    V2Endpoint(
        "POST",
        "file/scan",
        "POST",
        "/files",
        "multipart field 'file' unchanged; the key moves to the x-apikey header",
        "tasks.scan_file (flows.submit_and_wait to wait for the verdict)",
        "v2 answered a scan_id and permalink; v3 answers an analysis descriptor whose id is "
        "followed with GET /analyses/{id}. Up to 32 MB directly, larger files through an upload URL",
        checked=True,
    ),
    V2Endpoint(
        "GET",
        "file/scan/upload_url",
        "GET",
        "/files/upload_url",
        "none",
        "tasks.scan_file (asks for an upload URL by itself above 32 MB)",
        "v2 answered {'upload_url': ...}; v3 answers {'data': '<url>'}; UNCONFIRMED: v2 answer shape",
        checked=True,
    ),
    V2Endpoint(
        "POST",
        "file/rescan",
        "POST",
        "/files/{id}/analyse",
        "resource goes into the path; v2's date/period/repeat/notify_url scheduling has no v3 parameter",
        "tasks.rescan_file",
        "v2 private API; v3 reanalysis is open to every key (quota applies). v2 answered "
        "response_code 0 for an unknown file; v3 answers 404 NotFoundError",
        private=True,
        checked=True,
    ),
    V2Endpoint(
        "POST",
        "file/rescan/delete",
        None,
        None,
        "none",
        None,
        "deleted the scheduled rescans of v2's file/rescan; v3 schedules no rescans, so nothing "
        "to delete (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/download",
        "GET",
        "/files/{id}/download",
        "hash goes into the path",
        None,
        "premium in both; the pack does not download samples (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/behaviour",
        "GET",
        "/files/{id}/behaviours",
        "hash goes into the path; one file_behaviour object per sandbox",
        "tasks.get_related_objects(relationship='behaviours')",
        "v2 gave one raw sandbox report; v3 gives a list of per-sandbox reports and a summary "
        "(GET /files/{id}/behaviour_summary) (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/network-traffic",
        "GET",
        "/file_behaviours/{sandbox_id}/pcap",
        "the sandbox report id (from /files/{id}/behaviours) replaces the hash",
        None,
        "one pcap per sandbox report instead of one per file (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/feed",
        "GET",
        "/feeds/files/{time}",
        "package=YYYYMMDDhhmm becomes the path's {time}",
        None,
        "premium feed of per-minute batches in both (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/search",
        "GET",
        "/intelligence/search",
        "query= unchanged; offset becomes cursor; limit added",
        None,
        "VT Intelligence search; v3 answers objects, not a list of hashes (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "file/clusters",
        None,
        None,
        "none",
        None,
        "v2's daily similarity clusters have no v3 endpoint; the nearest is "
        "tasks.get_related_objects(relationship='similar_files') per file (UNCONFIRMED)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "url/report",
        "GET",
        "/urls/{id}",
        "the URL becomes its id (unpadded url-safe base64 of the URL) in the path; a scan_id "
        "becomes GET /analyses/{id}; scan=1 becomes a separate POST /urls",
        "tasks.get_url_report (flows.enrich_iocs for batches)",
        f"{_NOT_FOUND_NOTE}. v2 took up to 4 URLs per call (newline-separated), v3 one",
        checked=True,
    ),
    V2Endpoint(
        "POST",
        "url/scan",
        "POST",
        "/urls",
        "form field 'url' unchanged",
        "tasks.scan_url (flows.submit_and_wait to wait for the verdict)",
        "v3 answers an analysis descriptor, not a scan_id/permalink pair",
        checked=True,
    ),
    V2Endpoint(
        "GET",
        "url/feed",
        "GET",
        "/feeds/urls/{time}",
        "package=YYYYMMDDhhmm becomes the path's {time}",
        None,
        "premium feed in both (UNCONFIRMED: v2 page not checked)",
        private=True,
    ),
    V2Endpoint(
        "GET",
        "domain/report",
        "GET",
        "/domains/{domain}",
        "domain= goes into the path; resolutions, detected_urls, samples and subdomains become "
        "relationships (GET /domains/{domain}/{relationship})",
        "tasks.get_domain_report (tasks.get_related_objects for the lists; flows.expand_iocs)",
        "v2 embedded every list in one answer; v3 needs one request per relationship page "
        "(UNCONFIRMED: v2 answer fields)",
    ),
    V2Endpoint(
        "GET",
        "ip-address/report",
        "GET",
        "/ip_addresses/{ip}",
        "ip= goes into the path; resolutions, detected_urls and samples become relationships",
        "tasks.get_ip_report (tasks.get_related_objects for the lists; flows.expand_iocs)",
        "as domain/report; v3 also takes IPv6 (UNCONFIRMED: v2 answer fields)",
    ),
    V2Endpoint(
        "GET",
        "comments/get",
        "GET",
        "/{collection}/{id}/comments",
        "resource (hash or URL) picks the collection (files, urls, domains, ip_addresses) and "
        "goes into the path; before= becomes cursor",
        "tasks.get_related_objects(relationship='comments')",
        "v3 comments are objects with votes and tags (UNCONFIRMED: v2 page not checked)",
    ),
    V2Endpoint(
        "POST",
        "comments/put",
        "POST",
        "/{collection}/{id}/comments",
        "the comment goes in a JSON body {'data': {'type': 'comment', 'attributes': {'text': ...}}}",
        None,
        "the pack comments on collections only (tasks.add_collection_comment) "
        "(UNCONFIRMED: v2 page not checked)",
    ),
)
"""Every v2 endpoint, public then private, in the order of v2's reference."""


@dataclass(frozen=True)
class V2Field:
    """A field of v2's answers that v3 spells otherwise.

    Attributes:
        name: the v2 field.
        v3: where the value is in v3.
        note: what differs.
    """

    name: str
    v3: str
    note: str


V2_FIELDS: tuple[V2Field, ...] = (
    V2Field(
        "response_code",
        "the HTTP status and error.code",
        "1 = 200 with data; 0 (not in the dataset) = 404 NotFoundError; -2 (queued) = an "
        "analysis still queued or in-progress (GET /analyses/{id}), or 400 NotAvailableYet",
    ),
    V2Field("verbose_msg", "error.message", "only on errors in v3"),
    V2Field(
        "positives",
        "attributes.last_analysis_stats.malicious",
        "v2 counted engines with detected=true; v3 splits them into malicious and suspicious",
    ),
    V2Field("total", "the sum of attributes.last_analysis_stats", "v3 also counts timeouts"),
    V2Field(
        "scans",
        "attributes.last_analysis_results",
        "detected/result/version/update become category/result/engine_version/engine_update",
    ),
    V2Field("permalink", "https://www.virustotal.com/gui/<type>/<id>", "v3 has no permalink field"),
    V2Field(
        "scan_id",
        "the analysis id (data.id of a submission)",
        "v2's '<sha256>-<epoch>' names the latest analysis; v3 analysis ids are opaque",
    ),
    V2Field(
        "scan_date",
        "attributes.last_analysis_date",
        "v2: 'YYYY-MM-DD HH:MM:SS' UTC text; v3: UNIX seconds",
    ),
)
"""The v2-only answer fields a legacy script reads, and where v3 has them."""


def v2_endpoint(path: str) -> V2Endpoint | None:
    """The endpoint of a v2 path (``file/report``, ``/vtapi/v2/file/report?x=1``), longest match first."""
    tail = path.split("?", 1)[0].split("#", 1)[0]
    if V2_PREFIX.strip("/") in tail:
        tail = tail.split(V2_PREFIX.strip("/"), 1)[1]
    tail = tail.strip("/").lower()
    for endpoint in sorted(V2_ENDPOINTS, key=lambda e: len(e.path), reverse=True):
        if tail == endpoint.path or tail.startswith(endpoint.path + "/"):
            return endpoint
    return None


def v2_field(name: str) -> V2Field | None:
    """The v2 answer field called ``name``, if it is one v3 spells otherwise."""
    return next((field for field in V2_FIELDS if field.name == name), None)
