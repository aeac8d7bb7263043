"""Transports that put a test between the client and the emulator (no Prefect imported here)."""

from __future__ import annotations

from pathlib import Path

import httpx


class SwapOnLookup(httpx.AsyncBaseTransport):
    """The emulator, but the file on disk is replaced right after its hash lookup is answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: Path, replacement: bytes) -> None:
        self.inner, self.path, self.replacement = inner, path, replacement

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and "/files/" in request.url.path:
            self.path.write_bytes(self.replacement)
        return response
