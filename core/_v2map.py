"""The VirusTotal API v2 endpoints and fields, each with its v3 equivalent and this pack's task.

Data, not logic: :data:`V2_ENDPOINTS` lists every public and private v2 endpoint with the v3 call
that replaces it (method, path, parameters), the pack's task or flow that makes that call, and
what changes in meaning. :data:`V2_FIELDS` does the same for the v2 answer fields that legacy
code reads. The migration scanner (``_migrate``) and the README draw on these tables.

Checked against VirusTotal's reference (docs.virustotal.com: the v2.0 pages, the v3 pages and
the "API v2 to v3 Migration Guide"): ``checked`` says the v2 side was read there, ``v3_checked``
the v3 side; what could not be read is marked ``UNCONFIRMED`` in the row's note.

What changes on every row: the prefix ``/vtapi/v2/`` becomes ``/api/v3/`` (migration guide);
the key moves from the ``apikey`` query or form parameter to the ``x-apikey`` header (v3
authentication page); the resource moves from a ``resource``/``domain``/``ip`` parameter into
the path; "not found" and "queued" move from ``response_code`` in a 200 answer (v2 "API
responses" page) to HTTP statuses with a v3 error code (v3 errors page).
v2's "API responses" page: a spent quota was HTTP 204 (no body), a missing privilege 403; v3
answers 429 ``QuotaExceededError`` and 403 ``ForbiddenError`` with a JSON error body.
"""

from __future__ import annotations

from dataclasses import dataclass

V2_PREFIX = "/vtapi/v2/"
V3_PREFIX = "/api/v3/"
V2_QUOTA_STATUS = 204
"""The HTTP status v2 answered when a quota was spent (v3: 429 ``QuotaExceededError``)."""


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
        checked: the v2 side was checked against VirusTotal's v2 reference.
        v3_checked: the v3 side was checked against VirusTotal's v3 reference.
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
    v3_checked: bool = False

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
        v3_checked=True,
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
        v3_checked=True,
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
        v3_checked=True,
    ),
    V2Endpoint(
        "POST",
        "file/rescan",
        "POST",
        "/files/{id}/analyse",
        "resource goes into the path; v2's date/period/repeat/notify_url scheduling has no v3 parameter",
        "tasks.analyse_file",
        "v2 private API; v3 reanalysis is open to every key (quota applies). v2 answered "
        "response_code 0 for an unknown file; v3 answers 404 NotFoundError",
        private=True,
        checked=True,
        v3_checked=True,
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
        "premium in both; v3 also offers GET /files/{id}/download_url (a signed URL valid for an "
        "hour, one download of quota); the pack does not download samples (UNCONFIRMED: v2 page "
        "not checked)",
        private=True,
        v3_checked=True,
    ),
    V2Endpoint(
        "GET",
        "file/behaviour",
        "GET",
        "/files/{id}/behaviours",
        "hash goes into the path; one file_behaviour object per sandbox",
        "tasks.get_related_objects(relationship='behaviours')",
        "v2 gave raw sandbox data (its file/report page says so); v3 gives a list of per-sandbox "
        "reports and a summary (GET /files/{id}/behaviour_summary)",
        private=True,
        checked=True,
        v3_checked=True,
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
        v3_checked=True,
    ),
    V2Endpoint(
        "GET",
        "file/feed",
        "GET",
        "/feeds/files/{time}",
        "package=YYYYMMDDhhmm becomes the path's {time}",
        None,
        "v3: a 302 to a bzip2 file of one JSON file object per line, batches kept 7 days, the "
        "newest an hour old (UNCONFIRMED: v2 page not checked)",
        private=True,
        v3_checked=True,
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
        v3_checked=True,
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
        v3_checked=True,
    ),
    V2Endpoint(
        "POST",
        "url/scan",
        "POST",
        "/urls",
        "form field 'url' unchanged",
        "tasks.scan_url (flows.submit_and_wait to wait for the verdict)",
        "v2 answered scan_id ('<sha256>-<epoch>'), scan_date, url and permalink; v3 answers an "
        "analysis descriptor whose id is followed with GET /analyses/{id}",
        checked=True,
        v3_checked=True,
    ),
    V2Endpoint(
        "GET",
        "url/feed",
        "GET",
        "/feeds/urls/{time}",
        "package=YYYYMMDDhhmm becomes the path's {time}",
        None,
        "v3: as /feeds/files, URL objects (UNCONFIRMED: v2 page not checked)",
        private=True,
        v3_checked=True,
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
        "(v2's public API page lists the endpoint; UNCONFIRMED: its answer fields)",
        v3_checked=True,
    ),
    V2Endpoint(
        "GET",
        "ip-address/report",
        "GET",
        "/ip_addresses/{ip}",
        "ip= goes into the path; resolutions, detected_urls and samples become relationships",
        "tasks.get_ip_report (tasks.get_related_objects for the lists; flows.expand_iocs)",
        "as domain/report; v3 also takes IPv6 (v2's public API page lists the endpoint; "
        "UNCONFIRMED: its answer fields)",
        v3_checked=True,
    ),
    V2Endpoint(
        "GET",
        "comments/get",
        "GET",
        "/{collection}/{id}/comments",
        "resource (a file hash or a URL, as v2 took) picks files or urls and goes into the path; "
        "before= (a date token) becomes cursor",
        "tasks.get_related_objects(relationship='comments')",
        "v2 answered at most 25 comments with a date token each; v3 pages comment objects "
        "(ids prefixed f-, u-, d-, i-), and domains and IPs have comments too",
        checked=True,
        v3_checked=True,
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
