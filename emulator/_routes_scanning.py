"""Scanning: public and private submissions, upload URLs, private objects and analyses.

Public: ``GET /files/upload_url``, ``POST /files``, ``POST /files/{id}/analyse``, ``POST /urls``,
``POST /urls/{id}/analyse`` (analyses are then read through ``/analyses/{id}``).
Private: ``GET /private/files/upload_url``, ``POST /private/files``, ``GET /private/files``,
``GET|DELETE /private/files/{sha256}``, ``POST /private/files/{sha256}/analyse``,
``GET /private/analyses/{id}`` (+ ``/item``), ``POST /private/urls``, ``GET /private/urls/{id}``.

Guesses where the contract is silent: an upload URL is ``<host>/_upload/<token>`` (outside
``/api/v3``, like the real ``/_ah/upload/...``), single-use, valid for ``upload_url_ttl``
seconds; a used or expired one gets 400 ``BadRequestError``. A direct upload over 32 MB gets
413 with the error envelope (the real service answers 413), an upload URL takes up to 650 MB.
Private scanning needs a premium key (403 ``ForbiddenError`` otherwise). ``DELETE`` answers
``{}`` with 200. Retention expires private objects on the emulator's clock.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError, error_response
from ._faults import API_PREFIX
from ._pagination import paginate
from ._quota import KeyTier
from ._render import api_base, caller, emulator_of
from ._routes_objects import lookup
from ._scanning import (
    DIRECT_UPLOAD_LIMIT,
    MAX_UPLOAD_SIZE,
    FileSink,
    MultipartError,
    MultipartReader,
    PrivateAnalysis,
    PrivateItem,
    TooLarge,
)
from ._world import World, _sniff, canonical_url

__all__ = ["UPLOAD_PREFIX", "routes"]

UPLOAD_PREFIX = "/_upload"
_DAY = 86400
_BOOL_OPTIONS = ("disable_sandbox", "enable_internet", "intercept_tls")
#: Storage regions per private item kind, as the reference lists them.
_REGIONS = {"file": ("US", "EU"), "url": ("US", "CA", "EU", "GB")}
#: The options each private submission takes (besides its ``file`` or ``url``).
_SHARED_OPTIONS = ("retention_period_days", "storage_region", "interaction_sandbox", "interaction_timeout")
_FILE_OPTIONS = frozenset((*_BOOL_OPTIONS, "command_line", "password", "locale", *_SHARED_OPTIONS))
_URL_OPTIONS = frozenset(("user_agent", "sandboxes", *_SHARED_OPTIONS))
_LOCALES = ("EN_US", "AR_SA", "DE_DE", "ES_ES", "PT_BR")
_VERDICTS = {
    "malicious": ("VERDICT_MALICIOUS", "SEVERITY_HIGH"),
    "suspicious": ("VERDICT_SUSPICIOUS", "SEVERITY_MEDIUM"),
    "clean": ("VERDICT_UNDETECTED", "SEVERITY_NONE"),
    "undetected": ("VERDICT_UNDETECTED", "SEVERITY_NONE"),
}


def _analysis_descriptor(kind: str, analysis_id: str, base: str) -> JSONResponse:
    path = "private/analyses" if kind == "private_analysis" else "analyses"
    links = {"self": f"{base}/{path}/{analysis_id}"}
    return JSONResponse({"data": {"type": kind, "id": analysis_id, "links": links}})


def _need_private(request: Request) -> None:
    if caller(request).tier != KeyTier.PREMIUM:
        raise ApiError("ForbiddenError", "Private scanning requires a Private Scanning licence")


def _check_options(fields: dict[str, str], kind: str = "file") -> dict[str, str]:
    """Validate private scanning options of a ``file`` or ``url`` as the service would (400)."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name in ("file", "url"):
            continue
        if name not in (_FILE_OPTIONS if kind == "file" else _URL_OPTIONS):
            raise ApiError("InvalidArgumentError", f"unknown parameter {name} for a private {kind}")
        if name in _BOOL_OPTIONS:
            if value.lower() not in ("true", "false"):
                raise ApiError("InvalidArgumentError", f"{name} must be true or false")
        elif name in ("retention_period_days", "interaction_timeout"):
            low, high = (1, 28) if name == "retention_period_days" else (60, 1800)
            if not value.isdigit() or not low <= int(value) <= high:
                raise ApiError("InvalidArgumentError", f"{name} must be an integer in {low}..{high}")
        elif name in ("storage_region", "locale"):
            allowed = _REGIONS[kind] if name == "storage_region" else _LOCALES
            if value not in allowed:
                raise ApiError("InvalidArgumentError", f"{name} must be one of {', '.join(allowed)}")
        out[name] = value
    return out


