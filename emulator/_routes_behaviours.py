"""Sandbox behaviour: summaries, MITRE ATT&CK trees, per-sandbox reports and their downloads.

``GET /files/{id}/behaviour_summary``, ``/files/{id}/behaviour_mitre_trees``,
``/files/{id}/behaviours`` (a list of ``file_behaviour`` objects), ``GET /file_behaviours/{id}``
and ``/file_behaviours/{id}/{html|evtx|pcap|memdump}``, and the private equivalents under
``/private/files/{sha256}/...`` and ``/private/file_behaviours/{id}`` (type
``private_file_behaviour``, UNCONFIRMED). A report download that the report does not have
(``has_pcap`` false, ...) is 404 ``NotFoundError``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._behaviour import REPORT_KINDS, BehaviourSource, behaviours, mitre_trees, report_bytes, summary
from ._errors import ApiError
from ._faults import API_PREFIX
from ._pagination import paginate
from ._render import api_base, emulator_of
from ._routes_objects import lookup
from ._routes_scanning import _private_file_of

__all__ = ["routes"]

_MEDIA = {
    "html": "text/html; charset=utf-8",
    "evtx": "application/octet-stream",
    "pcap": "application/vnd.tcpdump.pcap",
    "memdump": "application/octet-stream",
}


def _public_source(request: Request) -> BehaviourSource:
    world = emulator_of(request).world
    return BehaviourSource.of(world, lookup(world, "file", request.path_params["id"]))


def _private_source(request: Request) -> BehaviourSource:
    item = _private_file_of(request)
    world = emulator_of(request).world
    known = world.get("file", item.id)
    if known is not None:
        # A private copy of a file the world knows behaves like it (same bytes, same contacts).
        return BehaviourSource.of(world, known)
    attrs = item.attributes
    return BehaviourSource(
        item.id,
        str(attrs.get("type_tag", "")),
        item.nature,
        str(attrs.get("meaningful_name") or item.id[:12]),
    )


def _source(request: Request, private: bool) -> BehaviourSource:
    return _private_source(request) if private else _public_source(request)


def _render(request: Request, private: bool, behaviour_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
    prefix = "/private" if private else ""
    return {
        "type": "private_file_behaviour" if private else "file_behaviour",
        "id": behaviour_id,
        "links": {"self": f"{api_base(request)}{prefix}/file_behaviours/{behaviour_id}"},
        "attributes": attrs,
    }


def _summary(private: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        seed = emulator_of(request).world.seed
        return JSONResponse({"data": summary(seed, _source(request, private))})

    return endpoint


async def get_mitre_trees(request: Request) -> Response:
    """``GET /files/{id}/behaviour_mitre_trees``."""
    seed = emulator_of(request).world.seed
    return JSONResponse({"data": mitre_trees(seed, _public_source(request))})


def _list(private: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        seed = emulator_of(request).world.seed
        source = _source(request, private)
        reports = behaviours(seed, source)
        body = paginate(
            request,
            reports,
            lambda pair: _render(request, private, pair[0], pair[1]),
            scope=f"behaviours:{private}:{source.sha256}",
        )
        return JSONResponse(body)

    return endpoint


def _find(request: Request, private: bool) -> tuple[str, dict[str, Any]]:
    """The report behind ``/file_behaviours/{id}``: ``<sha256>_<sandbox name>``."""
    raw = request.path_params["id"]
    sha256, sep, _ = raw.partition("_")
    emulator = emulator_of(request)
    world = emulator.world
    source: BehaviourSource | None = None
    if sep and len(sha256) == 64:
        if private:
            request.path_params["sha256"] = sha256
            try:
                source = _private_source(request)
            except ApiError as exc:
                if exc.code != "NotFoundError":
                    raise
                source = None
        else:
            obj = world.get("file", sha256)
            source = None if obj is None else BehaviourSource.of(world, obj)
    for behaviour_id, attrs in behaviours(world.seed, source) if source else ():
        if behaviour_id == raw:
            return behaviour_id, attrs
    raise ApiError("NotFoundError", f'File behaviour "{raw}" not found')


def _get(private: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        behaviour_id, attrs = _find(request, private)
        return JSONResponse({"data": _render(request, private, behaviour_id, attrs)})

    return endpoint


def _download(private: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in REPORT_KINDS:
            raise ApiError("NotFoundError", f'Relationship "{kind}" not found for file_behaviour objects')
        behaviour_id, attrs = _find(request, private)
        if not attrs.get(REPORT_KINDS[kind]):
            raise ApiError("NotFoundError", f'No {kind} for file behaviour "{behaviour_id}"')
        return Response(report_bytes(behaviour_id, kind), media_type=_MEDIA[kind])

    return endpoint


def routes() -> list[BaseRoute]:
    """The routes of this area (served before the generic relationship routes)."""
    p = API_PREFIX
    return [
        Route(f"{p}/files/{{id}}/behaviour_summary", _summary(False), methods=["GET"]),
        Route(f"{p}/files/{{id}}/behaviour_mitre_trees", get_mitre_trees, methods=["GET"]),
        Route(f"{p}/files/{{id}}/behaviours", _list(False), methods=["GET"]),
        Route(f"{p}/file_behaviours/{{id}}", _get(False), methods=["GET"]),
        Route(f"{p}/file_behaviours/{{id}}/{{kind}}", _download(False), methods=["GET"]),
        Route(f"{p}/private/files/{{sha256}}/behaviour_summary", _summary(True), methods=["GET"]),
        Route(f"{p}/private/files/{{sha256}}/behaviours", _list(True), methods=["GET"]),
        Route(f"{p}/private/file_behaviours/{{id}}", _get(True), methods=["GET"]),
        Route(f"{p}/private/file_behaviours/{{id}}/{{kind}}", _download(True), methods=["GET"]),
    ]
