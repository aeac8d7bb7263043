"""Sample downloads, community comments and votes, and domain/IP rescans.

* ``GET /files/{id}/download_url`` -> ``{"data": "<storage URL>"}``; ``GET /files/{id}/download``
  -> 302 to the same storage URL. Both need a premium key (403 ``ForbiddenError`` otherwise).
  Storage lives outside ``/api/v3`` (no key, no quota), like VirusTotal's signed URLs, and
  serves the world's bytes; a file whose whole content the emulator does not hold (a large
  upload keeps only its head) is 404.
* ``GET/POST /{files,urls,domains,ip_addresses}/{id}/comments`` and ``.../votes``. A vote's
  ``verdict`` is ``malicious`` or ``harmless``; anything else is 400 ``InvalidArgumentError``;
  one vote per key and object (a second is 409 ``AlreadyExistsError``; UNCONFIRMED).
* ``POST /domains/{domain}/analyse`` and ``POST /ip_addresses/{ip}/analyse``: an ``analysis``
  descriptor, as for files and URLs (the paths are inferred from the files/URLs pattern in
  the contract notes: UNCONFIRMED); the analysis is completed at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._pagination import paginate
from ._quota import KeyTier
from ._render import api_base, caller, emulator_of
from ._routes_hunting import _attributes
from ._routes_objects import KINDS, lookup
from ._world import Analysis

__all__ = ["STORAGE_PREFIX", "routes"]

STORAGE_PREFIX = "/storage/samples"
_VERDICTS = ("malicious", "harmless")


def _token(seed: int, sha256: str) -> str:
    return hashlib.sha256(f"emulator-storage:{seed}:{sha256}".encode()).hexdigest()[:32]


def _storage_url(request: Request, sha256: str) -> str:
    seed = emulator_of(request).world.seed
    return f"{str(request.base_url).rstrip('/')}{STORAGE_PREFIX}/{sha256}?token={_token(seed, sha256)}"


def _downloadable(request: Request) -> str:
    if caller(request).tier != KeyTier.PREMIUM:
        raise ApiError("ForbiddenError", "You are not allowed to perform the requested operation")
    return lookup(emulator_of(request).world, "file", request.path_params["id"]).id


async def get_download_url(request: Request) -> Response:
    """``GET /files/{id}/download_url``."""
    return JSONResponse({"data": _storage_url(request, _downloadable(request))})


async def get_download(request: Request) -> Response:
    """``GET /files/{id}/download``: a redirect to storage."""
    return RedirectResponse(_storage_url(request, _downloadable(request)), status_code=302)


async def get_stored(request: Request) -> Response:
    """Storage: the bytes, if the token is right; one byte flipped while tampering is on."""
    emulator = emulator_of(request)
    sha256 = request.path_params["sha256"]
    if request.query_params.get("token") != _token(emulator.world.seed, sha256):
        raise ApiError("ForbiddenError", "Invalid or expired download token")
    obj = emulator.world.get("file", sha256)
    content = obj.content if obj is not None else None
    if content is None or hashlib.sha256(content).hexdigest() != sha256:
        raise ApiError("NotFoundError", f'Content of file "{sha256}" not available')
    if emulator.soc.corrupt_downloads > 0:
        emulator.soc.corrupt_downloads -= 1
        middle = len(content) // 2
        content = content[:middle] + bytes([content[middle] ^ 0x01]) + content[middle + 1 :]
    return Response(content, media_type="application/octet-stream")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """An item as clients see it (the emulator's bookkeeping keys start with ``_``)."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _community(kind: str, what: str) -> Any:
    """GET and POST of ``comments`` or ``votes`` on objects of ``kind``."""

    async def endpoint(request: Request) -> Response:
        emulator = emulator_of(request)
        obj = lookup(emulator.world, kind, request.path_params["id"])
        store = emulator.soc.comments if what == "comments" else emulator.soc.votes
        items = store.setdefault((kind, obj.id), [])
        if request.method == "GET":
            newest_first = list(reversed(items))
            return JSONResponse(paginate(request, newest_first, _public, scope=f"{what}:{kind}:{obj.id}"))
        key = caller(request)
        now = int(emulator.clock.time())
        if what == "comments":
            attrs = await _attributes(request, "comment")
            text = attrs.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ApiError("InvalidArgumentError", "A comment needs a non-empty text")
            words = [w[1:] for w in text.split() if w.startswith("#") and len(w) > 1]
            item_id = f"{kind[0]}-{obj.id[:16]}-{emulator.soc.next_id()}"
            item = {
                "type": "comment",
                "id": item_id,
                "links": {"self": f"{api_base(request)}/comments/{item_id}"},
                "attributes": {
                    "date": now,
                    "text": text,
                    "html": text,
                    "tags": words,
                    "votes": {"positive": 0, "negative": 0, "abuse": 0},
                },
            }
        else:
            attrs = await _attributes(request, "vote")
            verdict = attrs.get("verdict")
            if verdict not in _VERDICTS:
                raise ApiError("InvalidArgumentError", 'A vote\'s verdict is "malicious" or "harmless"')
            if any(v.get("_owner") == key.owner for v in items):
                raise ApiError("AlreadyExistsError", "You already voted on this object")
            item_id = f"{kind[0]}-{obj.id[:16]}-{emulator.soc.next_id()}"
            item = {
                "type": "vote",
                "id": item_id,
                "links": {"self": f"{api_base(request)}/votes/{item_id}"},
                "attributes": {"date": now, "verdict": verdict, "value": 1 if verdict == "harmless" else -1},
            }
        if what == "votes":
            item["_owner"] = key.owner
        items.append(item)
        return JSONResponse({"data": _public(item)})

    return endpoint


def _analyse(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        emulator = emulator_of(request)
        obj = lookup(emulator.world, kind, request.path_params["id"])
        digest = hashlib.sha256(f"{kind}:{obj.id}:{emulator.clock.time()}".encode()).hexdigest()[:24]
        analysis_id = f"{kind[0]}-{digest}"
        attrs = emulator.world.attributes(obj)
        # Registered completed at once, so ``GET /analyses/{id}`` answers for it.
        emulator.world.add_analysis(
            Analysis(
                id=analysis_id,
                item=(obj.type, obj.id),
                date=int(emulator.clock.time()),
                status="completed",
                stats=dict(attrs["last_analysis_stats"]),
                results=attrs["last_analysis_results"],
            )
        )
        link = f"{api_base(request)}/analyses/{analysis_id}"
        return JSONResponse({"data": {"type": "analysis", "id": analysis_id, "links": {"self": link}}})

    return endpoint


def routes() -> list[BaseRoute]:
    """The routes of this area (served before the generic relationship routes)."""
    p = API_PREFIX
    out: list[BaseRoute] = [
        Route(f"{p}/files/{{id}}/download_url", get_download_url, methods=["GET"]),
        Route(f"{p}/files/{{id}}/download", get_download, methods=["GET"]),
        Route(f"{STORAGE_PREFIX}/{{sha256}}", get_stored, methods=["GET"]),
        Route(f"{p}/domains/{{id}}/analyse", _analyse("domain"), methods=["POST"]),
        Route(f"{p}/ip_addresses/{{id}}/analyse", _analyse("ip_address"), methods=["POST"]),
    ]
    for collection, kind in KINDS.items():
        for what in ("comments", "votes"):
            out.append(
                Route(f"{p}/{collection}/{{id}}/{what}", _community(kind, what), methods=["GET", "POST"])
            )
    return out