async def _read_upload(request: Request, limit: int) -> tuple[MultipartReader, FileSink]:
    """Stream the multipart body into a hashing sink; 413 past ``limit``."""
    emulator = emulator_of(request)
    markers = emulator.scanning.markers(emulator.world)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + 64 * 1024:
        raise TooLarge(limit)
    try:
        reader = MultipartReader(request.headers.get("content-type", ""), lambda: FileSink(limit, markers))
        async for chunk in request.stream():
            reader.feed(chunk)
        reader.close()
    except MultipartError as exc:
        raise ApiError("BadRequestError", f"Malformed upload: {exc}") from None
    if reader.file is None:
        raise ApiError("BadRequestError", 'Missing "file" part')
    if reader.file.size == 0:
        raise ApiError("BadRequestError", "The file is empty")
    return reader, reader.file


def _too_large(exc: TooLarge) -> Response:
    return error_response("BadRequestError", f"Payload too large: more than {exc.limit} bytes", status=413)


async def _accept_file(request: Request, private: bool, limit: int, key: str | None = None) -> Response:
    """Read an upload and turn it into a public or private submission."""
    emulator = emulator_of(request)
    world, state, now = emulator.world, emulator.scanning, emulator.clock.time()
    try:
        reader, sink = await _read_upload(request, limit)
    except TooLarge as exc:
        return _too_large(exc)
    base = f"{str(request.base_url).rstrip('/')}{API_PREFIX}"
    if private:
        options = _check_options(reader.fields)
        state.uploads += 1
        item = _private_file(world, state, reader, sink, now, options)
        private_analysis = state.private_analysis(item, now, options)
        return _analysis_descriptor("private_analysis", private_analysis.id, base)
    sha256, sha1, md5 = sink.digests
    if world.get("file", sha256) is None:
        nature, family = state.judge(sink.found)
        names = [reader.filename] if reader.filename else []
        world.add_file(
            bytes(sink.head),
            nature=nature,
            family=family,
            names=names,
            date=int(now),
            digests=(sha256, sha1, md5),
            size=sink.size,
        )
    state.uploads += 1
    analysis = state.public_analysis(world, ("file", sha256), now)
    return _analysis_descriptor("analysis", analysis.id, base)


def _private_file(
    world: World, state: Any, reader: MultipartReader, sink: FileSink, now: float, options: dict[str, str]
) -> PrivateItem:
    sha256, sha1, md5 = sink.digests
    known = world.get("file", sha256)
    if known is not None:
        nature, family = known.nature, known.family
    else:
        nature, family = state.judge(sink.found)
    ftype = _sniff(bytes(sink.head))
    days = int(options.get("retention_period_days", "1"))
    existing = state.private_files.get(sha256)
    names = list(existing.attributes["names"]) if existing else []
    if reader.filename and reader.filename not in names:
        names.append(reader.filename)
    attrs = {
        "sha256": sha256,
        "sha1": sha1,
        "md5": md5,
        "size": sink.size,
        "type_description": ftype.description,
        "type_tag": ftype.tag,
        "type_extension": ftype.extension,
        "magic": ftype.magic,
        "names": names,
        "meaningful_name": names[0] if names else None,
        "first_submission_date": existing.created if existing else int(now),
        "last_submission_date": int(now),
        "tags": list(ftype.tags),
    }
    item = PrivateItem(
        "private_file", sha256, attrs, nature, family, int(now), int(now) + days * _DAY, last_analysis=""
    )
    state.private_files[sha256] = item
    return item


def _url_nature(world: World, url: str) -> tuple[str, str | None]:
    known = world.get("url", World.url_id(url))
    if known is not None:
        return known.nature, known.family
    host = canonical_url(url).split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    domain = world.get("domain", host)
    if domain is not None:
        return ("malicious" if domain.nature == "malicious" else domain.nature), domain.family
    if "eicar" in url.lower():
        return "malicious", None
    return "undetected", None


def _form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


# ------------------------------------------------------------------------------- public
async def get_upload_url(request: Request) -> Response:
    """``GET /files/upload_url`` and ``GET /private/files/upload_url``."""
    emulator = emulator_of(request)
    private = request.url.path.startswith(f"{API_PREFIX}/private/")
    if private:
        _need_private(request)
    ticket = emulator.scanning.ticket(private, emulator.clock.time(), caller(request).key)
    # Plain http even when asked over https, as in the reference's own example answer
    # (``http://www.virustotal.com/_ah/upload/...``): a client must upgrade it itself.
    root = request.base_url.replace(scheme="http")
    return JSONResponse({"data": f"{str(root).rstrip('/')}{UPLOAD_PREFIX}/{ticket.token}"})


