"""Search: ``GET /intelligence/search`` (premium) and the basic ``GET /search``.

Intelligence search evaluates the query-language subset of ``_query`` over the world (uploads
included): ``limit`` defaults to 10 and may be at most 300, ``order`` is ``<field>+``/``<field>-``
over ``first_submission_date``, ``last_submission_date``, ``positives``, ``times_submitted`` and
``size`` (newest last submission first by default; ignored for content searches, as the
reference says), ``descriptors_only=true`` answers descriptors. Content matches carry
``context_attributes`` ``{confidence, match_in_subfile}`` and the page's ``meta`` says
``days_back``. The basic search finds a file by hash, a URL, a domain or an IP address, and
otherwise the comments whose text contains the query.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._pagination import paginate
from ._query import compile_query
from ._quota import KeyTier
from ._render import api_base, caller, descriptor, emulator_of, render_ref
from ._world import World, WorldObject

__all__ = ["routes"]

_ORDER_FIELDS = {
    "first_submission_date": "first_submission_date",
    "last_submission_date": "last_submission_date",
    "times_submitted": "times_submitted",
    "size": "size",
}
_CONTENT_DAYS_BACK = 90


def _order_key(order: str) -> tuple[str, bool]:
    field, direction = (order[:-1], order[-1]) if order[-1:] in "+-" else (order, "-")
    if field not in (*_ORDER_FIELDS, "positives"):
        raise ApiError("InvalidArgumentError", f"Invalid order {order!r}")
    return field, direction == "-"


def _sort_value(obj: WorldObject, field: str) -> int:
    if field == "positives":
        return int(obj.attributes.get("last_analysis_stats", {}).get("malicious", 0))
    return int(obj.attributes.get(_ORDER_FIELDS[field], 0) or 0)


async def intelligence_search(request: Request) -> Response:
    """``GET /intelligence/search``."""
    if caller(request).tier != KeyTier.PREMIUM:
        raise ApiError("ForbiddenError", "You are not allowed to perform the requested operation")
    query = request.query_params.get("query", "")
    if not query.strip():
        raise ApiError("BadRequestError", "The query parameter is required")
    compiled = compile_query(query)
    world = emulator_of(request).world
    found = [o for o in world.objects(compiled.entity) if compiled.predicate(world, o)]
    if not compiled.is_content:
        field, descending = _order_key(request.query_params.get("order") or "last_submission_date-")
        found.sort(key=lambda o: (_sort_value(o, field), o.id), reverse=descending)
    descriptors_only = request.query_params.get("descriptors_only", "").lower() in ("true", "1")
    base = api_base(request)

    def render(obj: WorldObject) -> dict[str, Any]:
        ref = (obj.type, obj.id)
        item = descriptor(world, ref) if descriptors_only else render_ref(world, ref, base)
        if compiled.is_content:
            item["context_attributes"] = {"confidence": 1.0, "match_in_subfile": False}
        return item

    scope = (
        "search:"
        + hashlib.sha256(f"{query}\x00{request.query_params.get('order')}".encode()).hexdigest()[:16]
    )
    meta = {"days_back": _CONTENT_DAYS_BACK} if compiled.is_content else None
    return JSONResponse(paginate(request, found, render, scope=scope, max_limit=300, meta=meta))


def _basic_hits(world: World, query: str) -> list[tuple[str, str]]:
    text = query.strip()
    obj = world.get("file", text) if World.valid_file_id(text) else None
    if obj is not None:
        return [("file", obj.id)]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        ip = world.get("ip_address", text)
        return [("ip_address", ip.id)] if ip is not None else []
    if "/" in text or "://" in text:
        url = world.get("url", World.url_id(text))
        return [("url", url.id)] if url is not None else []
    domain = world.get("domain", text.lower())
    return [("domain", domain.id)] if domain is not None else []


async def basic_search(request: Request) -> Response:
    """``GET /search?query=``: an object by hash, URL, domain or IP, else comments by text."""
    query = request.query_params.get("query", "")
    if not query.strip():
        raise ApiError("BadRequestError", "The query parameter is required")
    emulator = emulator_of(request)
    world = emulator.world
    base = api_base(request)
    hits = _basic_hits(world, query)
    items: list[dict[str, Any]] = [render_ref(world, ref, base) for ref in hits]
    if not hits:
        needle = query.strip().lower()
        for comments in emulator.soc.comments.values():
            items += [
                {k: v for k, v in c.items() if not k.startswith("_")}
                for c in comments
                if needle in str(c["attributes"]["text"]).lower()
            ]
    scope = "basic:" + hashlib.sha256(query.encode()).hexdigest()[:16]
    return JSONResponse(paginate(request, items, lambda x: x, scope=scope))


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    return [
        Route(f"{API_PREFIX}/intelligence/search", intelligence_search, methods=["GET"]),
        Route(f"{API_PREFIX}/search", basic_search, methods=["GET"]),
    ]
