"""Analyses: ``GET /analyses/{id}``, ``/analyses/{id}/item`` and its descriptor route.

Every file and URL in the world has a completed analysis behind its ``last_analysis_*``
attributes (ids from ``World.analysis_id``); later scanning work registers more with
``World.add_analysis``. The top-level ``meta.file_info`` field list (sha256, sha1, md5, size) is
UNCONFIRMED; ``meta.url_info`` carries ``id`` and ``url``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._render import api_base, descriptor, emulator_of, object_link, render_ref
from ._world import Analysis, World

__all__ = ["routes"]


def _analysis(world: World, analysis_id: str) -> Analysis:
    analysis = world.get_analysis(analysis_id)
    if analysis is None:
        raise ApiError("NotFoundError", f'Analysis "{analysis_id}" not found')
    return analysis


def _meta(world: World, analysis: Analysis) -> dict[str, Any]:
    kind, object_id = analysis.item
    obj = world.get(kind, object_id)
    if obj is None:
        return {}
    if kind == "url":
        return {"url_info": {"id": obj.id, "url": obj.attributes["url"]}}
    if kind != "file":
        return {}  # domain and IP rescans: no item info (UNCONFIRMED what the service sends)
    attrs = obj.attributes
    return {"file_info": {k: attrs[k] for k in ("sha256", "sha1", "md5", "size")}}


async def get_analysis(request: Request) -> Response:
    """``GET /analyses/{id}``."""
    emulator = emulator_of(request)
    world = emulator.world
    base = api_base(request)
    analysis = _analysis(world, request.path_params["id"]).at(emulator.clock.time())
    emulator.scanning.settle(world, emulator.clock.time())
    data = {
        "type": "analysis",
        "id": analysis.id,
        "links": {
            "self": object_link(base, "analysis", analysis.id),
            "item": object_link(base, *analysis.item),
        },
        "attributes": {
            "date": analysis.date,
            "status": analysis.status,
            "stats": dict(analysis.stats),
            "results": analysis.results,
        },
    }
    return JSONResponse({"data": data, "meta": _meta(world, analysis)})


async def get_item(request: Request) -> Response:
    """``GET /analyses/{id}/item``: the analysed file or URL."""
    world = emulator_of(request).world
    analysis = _analysis(world, request.path_params["id"])
    kind, object_id = analysis.item
    if world.get(kind, object_id) is None:  # a single object is a 404, not a list's stub
        raise ApiError("NotFoundError", f'Object "{object_id}" not found')
    return JSONResponse({"data": render_ref(world, analysis.item, api_base(request))})


async def get_item_descriptor(request: Request) -> Response:
    """``GET /analyses/{id}/relationships/item``."""
    world = emulator_of(request).world
    analysis = _analysis(world, request.path_params["id"])
    related = f"{object_link(api_base(request), 'analysis', analysis.id)}/item"
    links = {"self": str(request.url), "related": related}
    return JSONResponse({"data": descriptor(world, analysis.item), "links": links})


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    prefix = f"{API_PREFIX}/analyses/{{id}}"
    return [
        Route(prefix, get_analysis, methods=["GET"]),
        Route(f"{prefix}/item", get_item, methods=["GET"]),
        Route(f"{prefix}/relationships/item", get_item_descriptor, methods=["GET"]),
    ]