async def post_upload(request: Request) -> Response:
    """``POST /_upload/{token}``: a one-time upload URL (up to 650 MB)."""
    emulator = emulator_of(request)
    state, now = emulator.scanning, emulator.clock.time()
    ticket = state.tickets.get(request.path_params["token"])
    if ticket is None or ticket.used or now >= ticket.expires:
        return error_response("BadRequestError", "The upload URL is unknown, used or expired")
    ticket.used = True  # single use, even if this upload then fails
    try:
        return await _accept_file(request, ticket.private, MAX_UPLOAD_SIZE)
    except ApiError as exc:
        return exc.response()


async def post_file(request: Request) -> Response:
    """``POST /files``: a direct upload, up to 32 MB."""
    return await _accept_file(request, False, DIRECT_UPLOAD_LIMIT)


async def analyse_file(request: Request) -> Response:
    """``POST /files/{id}/analyse``."""
    emulator = emulator_of(request)
    obj = lookup(emulator.world, "file", request.path_params["id"])
    analysis = emulator.scanning.public_analysis(emulator.world, ("file", obj.id), emulator.clock.time())
    return _analysis_descriptor("analysis", analysis.id, api_base(request))


async def post_url(request: Request) -> Response:
    """``POST /urls``: form field ``url``."""
    emulator = emulator_of(request)
    world = emulator.world
    url = _form(await request.body()).get("url", "").strip()
    if not url or " " in url:
        raise ApiError("InvalidArgumentError", "Missing or invalid url")
    nature, _ = _url_nature(world, url)
    uid = world.add_url(url, nature=nature, date=int(emulator.clock.time()))
    analysis = emulator.scanning.public_analysis(world, ("url", uid), emulator.clock.time())
    return _analysis_descriptor("analysis", analysis.id, api_base(request))


async def analyse_url(request: Request) -> Response:
    """``POST /urls/{id}/analyse``."""
    emulator = emulator_of(request)
    obj = lookup(emulator.world, "url", request.path_params["id"])
    analysis = emulator.scanning.public_analysis(emulator.world, ("url", obj.id), emulator.clock.time())
    return _analysis_descriptor("analysis", analysis.id, api_base(request))


# ------------------------------------------------------------------------------ private
async def post_private_file(request: Request) -> Response:
    """``POST /private/files``: a direct private upload, up to 32 MB, with sandbox options."""
    _need_private(request)
    return await _accept_file(request, True, DIRECT_UPLOAD_LIMIT)


def _private_attributes(emulator: Any, item: PrivateItem, now: float) -> dict[str, Any]:
    attrs = dict(item.attributes)
    attrs["expiration"] = item.expiration
    analysis: PrivateAnalysis | None = emulator.scanning.private_analyses.get(item.last_analysis)
    done = analysis is not None and analysis.status(now) == "completed"
    if item.kind == "private_file":
        if done and analysis is not None:
            verdict, severity = _VERDICTS[item.nature]
            attrs["last_analysis_date"] = int(analysis.completed_at)
            attrs["threat_verdict"] = verdict
            attrs["threat_severity"] = {
                "threat_severity_level": severity,
                "threat_severity_data": {"family": item.family} if item.family else {},
                "last_analysis_date": int(analysis.completed_at),
                "version": 2,
            }
            if analysis.options.get("disable_sandbox", "false") != "true":
                category = {"malicious": "malicious", "suspicious": "suspicious"}.get(item.nature, "harmless")
                verdict_of_sandbox: dict[str, Any] = {
                    "category": category,
                    "confidence": 80 if category != "harmless" else 50,
                    "sandbox_name": "Zenbox",
                    "malware_classification": ["TROJAN"] if category == "malicious" else ["CLEAN"],
                }
                if item.family and category != "harmless":
                    verdict_of_sandbox["malware_names"] = [item.family]
                attrs["sandbox_verdicts"] = {"Zenbox": verdict_of_sandbox}
        return attrs
    if done and analysis is not None:
        malicious = item.nature == "malicious"
        results = {
            name: {
                "category": "malicious" if malicious else "harmless",
                "engine_name": name,
                "method": "blacklist",
                "result": "malware" if malicious else "clean",
            }
            for name in ("Google Safebrowsing", "Forcepoint ThreatSeeker", "Sophos")
        }
        attrs["last_analysis_date"] = int(analysis.completed_at)
        attrs["last_analysis_results"] = results
        attrs["last_analysis_stats"] = {
            "harmless": 0 if malicious else 3,
            "malicious": 3 if malicious else 0,
            "suspicious": 0,
            "undetected": 0,
            "timeout": 0,
        }
    return attrs


