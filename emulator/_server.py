"""Serving the emulator on a real socket with uvicorn (loopback by default).

``ConnectionDropped`` has no ASGI equivalent: left alone, uvicorn would answer it with a
``500 Internal Server Error``. ``DropConnections`` catches it at the outermost layer, where
the ``send`` callable still belongs to uvicorn's h11 request cycle, closes that cycle's
transport, and returns once uvicorn has seen the disconnect, so nothing else is written and
nothing is logged. A client then sees the connection closed with no response, which httpx
reports as ``RemoteProtocolError("Server disconnected without sending a response.")``, the same
error ``Emulator.transport()`` raises in process. This reaches into uvicorn's h11 protocol
(``send.__self__.transport``); if that ever changes, the exception propagates and the client
gets uvicorn's 500 instead (the tests pin the behaviour).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._faults import API_PREFIX, ConnectionDropped

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = [
    "IDLE_TIMEOUT_SECONDS",
    "DropConnections",
    "IdleTimeoutH11",
    "base_url_for",
    "bind",
    "is_loopback",
    "make_server",
    "serve_in_thread",
]

IDLE_TIMEOUT_SECONDS = 30.0
"""How long a connection may wait on its client (nothing sent, or a request half sent)."""


class IdleTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose client goes quiet.

    uvicorn times a connection out only between requests, once a response is complete; a
    client that connects and sends nothing, or half a request, and then vanishes (a half-open
    connection) would hold it for ever. Here every wait on the client is bounded: the timer
    runs from the connection and from each piece of data received, whenever the server is not
    busy answering a request it has completely received.
    """

    idle_timeout: float = IDLE_TIMEOUT_SECONDS
    _idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        super().connection_lost(exc)

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        cycle = self.cycle
        answering = cycle is not None and not cycle.response_complete and not cycle.more_body
        if not answering:
            self._idle = self.loop.call_later(self.idle_timeout, self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            return  # the request arrived whole meanwhile: the app is answering it
        if not self.transport.is_closing():
            self.transport.close()


class DropConnections:
    """Turn ``ConnectionDropped`` into a closed socket under uvicorn (see module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is None:
                raise
            transport.close()
            # Let the loop run connection_lost() so uvicorn marks the cycle disconnected
            # before we return, and does not try to answer.
            await asyncio.sleep(0)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port=0`` picks a free port)."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def base_url_for(sock: socket.socket) -> str:
    """``http://host:port/api/v3`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{API_PREFIX}"


def make_server(
    emulator: Emulator,
    *,
    log_level: str = "warning",
    quiet: bool = False,
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
) -> uvicorn.Server:
    """A uvicorn server for the emulator's app (h11, no lifespan, no access log); connections
    whose client stays quiet for ``idle_timeout`` seconds are closed."""
    protocol = type("EmulatorH11", (IdleTimeoutH11,), {"idle_timeout": idle_timeout})
    config = uvicorn.Config(
        DropConnections(emulator.app),
        interface="asgi3",
        http=protocol,
        lifespan="off",
        ws="none",  # no websockets here; also skips importing a websockets implementation
        access_log=False,
        log_level=log_level,
        # In-process servers must not reconfigure the host program's logging.
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        server_header=False,
        date_header=False,  # the app sends Date on the emulator's clock
    )
    return uvicorn.Server(config)


@contextmanager
def serve_in_thread(
    emulator: Emulator, host: str = "127.0.0.1", port: int = 0, idle_timeout: float = IDLE_TIMEOUT_SECONDS
) -> Iterator[str]:
    """Serve ``emulator`` from a background thread; yields the base URL (``.../api/v3``)."""
    sock = bind(host, port)
    server = make_server(emulator, quiet=True, idle_timeout=idle_timeout)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="vt-emulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10.0
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        yield base_url_for(sock)
    finally:
        server.should_exit = True
        thread.join(10.0)
        sock.close()
