"""Users and their quotas: ``GET /users/{id_or_apikey}`` and ``.../overall_quotas``.

A key can see its own user (by user id or by the key itself); another registered user is
403 ``ForbiddenError`` (an emulator simplification); anything else is 404. The
``overall_quotas`` body shape, ``{"data": {"api_requests_daily": {"user": {"allowed", "used"}},
...}}``, is UNCONFIRMED: only the path is known from public clients.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
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


_USAGE_MAX_DAYS = 30
_USAGE_HISTORY_DAYS = 60


def _usage_day(raw: str | None, name: str) -> date | None:
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d").replace(tzinfo=timezone.utc).date()
    except ValueError:
        raise ApiError("InvalidArgumentError", f"{name} must be a date as YYYYMMDD") from None


def _endpoint_group(path: str) -> str:
    """``/api/v3/(<group>)`` for a request path, in the style of the reference's examples."""
    parts = [p for p in path[len(API_PREFIX) :].split("/") if p]
    if parts[:2] == ["intelligence", "search"]:
        return f"{API_PREFIX}/(intelligence_search)"
    if not parts:
        return f"{API_PREFIX}/(root)"
    head = parts[0][:-1] if parts[0].endswith("s") and len(parts[0]) > 1 else parts[0]
    tail = parts[2] if len(parts) > 2 else ("reports" if len(parts) == 2 else "collection")
    return f"{API_PREFIX}/({head}_{tail})"


async def get_api_usage(request: Request) -> Response:
    """``GET /users/{id}/api_usage``: requests per day and endpoint group (last 30 days by default).

    The range may span at most 30 days and only the last 60 days are kept (as the reference
    says); the body shape ``{"data": {"daily": {"YYYY-MM-DD": {group: n}}, "total": {group: n}}}``
    is UNCONFIRMED (the reference's example shows ``daily`` only).
    """
    target = _target(request)
    emulator = emulator_of(request)
    today = datetime.fromtimestamp(emulator.clock.time(), tz=timezone.utc).date()
    end = _usage_day(request.query_params.get("end_date"), "end_date") or today
    start = _usage_day(request.query_params.get("start_date"), "start_date") or end - timedelta(
        days=_USAGE_MAX_DAYS - 1
    )
    if start > end:
        raise ApiError("InvalidArgumentError", "start_date is after end_date")
    if (end - start).days >= _USAGE_MAX_DAYS:
        raise ApiError("InvalidArgumentError", f"The maximum range is {_USAGE_MAX_DAYS} days")
    start = max(start, today - timedelta(days=_USAGE_HISTORY_DAYS - 1))
    daily: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    for record in emulator.log.records:
        if (
            record.api_key != target.key
            or record.status != 200
            or not record.path.startswith(API_PREFIX + "/")
        ):
            continue
        day = datetime.fromtimestamp(record.time, tz=timezone.utc).date()
        if not start <= day <= end:
            continue
        group = _endpoint_group(record.path)
        bucket = daily.setdefault(day.isoformat(), {})
        bucket[group] = bucket.get(group, 0) + 1
        total[group] = total.get(group, 0) + 1
    return JSONResponse({"data": {"daily": dict(sorted(daily.items())), "total": total}})


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    return [
        Route(f"{API_PREFIX}/users/{{id}}", get_user, methods=["GET"]),
        Route(f"{API_PREFIX}/users/{{id}}/overall_quotas", get_overall_quotas, methods=["GET"]),
        Route(f"{API_PREFIX}/users/{{id}}/api_usage", get_api_usage, methods=["GET"]),
    ]