def _render_private(request: Request, item: PrivateItem) -> dict[str, Any]:
    emulator = emulator_of(request)
    path = "private/files" if item.kind == "private_file" else "private/urls"
    return {
        "type": item.kind,
        "id": item.id,
        "links": {"self": f"{api_base(request)}/{path}/{item.id}"},
        "attributes": _private_attributes(emulator, item, emulator.clock.time()),
    }


def _private_file_of(request: Request) -> PrivateItem:
    _need_private(request)
    emulator = emulator_of(request)
    emulator.scanning.expire(emulator.clock.time())
    sha256 = request.path_params["sha256"].lower()
    item = emulator.scanning.private_files.get(sha256)
    if item is None:
        raise ApiError("NotFoundError", f'Private file "{sha256}" not found')
    return item


async def get_private_file(request: Request) -> Response:
    """``GET /private/files/{sha256}``."""
    return JSONResponse({"data": _render_private(request, _private_file_of(request))})


async def delete_private_file(request: Request) -> Response:
    """``DELETE /private/files/{sha256}`` (``?only_from_storage=true`` keeps the reports)."""
    item = _private_file_of(request)
    state = emulator_of(request).scanning
    if request.query_params.get("only_from_storage", "false").lower() == "true":
        item.stored = False
    else:
        del state.private_files[item.id]
        for analysis_id in [a.id for a in state.private_analyses.values() if a.item == (item.kind, item.id)]:
            del state.private_analyses[analysis_id]
    return JSONResponse({})


async def analyse_private_file(request: Request) -> Response:
    """``POST /private/files/{sha256}/analyse``: options as query parameters."""
    item = _private_file_of(request)
    emulator = emulator_of(request)
    options = _check_options(dict(request.query_params))
    analysis = emulator.scanning.private_analysis(item, emulator.clock.time(), options)
    return _analysis_descriptor("private_analysis", analysis.id, api_base(request))


async def list_private_files(request: Request) -> Response:
    """``GET /private/files``: ordered by SHA-256, up to 40 a page."""
    _need_private(request)
    emulator = emulator_of(request)
    emulator.scanning.expire(emulator.clock.time())
    items = sorted(emulator.scanning.private_files.values(), key=lambda i: i.id)
    return JSONResponse(
        paginate(request, items, lambda item: _render_private(request, item), scope="private_files")
    )


def _private_analysis_of(request: Request) -> PrivateAnalysis:
    _need_private(request)
    analysis = emulator_of(request).scanning.private_analyses.get(request.path_params["id"])
    if analysis is None:
        raise ApiError("NotFoundError", f'Private analysis "{request.path_params["id"]}" not found')
    return analysis


def _render_private_analysis(request: Request, analysis: PrivateAnalysis) -> dict[str, Any]:
    now = emulator_of(request).clock.time()
    status = analysis.status(now)
    span = max(1e-6, analysis.completed_at - analysis.queued_until)
    percent = 100 if status == "completed" else max(0, int(100 * (now - analysis.queued_until) / span))
    attributes: dict[str, Any] = {
        "date": analysis.date,
        "status": status,
        "pending_stages": {} if status == "completed" else {"sandbox": "Detonating the sample"},
        "sandbox_configuration": {
            k: analysis.options[k] for k in ("enable_internet", "command_line") if k in analysis.options
        },
        "sandbox_status": {"Zenbox": {"status": status, "in_progress_percent": percent}},
    }
    base = api_base(request)
    kind, item_id = analysis.item
    collection = "private/files" if kind == "private_file" else "private/urls"
    return {
        "type": "private_analysis",
        "id": analysis.id,
        "links": {"self": f"{base}/private/analyses/{analysis.id}", "item": f"{base}/{collection}/{item_id}"},
        "attributes": attributes,
    }


async def get_private_analysis(request: Request) -> Response:
    """``GET /private/analyses/{id}``."""
    analysis = _private_analysis_of(request)
    kind, item_id = analysis.item
    meta: dict[str, Any] = {"url_info": {"id": item_id}}
    if kind == "private_file":
        item = emulator_of(request).scanning.private_files.get(item_id)
        identity = {k: item.attributes[k] for k in ("size", "sha256", "sha1", "md5")} if item else {}
        meta = {"file_info": {"sha256": item_id, **identity}}
    return JSONResponse({"data": _render_private_analysis(request, analysis), "meta": meta})


