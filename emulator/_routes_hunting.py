"""Retrohunt jobs and livehunt rulesets (contract sections 4 and 5).

``/intelligence/retrohunt_jobs`` (list with ``filter`` ``status:``/``corpus:``, create, get,
delete, ``/abort``, ``/matching_files`` and its descriptor route) and
``/intelligence/hunting_rulesets`` (list with ``filter`` and ``order``, create, get, patch,
delete one or all, and the files a ruleset notified about). Both areas need VirusTotal
Intelligence: a public key gets 403 ``ForbiddenError``. A user sees only their own jobs and
rulesets; others' are 404. DELETE answers ``{}`` and abort answers the job (both bodies are
UNCONFIRMED). Matching files carry ``context_attributes`` ``rule_name``, ``match_in_subfile``
and ``snippet`` (UNCONFIRMED field list).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._hunting import HuntingState, RetrohuntHit, RetrohuntJob, Ruleset, ruleset_filter
from ._notifications import HuntingNotification
from ._pagination import paginate
from ._quota import ApiKey, KeyTier
from ._render import api_base, caller, emulator_of, render_object

__all__ = ["routes"]

_JOBS = f"{API_PREFIX}/intelligence/retrohunt_jobs"
_RULESETS = f"{API_PREFIX}/intelligence/hunting_rulesets"
_RULESET_ORDERS = ("name", "creation_date", "modification_date")


def _hunter(request: Request) -> tuple[HuntingState, ApiKey]:
    """The hunting state and the caller, who must hold an Intelligence (premium) key."""
    key = caller(request)
    if key.tier != KeyTier.PREMIUM:
        raise ApiError("ForbiddenError", "You are not allowed to perform the requested operation")
    return emulator_of(request).hunting, key


async def _attributes(request: Request, kind: str) -> dict[str, Any]:
    """``data.attributes`` of a JSON write body of object type ``kind``."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser goes is a bad request, not a 500.
        raise ApiError("BadRequestError", "The request body is not valid JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiError("BadRequestError", 'The request body needs a "data" object')
    if data.get("type") not in (None, kind):
        raise ApiError("InvalidArgumentError", f'Expected an object of type "{kind}"')
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ApiError("BadRequestError", '"attributes" must be an object')
    return attributes


# ------------------------------------------------------------------------------ retrohunt
def _render_job(request: Request, job: RetrohuntJob, now: float) -> dict[str, Any]:
    return {
        "type": "retrohunt_job",
        "id": job.id,
        "links": {"self": f"{api_base(request)}/intelligence/retrohunt_jobs/{job.id}"},
        "attributes": job.attributes(now),
    }


def _epoch_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ApiError("InvalidArgumentError", f"time_range.{name} must be epoch seconds")
    return int(value)


def _emails(value: Any) -> str | None:
    """``notification_email``: one address, a string, as the reference documents it."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and "@" in value:
        return value
    raise ApiError("InvalidArgumentError", "notification_email must be one address (a string)")


async def list_jobs(request: Request) -> Response:
    """``GET /intelligence/retrohunt_jobs``."""
    hunting, key = _hunter(request)
    now = hunting.now()
    jobs = hunting.jobs_of(key.owner)
    expression = request.query_params.get("filter", "")
    for term in expression.split():
        field, sep, value = term.partition(":")
        if field == "status" and sep:
            jobs = [job for job in jobs if job.status(now) == value]
        elif field == "corpus" and sep:
            jobs = [job for job in jobs if job.corpus == value]
        else:
            raise ApiError("InvalidArgumentError", f'Unsupported filter "{term}"')
    page = paginate(
        request,
        jobs,
        lambda job: _render_job(request, job, now),
        scope=f"retrohunt_jobs:{key.owner}:{expression}",
    )
    return JSONResponse(page)


async def create_job(request: Request) -> Response:
    """``POST /intelligence/retrohunt_jobs``."""
    hunting, key = _hunter(request)
    attributes = await _attributes(request, "retrohunt_job")
    window = attributes.get("time_range") or {}
    if not isinstance(window, dict):
        raise ApiError("InvalidArgumentError", "time_range must be an object with start and end")
    start = _epoch_or_none(window.get("start"), "start")
    end = _epoch_or_none(window.get("end"), "end")
    if start is not None and end is not None and start >= end:
        raise ApiError("InvalidArgumentError", "time_range.start must be before time_range.end")
    corpus = attributes.get("corpus") or "main"
    job = hunting.create_job(
        key.owner,
        attributes.get("rules"),  # type: ignore[arg-type]  # validated by compile_rules
        corpus=str(corpus),
        start=start,
        end=end,
        notification_email=_emails(attributes.get("notification_email")),
    )
    return JSONResponse({"data": _render_job(request, job, hunting.now())})


async def get_job(request: Request) -> Response:
    """``GET /intelligence/retrohunt_jobs/{id}``."""
    hunting, key = _hunter(request)
    job = hunting.job(key.owner, request.path_params["id"])
    return JSONResponse({"data": _render_job(request, job, hunting.now())})


async def delete_job(request: Request) -> Response:
    """``DELETE /intelligence/retrohunt_jobs/{id}``."""
    hunting, key = _hunter(request)
    hunting.delete_job(key.owner, request.path_params["id"])
    return JSONResponse({})


async def abort_job(request: Request) -> Response:
    """``POST /intelligence/retrohunt_jobs/{id}/abort``."""
    hunting, key = _hunter(request)
    job = hunting.abort_job(key.owner, request.path_params["id"])
    return JSONResponse({"data": _render_job(request, job, hunting.now())})


def _matching(request: Request, descriptors: bool) -> Response:
    hunting, key = _hunter(request)
    job = hunting.job(key.owner, request.path_params["id"])
    world = emulator_of(request).world
    base = api_base(request)
    embed = [n.strip() for n in request.query_params.get("relationships", "").split(",") if n.strip()]

    def render(hit: RetrohuntHit) -> dict[str, Any]:
        context = {"rule_name": hit.rule_name, "match_in_subfile": False, "snippet": hit.snippet}
        obj = world.get("file", hit.sha256)
        if descriptors or obj is None:
            return {"type": "file", "id": hit.sha256, "context_attributes": context}
        return {**render_object(world, obj, base, embed), "context_attributes": context}

    page = paginate(
        request, job.visible_hits(hunting.now()), render, scope=f"retrohunt:{job.id}:matching_files"
    )
    return JSONResponse(page)


async def matching_files(request: Request) -> Response:
    """``GET /intelligence/retrohunt_jobs/{id}/matching_files`` (full file objects)."""
    return _matching(request, descriptors=False)


async def matching_file_descriptors(request: Request) -> Response:
    """``GET /intelligence/retrohunt_jobs/{id}/relationships/matching_files``."""
    return _matching(request, descriptors=True)


# ------------------------------------------------------------------------------- livehunt
def _render_ruleset(request: Request, ruleset: Ruleset, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "hunting_ruleset",
        "id": ruleset.id,
        "links": {"self": f"{api_base(request)}/intelligence/hunting_rulesets/{ruleset.id}"},
        "attributes": ruleset.attributes(now),
    }
    embed = request.query_params.get("relationships", "")
    if "owner" in embed.split(","):
        out["relationships"] = {"owner": {"data": {"type": "user", "id": ruleset.owner}}}
    return out


def _sorted_rulesets(rulesets: list[Ruleset], order: str | None) -> list[Ruleset]:
    if not order:
        # Newest first when no order is given (UNCONFIRMED default).
        return sorted(rulesets, key=lambda r: (-r.creation_date, -int(r.id)))
    field, descending = order.rstrip("+-"), order.endswith("-")
    if field not in _RULESET_ORDERS:
        raise ApiError("InvalidArgumentError", f'Invalid order "{order}"')
    return sorted(rulesets, key=lambda r: (getattr(r, field), int(r.id)), reverse=descending)


async def list_rulesets(request: Request) -> Response:
    """``GET /intelligence/hunting_rulesets``."""
    hunting, key = _hunter(request)
    now = hunting.now()
    expression = request.query_params.get("filter", "")
    order = request.query_params.get("order")
    rulesets = _sorted_rulesets(ruleset_filter(hunting.rulesets_of(key.owner), expression), order)
    page = paginate(
        request,
        rulesets,
        lambda r: _render_ruleset(request, r, now),
        scope=f"hunting_rulesets:{key.owner}:{expression}:{order}",
    )
    return JSONResponse(page)


async def create_ruleset(request: Request) -> Response:
    """``POST /intelligence/hunting_rulesets``."""
    hunting, key = _hunter(request)
    ruleset = hunting.create_ruleset(key.owner, await _attributes(request, "hunting_ruleset"))
    return JSONResponse({"data": _render_ruleset(request, ruleset, hunting.now())})


async def delete_rulesets(request: Request) -> Response:
    """``DELETE /intelligence/hunting_rulesets``: every ruleset of the caller."""
    hunting, key = _hunter(request)
    hunting.delete_rulesets(key.owner)
    return JSONResponse({})


async def get_ruleset(request: Request) -> Response:
    """``GET /intelligence/hunting_rulesets/{id}``."""
    hunting, key = _hunter(request)
    ruleset = hunting.ruleset(key.owner, request.path_params["id"])
    return JSONResponse({"data": _render_ruleset(request, ruleset, hunting.now())})


async def patch_ruleset(request: Request) -> Response:
    """``PATCH /intelligence/hunting_rulesets/{id}``."""
    hunting, key = _hunter(request)
    attributes = await _attributes(request, "hunting_ruleset")
    ruleset = hunting.update_ruleset(key.owner, request.path_params["id"], attributes)
    return JSONResponse({"data": _render_ruleset(request, ruleset, hunting.now())})


async def delete_ruleset(request: Request) -> Response:
    """``DELETE /intelligence/hunting_rulesets/{id}``."""
    hunting, key = _hunter(request)
    hunting.delete_ruleset(key.owner, request.path_params["id"])
    return JSONResponse({})


def _notification_context(n: HuntingNotification) -> dict[str, Any]:
    return {
        "notification_id": n.id,
        "notification_date": n.date,
        "notification_snippet": n.snippet,
        "notification_source_key": n.source_key,
        "notification_source_country": n.source_country,
        "notification_tags": list(n.tags),
        "ruleset_id": n.ruleset_id,
        "ruleset_name": n.ruleset_name,
        "rule_name": n.rule_name,
        "rule_tags": list(n.rule_tags),
        "match_in_subfile": n.match_in_subfile,
    }


def _ruleset_files(request: Request, descriptors: bool) -> Response:
    hunting, key = _hunter(request)
    ruleset = hunting.ruleset(key.owner, request.path_params["id"])
    emulator = emulator_of(request)
    world, base = emulator.world, api_base(request)
    notifications = [
        n for n in emulator.notifications.hunting if n.ruleset_id == ruleset.id and n.owner == key.owner
    ]
    notifications.sort(key=lambda n: (-n.date, n.id))

    def render(n: HuntingNotification) -> dict[str, Any]:
        obj = world.get("file", n.sha256)
        if descriptors or obj is None:
            return {"type": "file", "id": n.sha256, "context_attributes": _notification_context(n)}
        return {**render_object(world, obj, base), "context_attributes": _notification_context(n)}

    page = paginate(request, notifications, render, scope=f"ruleset:{ruleset.id}:hunting_notification_files")
    return JSONResponse(page)


async def ruleset_files(request: Request) -> Response:
    """``GET /intelligence/hunting_rulesets/{id}/hunting_notification_files``."""
    return _ruleset_files(request, descriptors=False)


async def ruleset_file_descriptors(request: Request) -> Response:
    """``GET /intelligence/hunting_rulesets/{id}/relationships/hunting_notification_files``."""
    return _ruleset_files(request, descriptors=True)


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    return [
        Route(_JOBS, list_jobs, methods=["GET"]),
        Route(_JOBS, create_job, methods=["POST"]),
        Route(f"{_JOBS}/{{id}}", get_job, methods=["GET"]),
        Route(f"{_JOBS}/{{id}}", delete_job, methods=["DELETE"]),
        Route(f"{_JOBS}/{{id}}/abort", abort_job, methods=["POST"]),
        Route(f"{_JOBS}/{{id}}/matching_files", matching_files, methods=["GET"]),
        Route(f"{_JOBS}/{{id}}/relationships/matching_files", matching_file_descriptors, methods=["GET"]),
        Route(_RULESETS, list_rulesets, methods=["GET"]),
        Route(_RULESETS, create_ruleset, methods=["POST"]),
        Route(_RULESETS, delete_rulesets, methods=["DELETE"]),
        Route(f"{_RULESETS}/{{id}}", get_ruleset, methods=["GET"]),
        Route(f"{_RULESETS}/{{id}}", patch_ruleset, methods=["PATCH"]),
        Route(f"{_RULESETS}/{{id}}", delete_ruleset, methods=["DELETE"]),
        Route(f"{_RULESETS}/{{id}}/hunting_notification_files", ruleset_files, methods=["GET"]),
        Route(
            f"{_RULESETS}/{{id}}/relationships/hunting_notification_files",
            ruleset_file_descriptors,
            methods=["GET"],
        ),
    ]
