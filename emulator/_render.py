"""Turning world objects into v3 JSON: objects, descriptors and embedded relationships."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request

from ._faults import API_PREFIX
from ._pagination import encode_cursor
from ._quota import ApiKey
from ._world import COLLECTIONS, RELATIONSHIPS, Ref, World, WorldObject

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "EMBED_LIMIT",
    "api_base",
    "caller",
    "descriptor",
    "embed_names",
    "emulator_of",
    "object_link",
    "relationship_scope",
    "render_object",
    "render_ref",
]

#: Descriptors embedded per relationship by ``?relationships=``. Real answers seen in public
#: fixtures carry ``links.self`` ending in ``?limit=20`` and a cursor for the rest.
EMBED_LIMIT = 20


def emulator_of(request: Request) -> Emulator:
    """The emulator serving this request."""
    return cast("Emulator", request.app.state.emulator)


def caller(request: Request) -> ApiKey:
    """The authenticated key of this request (set by the gateway)."""
    return cast(ApiKey, request.state.api_key)


def api_base(request: Request) -> str:
    """Absolute base of the API as the client reached it, e.g. ``http://host/api/v3``."""
    return str(request.base_url).rstrip("/") + API_PREFIX


def relationship_scope(kind: str, object_id: str, name: str) -> str:
    """Pagination scope of one relationship listing (shared by both relationship routes)."""
    return f"rel:{kind}:{object_id}:{name}"


def embed_names(request: Request) -> list[str]:
    """Names in ``?relationships=a,b`` (order kept, duplicates and blanks dropped)."""
    raw = request.query_params.get("relationships", "")
    return list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))


def object_link(base: str, kind: str, object_id: str) -> str:
    """``links.self`` of an object."""
    return f"{base}/{COLLECTIONS[kind]}/{object_id}"


def descriptor(world: World, ref: Ref) -> dict[str, Any]:
    """``{"type", "id"}``, plus ``context_attributes.url`` for URLs (their id is a hash).

    An object the world no longer has is an error stub, as in a list of full objects.
    """
    kind, object_id = ref
    if kind == "resolution":
        return {"type": kind, "id": object_id} if world.resolution(object_id) else error_stub(kind, object_id)
    obj = world.get(kind, object_id)
    if obj is None:
        return error_stub(kind, object_id)  # listed, but no longer there
    out: dict[str, Any] = {"type": kind, "id": object_id}
    if kind == "url":
        out["context_attributes"] = {"url": obj.attributes["url"]}
    return out


def render_object(world: World, obj: WorldObject, base: str, embed: Sequence[str] = ()) -> dict[str, Any]:
    """A full object, with ``relationships`` for the names in ``embed`` that its type has.

    Unknown names in ``embed`` are skipped rather than refused: the contract says nothing about
    them and a tolerant answer breaks no client.
    """
    self_link = object_link(base, obj.type, obj.id)
    out: dict[str, Any] = {
        "type": obj.type,
        "id": obj.id,
        "links": {"self": self_link},
        "attributes": world.attributes(obj),
    }
    known = [n for n in embed if n in RELATIONSHIPS[obj.type]]
    if known:
        out["relationships"] = {n: _embedded(world, obj, n, self_link) for n in known}
    return out


def _embedded(world: World, obj: WorldObject, name: str, self_link: str) -> dict[str, Any]:
    refs = world.related(obj.type, obj.id, name)
    links = {
        "self": f"{self_link}/relationships/{name}?limit={EMBED_LIMIT}",
        "related": f"{self_link}/{name}",
    }
    if RELATIONSHIPS[obj.type][name].to_one:
        return {"data": descriptor(world, refs[0]) if refs else None, "links": links}
    out: dict[str, Any] = {
        "data": [descriptor(world, r) for r in refs[:EMBED_LIMIT]],
        "links": links,
        "meta": {"count": len(refs)},
    }
    if len(refs) > EMBED_LIMIT:
        # Valid on /relationships/{name} and /{name}: both use the same scope.
        cursor = encode_cursor(EMBED_LIMIT, relationship_scope(obj.type, obj.id, name))
        out["meta"]["cursor"] = cursor
        links["next"] = f"{links['self']}&cursor={cursor}"
    return out


def error_stub(kind: str, object_id: str) -> dict[str, Any]:
    """What a relationship list holds in place of an object VirusTotal no longer has."""
    error = {"code": "NotFoundError", "message": f'{kind} "{object_id}" not found'}
    return {"type": kind, "id": object_id, "error": error}


def render_ref(world: World, ref: Ref, base: str, embed: Sequence[str] = ()) -> dict[str, Any]:
    """The full object behind a reference (world objects and resolutions).

    A reference to an object the world no longer has renders as an error stub, so that one
    gone object does not fail the whole list it is in.
    """
    kind, object_id = ref
    if kind == "resolution":
        res = world.resolution(object_id)
        if res is None:
            return error_stub(kind, object_id)
        return {
            "type": "resolution",
            "id": res.id,
            "links": {"self": object_link(base, "resolution", res.id)},
            "attributes": world.resolution_attributes(res),
        }
    obj = world.get(kind, object_id)
    if obj is None:
        return error_stub(kind, object_id)
    return render_object(world, obj, base, embed)
