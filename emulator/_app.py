"""The ASGI app: a gateway in front of a Starlette router.

Per request, in order: record it in the request log -> body-size guard -> fault injection ->
authentication (``x-apikey``) -> quota -> route. Only paths under ``/api/v3`` pass faults, auth
and quota; ``GET /`` says what this server is. Success is always HTTP 200 with JSON; errors are
always the v3 envelope. Every response carries ``x-vt-emulator: true``, because everything here
is fiction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import (
    _routes_admin,
    _routes_alerts,
    _routes_analyses,
    _routes_behaviours,
    _routes_collections,
    _routes_community,
    _routes_hunting,
    _routes_objects,
    _routes_scanning,
    _routes_search,
    _routes_users,
    _vt_alerts,
)
from ._errors import ApiError, error_response
from ._faults import API_PREFIX, ConnectionDropped, Fault
from ._requests import RequestRecord

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["BodyTooLarge", "create_app"]

_FAULT_ERRORS = {
    "transient": ("TransientError", "Transient error, retrying may work"),
    "deadline": ("DeadlineExceededError", "The operation took too long to complete"),
    "too_many_requests": ("TooManyRequestsError", "Too many requests"),
}
_HTML_PAGE = (
    "<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1>"
    "<p>The server encountered a temporary error and could not complete your request.</p>"
    "</body></html>"
)


class BodyTooLarge(Exception):  # noqa: N818 - mirrors HTTP's "Payload Too Large"
    """A request body went past the emulator's size cap while being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def _too_large(limit: int) -> Response:
    # 413 is not a v3 code; the body still uses the envelope so clients parse it uniformly.
    return error_response("BadRequestError", f"Request body larger than {limit} bytes", status=413)


async def _root(request: Request) -> Response:
    return JSONResponse(
        {
            "emulator": "VirusTotal API v3 emulator (prefect-virustotal); all data is fiction",
            "api": API_PREFIX,
        }
    )


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _on_http_error(request: Request, exc: Exception) -> Response:
    # Unknown paths and unsupported methods alike are resources that do not exist (guess:
    # the contract has no 405 in its table).
    assert isinstance(exc, HTTPException)
    return error_response("NotFoundError", f"Resource not found: {request.method} {request.url.path}")


async def _on_body_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return _too_large(exc.limit)


def create_app(emulator: Emulator) -> ASGIApp:
    """Build the emulator's ASGI app.

    Args:
        emulator: Supplies the world, keys and quotas, fault plan, clock and request log.

    Returns:
        An ASGI application serving the v3 API under ``/api/v3``.
    """
    router = Starlette(
        routes=[
            Route("/", _root, methods=["GET"]),
            *_routes_scanning.routes(),  # before objects: /files/upload_url is not a file id
            *_routes_community.routes(),
            *_routes_behaviours.routes(),  # before objects: /files/{id}/behaviours is not generic
            *_routes_objects.routes(),
            *_routes_analyses.routes(),
            *_routes_users.routes(),
            *_routes_search.routes(),
            *_routes_collections.routes(),
            *_routes_hunting.routes(),
            *_routes_alerts.routes(),
            *_vt_alerts.routes(),
            *_routes_admin.routes(),
        ],
        exception_handlers={
            ApiError: _on_api_error,
            HTTPException: _on_http_error,
            BodyTooLarge: _on_body_too_large,
        },
    )
    router.state.emulator = emulator
    return _Gateway(router, emulator)


class _Capture:
    """Collects a response instead of sending it, for faults that tamper with it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def replay_truncated(self, send: Send) -> None:
        assert self.start is not None
        cut = bytes(self.body[: len(self.body) // 2])
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({**self.start, "headers": headers})
        await send({"type": "http.response.body", "body": cut})


class _Gateway:
    """Logging, body cap, faults, auth and quota in front of the router (see module doc)."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        headers = Headers(scope=scope)
        key = headers.get("x-apikey") or None
        record = RequestRecord(
            time=emulator.clock.time(),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            api_key=key,
            scheme=str(scope.get("scheme", "http")),
        )
        emulator.log.append(record)
        send = _marking(send, record, emulator.clock.time)

        limit = emulator.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        receive = _capped(receive, limit)

        path: str = scope["path"]
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        delay, fault = emulator.faults.select(key, scope["method"], path)
        if delay:
            await asyncio.sleep(delay)
        if fault is None:
            await self._admit(scope, receive, send, key)
            return
        record.fault = fault.kind
        if fault.kind == "drop" and not fault.after_processing:
            raise ConnectionDropped(f"{scope['method']} {path}")
        if fault.kind in ("drop", "truncate"):
            capture = _Capture()
            await self._admit(scope, receive, capture.send, key)
            if fault.kind == "drop":
                raise ConnectionDropped(f"{scope['method']} {path} (after processing)")
            await capture.replay_truncated(send)
            return
        await _fault_response(fault)(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive, send: Send, key: str | None) -> None:
        """Authentication and quota, then the route."""
        quotas = self.emulator.quotas
        api_key = None if key is None else quotas.get(key)
        if key is None:
            response: Response = error_response("AuthenticationRequiredError", "X-Apikey header is missing")
        elif api_key is None:
            response = error_response("WrongCredentialsError", "Wrong API key")
        elif not api_key.active:
            response = error_response("UserNotActiveError", "User account is not active")
        else:
            refusal = quotas.consume(api_key)
            if refusal is None:
                scope.setdefault("state", {})["api_key"] = api_key
                await self.app(scope, receive, send)
                return
            response = error_response("QuotaExceededError", refusal)
        await response(scope, receive, send)


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "non_json":
        status = fault.status or 502
        page = _HTML_PAGE.format(status=status, phrase=HTTPStatus(status).phrase)
        return HTMLResponse(page, status_code=status)
    if fault.kind == "error":
        assert fault.code is not None
        code, message = fault.code, fault.message or f"Injected {fault.code}"
    else:
        code, message = _FAULT_ERRORS[fault.kind]
        message = fault.message or message
    headers = {}
    if fault.kind == "too_many_requests" and fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    return error_response(code, f"{message} (emulated fault)", headers=headers)


def _marking(send: Send, record: RequestRecord, now: Callable[[], float]) -> Send:
    """Record the status; add ``x-vt-emulator: true`` and a ``Date`` on the emulator's clock.

    Every HTTP server sends ``Date``; the emulator's comes from its own (possibly fake) clock,
    so that "created after this moment" can be judged in the service's time, as a client
    resolving a lost answer does.
    """

    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
            date = formatdate(now(), usegmt=True).encode()
            extra = [(b"x-vt-emulator", b"true"), (b"date", date)]
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            message = {**message, "headers": [*kept, *extra]}
        await send(message)

    return marked


def _capped(receive: Receive, limit: int) -> Receive:
    """Count body bytes as a route reads them; past ``limit`` raise ``BodyTooLarge``."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return capped
