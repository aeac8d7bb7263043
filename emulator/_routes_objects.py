"""Files, URLs, domains and IP addresses: object reports and their relationships.

``GET /{collection}/{id}`` (with ``?relationships=``), ``GET /{collection}/{id}/{relationship}``
(full objects), ``GET /{collection}/{id}/relationships/{relationship}`` (descriptors), and
``GET /resolutions/{id}`` (path UNCONFIRMED in the contract; served because resolution objects'
``links.self`` needs somewhere to point).

Identifier handling, guessed where the contract is silent: a file id that is not shaped like an
MD5/SHA-1/SHA-256 and an IP id that is not an address get 400 ``InvalidArgumentError``; any
unknown but well-formed id gets 404 ``NotFoundError`` with VirusTotal's message shape
(``File "<id>" not found``). URL ids that do not decode are simply unknown (404), like the
documented ``URL "thisurlidmakesnosenseatall" not found``. An unknown relationship name in the
path is a resource that does not exist: 404 ``NotFoundError``.

Tier: the reference marks some relationships "VT Enterprise users only" (domains'
``downloaded_files`` and ``urls``, IP addresses' ``downloaded_files``). A public key asking for
one gets 403 ``ForbiddenError`` on its relationship routes, and an ``error`` in place of its data
when embedding it in an object GET; the rest of the answer is unaffected. (The exact code the
service answers with is UNCONFIRMED; ``ForbiddenError`` is its code for a missing privilege.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._pagination import paginate
from ._quota import KeyTier
from ._render import (
    api_base,
    caller,
    descriptor,
    embed_names,
    emulator_of,
    object_link,
    relationship_scope,
    render_object,
    render_ref,
)
from ._world import RELATIONSHIPS, Relationship, World, WorldObject

__all__ = ["routes"]

#: Collection in the path -> object type.
KINDS = {"files": "file", "urls": "url", "domains": "domain", "ip_addresses": "ip_address"}
_LABELS = {"file": "File", "url": "URL", "domain": "Domain", "ip_address": "IP address"}

Endpoint = Callable[[Request], Awaitable[Response]]

#: Relationships the reference marks "VT Enterprise users only", per object type.
ENTERPRISE_ONLY = {
    "domain": frozenset({"downloaded_files", "urls"}),
    "ip_address": frozenset({"downloaded_files"}),
}


def _restricted(request: Request, kind: str) -> frozenset[str]:
    """The relationships of ``kind`` this caller's key may not see."""
    if caller(request).tier == KeyTier.PREMIUM:
        return frozenset()
    return ENTERPRISE_ONLY.get(kind, frozenset())


def _enterprise_only(name: str) -> ApiError:
    return ApiError("ForbiddenError", f'The relationship "{name}" is only available to VT Enterprise users')


def lookup(world: World, kind: str, raw_id: str) -> WorldObject:
    """The object behind a path id, or the v3 error a client would get."""
    if kind == "file" and not World.valid_file_id(raw_id):
        raise ApiError("InvalidArgumentError", f'"{raw_id}" is not a valid MD5, SHA-1 or SHA-256')
    if kind == "ip_address":
        try:
            ipaddress.ip_address(raw_id)
        except ValueError:
            raise ApiError("InvalidArgumentError", f'"{raw_id}" is not a valid IP address') from None
    obj = world.get(kind, raw_id)
    if obj is None:
        raise ApiError("NotFoundError", f'{_LABELS[kind]} "{raw_id}" not found')
    return obj


def _relationship(kind: str, name: str) -> Relationship:
    rel = RELATIONSHIPS[kind].get(name)
    if rel is None:
        raise ApiError("NotFoundError", f'Relationship "{name}" not found for {kind} objects')
    return rel


def _object_endpoint(kind: str) -> Endpoint:
    async def get_object(request: Request) -> Response:
        world = emulator_of(request).world
        obj = lookup(world, kind, request.path_params["id"])
        embed = embed_names(request)
        refused = [name for name in embed if name in _restricted(request, kind)]
        data = render_object(world, obj, api_base(request), [n for n in embed if n not in refused])
        for name in refused:  # an error for that relationship, nothing else affected
            error = _enterprise_only(name)
            data.setdefault("relationships", {})[name] = {
                "error": {"code": error.code, "message": error.message}
            }
        return JSONResponse({"data": data})

    return get_object


def _related_endpoint(kind: str, descriptors_only: bool) -> Endpoint:
    async def get_related(request: Request) -> Response:
        world = emulator_of(request).world
        base = api_base(request)
        obj = lookup(world, kind, request.path_params["id"])
        name = request.path_params["relationship"]
        rel = _relationship(kind, name)
        if name in _restricted(request, kind):
            raise _enterprise_only(name)
        refs = world.related(kind, obj.id, name)
        embed = embed_names(request)

        def render(ref: tuple[str, str]) -> dict[str, object]:
            return descriptor(world, ref) if descriptors_only else render_ref(world, ref, base, embed)

        if rel.to_one:
            links = {"self": str(request.url)}
            if descriptors_only:
                links["related"] = f"{object_link(base, kind, obj.id)}/{name}"
            return JSONResponse({"data": render(refs[0]) if refs else None, "links": links})
        scope = relationship_scope(kind, obj.id, name)
        return JSONResponse(paginate(request, refs, render, scope=scope))

    return get_related


async def get_resolution(request: Request) -> Response:
    """``GET /resolutions/{id}``: a DNS resolution object."""
    world = emulator_of(request).world
    raw = request.path_params["id"]
    if world.resolution(raw) is None:
        raise ApiError("NotFoundError", f'Resolution "{raw}" not found')
    return JSONResponse({"data": render_ref(world, ("resolution", raw), api_base(request))})


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    out: list[BaseRoute] = []
    for collection, kind in KINDS.items():
        prefix = f"{API_PREFIX}/{collection}/{{id}}"
        out += [
            Route(prefix, _object_endpoint(kind), methods=["GET"]),
            Route(f"{prefix}/relationships/{{relationship}}", _related_endpoint(kind, True), methods=["GET"]),
            Route(f"{prefix}/{{relationship}}", _related_endpoint(kind, False), methods=["GET"]),
        ]
    out.append(Route(f"{API_PREFIX}/resolutions/{{id}}", get_resolution, methods=["GET"]))
    return out
