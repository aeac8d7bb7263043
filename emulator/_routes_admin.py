"""Emulator-only introspection, outside ``/api/v3``: ``GET /_emulator/requests``.

VirusTotal has nothing like it. End-to-end tests and benchmarks that talk to the emulator
over loopback read its request log here (the in-process handle is ``Emulator.requests``).
No API key is ever returned: a record carries only its time, method, path and status.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._render import emulator_of

__all__ = ["ADMIN_PREFIX", "routes"]

ADMIN_PREFIX = "/_emulator"


async def get_requests(request: Request) -> Response:
    """The request log: ``{"requests": [{"time", "method", "path", "status"}, ...]}``.

    ``?since=<epoch seconds>`` keeps only requests that arrived at or after that time.
    """
    since_raw = request.query_params.get("since")
    try:
        since = float(since_raw) if since_raw else None
    except ValueError:
        return JSONResponse({"error": "since must be a number"}, status_code=400)
    records = [
        {"time": r.time, "method": r.method, "path": r.path, "status": r.status}
        for r in emulator_of(request).log.records
        if (since is None or r.time >= since) and not r.path.startswith(ADMIN_PREFIX)
    ]
    return JSONResponse({"requests": records})


def routes() -> list[BaseRoute]:
    """The emulator-only routes."""
    return [Route(f"{ADMIN_PREFIX}/requests", get_requests, methods=["GET"])]
