"""``VariableCheckpointStore`` against the Prefect test server, with a busy server simulated in front."""

from __future__ import annotations

import time

import httpx
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_URL
from prefect.variables import Variable

from prefect_virustotal.flows import VariableCheckpointStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


class BusyOnce(httpx.AsyncBaseTransport):
    """The test server, except that the first update of a Variable is answered 503.

    That is what a Prefect server on SQLite answers when another write commits between its read
    of the Variable and its update ("database is locked").
    """

    def __init__(self) -> None:
        self.server = httpx.AsyncHTTPTransport()
        self.updates: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and "/variables/" in request.url.path:
            self.updates.append(time.monotonic())
            if len(self.updates) == 1:
                return httpx.Response(503, json={"exception_message": "Service Unavailable"})
        return await self.server.handle_async_request(request)

    async def aclose(self) -> None:
        await self.server.aclose()


async def test_an_update_answered_503_is_tried_again_at_once() -> None:
    name = "virustotal-test-busy-update"
    busy = BusyOnce()
    async with PrefectClient(str(PREFECT_API_URL.value()), httpx_settings={"transport": busy}) as client:
        store = VariableCheckpointStore(client=client)
        assert await store.load(name) is None
        await store.save(name, {"status": "submitted"})  # a create: one POST
        await store.save(name, {"status": "completed"})  # an update: 503, then again
    assert await Variable.aget(name) == {"status": "completed"}
    assert len(busy.updates) == 2
    # Prefect's client alone would try again after 2 s (1.6 s at the least, with its jitter).
    assert busy.updates[1] - busy.updates[0] < 1.0
    await VariableCheckpointStore().clear(name)
    assert await Variable.aget(name) is None


class PublicMethodsOnly:
    """A Prefect client as a release without its private ``_client`` attribute would be."""

    def __init__(self, client: PrefectClient) -> None:
        self._inner = client

    def __getattr__(self, name: str) -> object:
        if name == "_client":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_without_the_private_seam_a_write_goes_to_prefects_own_retries() -> None:
    name = "virustotal-test-no-seam"
    async with PrefectClient(str(PREFECT_API_URL.value())) as client:
        store = VariableCheckpointStore(client=PublicMethodsOnly(client))  # type: ignore[arg-type]
        assert await store.load(name) is None
        await store.save(name, {"status": "submitted"})
        await store.save(name, {"status": "completed"})
    assert await Variable.aget(name) == {"status": "completed"}
    await VariableCheckpointStore().clear(name)
