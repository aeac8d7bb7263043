"""Transports mounted for a base URL: how a block-built client reaches an in-process emulator.

A credentials block only holds serialisable settings, so it cannot carry an
``httpx`` transport. A runbook rehearsal or a test mounts a transport (the emulator's
ASGI transport) for a base URL; every client built for that URL in this process
then uses it. Real base URLs never have one mounted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import httpx

_MOUNTED: dict[str, httpx.AsyncBaseTransport] = {}
_LOCK = threading.Lock()


def _normalise(base_url: str) -> str:
    return base_url.rstrip("/")


@contextlib.contextmanager
def mount_transport(base_url: str, transport: httpx.AsyncBaseTransport) -> Iterator[None]:
    """Route every client built for ``base_url`` through ``transport`` while active."""
    key = _normalise(base_url)
    with _LOCK:
        previous = _MOUNTED.get(key)
        _MOUNTED[key] = transport
    try:
        yield
    finally:
        with _LOCK:
            if previous is None:
                _MOUNTED.pop(key, None)
            else:
                _MOUNTED[key] = previous


def mounted_transport(base_url: str) -> httpx.AsyncBaseTransport | None:
    """The transport mounted for ``base_url``, if any."""
    with _LOCK:
        return _MOUNTED.get(_normalise(base_url))