async def list_private_file_analyses(request: Request) -> Response:
    """``GET /private/files/{sha256}/analyses``: the file's private analyses, newest first.

    The relationship is listed for private files in the reference (its exact shape mirrors the
    public ``analyses`` relationship: UNCONFIRMED).
    """
    item = _private_file_of(request)
    state = emulator_of(request).scanning
    found = [a for a in state.private_analyses.values() if a.item == (item.kind, item.id)]
    found.sort(key=lambda a: a.date, reverse=True)
    return JSONResponse(
        paginate(
            request,
            found,
            lambda a: _render_private_analysis(request, a),
            scope=f"private_file_analyses:{item.id}",
        )
    )


async def get_private_analysis_item(request: Request) -> Response:
    """``GET /private/analyses/{id}/item``."""
    analysis = _private_analysis_of(request)
    state = emulator_of(request).scanning
    kind, item_id = analysis.item
    item = (state.private_files if kind == "private_file" else state.private_urls).get(item_id)
    if item is None:
        raise ApiError("NotFoundError", f'Private item "{item_id}" not found')
    return JSONResponse({"data": _render_private(request, item)})


async def post_private_url(request: Request) -> Response:
    """``POST /private/urls``: form field ``url`` and optional options."""
    _need_private(request)
    emulator = emulator_of(request)
    now = emulator.clock.time()
    fields = _form(await request.body())
    url = fields.get("url", "").strip()
    if not url or " " in url:
        raise ApiError("InvalidArgumentError", "Missing or invalid url")
    options = _check_options(fields, "url")
    url = canonical_url(url)
    uid = World.url_id(url)
    nature, family = _url_nature(emulator.world, url)
    days = int(options.get("retention_period_days", "1"))
    host = url.split("://", 1)[1].split("/", 1)[0]
    attrs = {
        "url": url,
        "last_final_url": url,
        "tld": host.rsplit(".", 1)[-1],
        "first_submission_date": int(now),
    }
    item = PrivateItem("private_url", uid, attrs, nature, family, int(now), int(now) + days * _DAY, "")
    emulator.scanning.private_urls[uid] = item
    analysis = emulator.scanning.private_analysis(item, now, options)
    return _analysis_descriptor("private_analysis", analysis.id, api_base(request))


async def get_private_url(request: Request) -> Response:
    """``GET /private/urls/{id}``: SHA-256 or unpadded URL-safe base64."""
    _need_private(request)
    emulator = emulator_of(request)
    emulator.scanning.expire(emulator.clock.time())
    raw = request.path_params["id"]
    uid = raw.lower() if len(raw) == 64 else None
    if uid is None:
        from ._world import _b64url_decode

        decoded = _b64url_decode(raw)
        uid = World.url_id(decoded) if decoded else None
    item = emulator.scanning.private_urls.get(uid or "")
    if item is None:
        raise ApiError("NotFoundError", f'Private URL "{raw}" not found')
    return JSONResponse({"data": _render_private(request, item)})


def routes() -> list[BaseRoute]:
    """The routes of this area (registered before the object routes: ``upload_url`` is no id)."""
    p = API_PREFIX
    return [
        Route(f"{p}/files/upload_url", get_upload_url, methods=["GET"]),
        Route(f"{p}/private/files/upload_url", get_upload_url, methods=["GET"]),
        Route(f"{UPLOAD_PREFIX}/{{token}}", post_upload, methods=["POST"]),
        Route(f"{p}/files", post_file, methods=["POST"]),
        Route(f"{p}/files/{{id}}/analyse", analyse_file, methods=["POST"]),
        Route(f"{p}/urls", post_url, methods=["POST"]),
        Route(f"{p}/urls/{{id}}/analyse", analyse_url, methods=["POST"]),
        Route(f"{p}/private/files", post_private_file, methods=["POST"]),
        Route(f"{p}/private/files", list_private_files, methods=["GET"]),
        Route(f"{p}/private/files/{{sha256}}", get_private_file, methods=["GET"]),
        Route(f"{p}/private/files/{{sha256}}", delete_private_file, methods=["DELETE"]),
        Route(f"{p}/private/files/{{sha256}}/analyse", analyse_private_file, methods=["POST"]),
        Route(f"{p}/private/files/{{sha256}}/analyses", list_private_file_analyses, methods=["GET"]),
        Route(f"{p}/private/analyses/{{id}}", get_private_analysis, methods=["GET"]),
        Route(f"{p}/private/analyses/{{id}}/item", get_private_analysis_item, methods=["GET"]),
        Route(f"{p}/private/urls", post_private_url, methods=["POST"]),
        Route(f"{p}/private/urls/{{id}}", get_private_url, methods=["GET"]),
    ]
