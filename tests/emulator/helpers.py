"""Helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator


def api(emulator: Emulator, key: str | None = PREMIUM_DEMO_KEY) -> httpx.AsyncClient:
    """A plain httpx client wired to the emulator in process, sending ``key``."""
    headers = {"x-apikey": key} if key is not None else {}
    return httpx.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=headers)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """``(status, code, message)`` of an error response, checking the envelope on the way."""
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"], body["error"]["message"]
