"""Users and their quotas: ``GET /users/{id_or_apikey}`` and ``.../overall_quotas``.

A key can see its own user (by user id or by the key itself); another registered user is
403 ``ForbiddenError`` (an emulator simplification); anything else is 404. The
``overall_quotas`` body shape, ``{"data": {"api_requests_daily": {"user": {"allowed", "used"}},
...}}``, is UNCONFIRMED: only the path is known from public clients.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._quota import ApiKey, QuotaUsage
from ._render import api_base, caller, emulator_of, object_link
from ._world import WORLD_NOW

__all__ = ["routes"]

_USER_SINCE = WORLD_NOW - 400 * 86400


def _target(request: Request) -> ApiKey:
    emulator = emulator_of(request)
    raw = request.path_params["id"]
    target = emulator.quotas.get(raw) or emulator.quotas.by_user(raw)
    if target is None:
        raise ApiError("NotFoundError", f'User "{raw}" not found')
    if target.owner != caller(request).owner:
        raise ApiError("ForbiddenError", "You are not allowed to perform the requested operation")
    return target


def _periods(usage: QuotaUsage) -> dict[str, tuple[int, int]]:
    return {
        "api_requests_hourly": usage.hourly,
        "api_requests_daily": usage.daily,
        "api_requests_monthly": usage.monthly,
    }


async def get_user(request: Request) -> Response:
    """``GET /users/{id_or_apikey}``: the user object with its ``quotas``."""
    target = _target(request)
    usage = emulator_of(request).quotas.usage(target)
    quotas = {k: {"allowed": a, "used": u} for k, (a, u) in _periods(usage).items()}
    data: dict[str, Any] = {
        "type": "user",
        "id": target.owner,
        "links": {"self": object_link(api_base(request), "user", target.owner)},
        "attributes": {
            "quotas": quotas,
            "status": "active" if target.active else "inactive",
            "user_since": _USER_SINCE,
        },
    }
    return JSONResponse({"data": data})


async def get_overall_quotas(request: Request) -> Response:
    """``GET /users/{id_or_apikey}/overall_quotas``."""
    target = _target(request)
    usage = emulator_of(request).quotas.usage(target)
    data = {k: {"user": {"allowed": a, "used": u}} for k, (a, u) in _periods(usage).items()}
    return JSONResponse({"data": data})


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    return [
        Route(f"{API_PREFIX}/users/{{id}}", get_user, methods=["GET"]),
        Route(f"{API_PREFIX}/users/{{id}}/overall_quotas", get_overall_quotas, methods=["GET"]),
    ]
