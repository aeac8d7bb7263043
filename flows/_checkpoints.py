"""The Prefect side of the checkpoint store: one Prefect Variable per checkpoint.

The interface, the naming scheme and the size cap are the core's (``prefect_virustotal.core``);
this is the one place that writes Variables for the pack's flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.utilities import get_or_create_client
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError

from prefect_virustotal.core import ensure_checkpoint_fits

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

T = TypeVar("T")

QUICK_RETRY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4)
"""Pauses (seconds, jittered by half) before another attempt of a write answered 503.

A Prefect server on SQLite reads a Variable, then updates it, in one deferred transaction; when
another write (the recording of task runs, of flow runs) commits in between, SQLite refuses the
update at once ("database is locked") and the server answers 503. Prefect's client would wait 2 s,
then 4 s, before trying again: ~2 s on every checkpoint written beside task runs, for a collision
over in milliseconds. These quick attempts come first; after them, Prefect's own retries apply.
"""


class VariableCheckpointStore:
    """Checkpoints as Prefect Variables, the store every flow uses by default.

    A save is one request (an update; the Variable is created the first time only), where
    ``Variable.aset(overwrite=True)`` sends three: read, update, read back. A name this store
    has just loaded and found absent is created straight away (no update answered 404 first).
    Values over the core's cap are refused before any request. A write the server answers 503
    (SQLite busy) is tried again within milliseconds (``QUICK_RETRY_PAUSES``) before Prefect's
    client's own, slower retries.

    Args:
        client: the Prefect client to write with; by default the run's (or a new one).

    Example:
        ```python
        store = VariableCheckpointStore()
        await store.save(checkpoint_name("retrohunt", "finished"), {"announced": []})
        ```
    """

    def __init__(self, *, client: PrefectClient | None = None) -> None:
        self._absent: set[str] = set()
        self._client = client

    async def load(self, name: str) -> Any:
        """The Variable's value; None when there is no Variable ``name``."""
        client, _ = get_or_create_client(self._client)
        variable = await client.read_variable_by_name(name)
        if variable is None:
            self._absent.add(name)
            return None
        return variable.value

    async def save(self, name: str, value: Any) -> None:
        """Create or overwrite the Variable ``name`` with ``value``."""
        ensure_checkpoint_fits(name, value)
        client, _ = get_or_create_client(self._client)

        async def create() -> None:
            await client.create_variable(VariableCreate(name=name, value=value))

        async def update() -> None:
            await client.update_variable(VariableUpdate(name=name, value=value))

        if name in self._absent:
            # Known absent a moment ago: create it (one request); if another run did meanwhile, update.
            self._absent.discard(name)
            try:
                await _quick_retries(client, create)
                return
            except ObjectAlreadyExists:
                pass
        try:
            await _quick_retries(client, update)
            return
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise
        try:
            await _quick_retries(client, create)
        except ObjectAlreadyExists:  # created meanwhile by another run: overwrite it
            await _quick_retries(client, update)

    async def clear(self, name: str) -> None:
        """Delete the Variable ``name`` if it exists."""
        self._absent.discard(name)
        client, _ = get_or_create_client(self._client)
        with contextlib.suppress(ObjectNotFound):
            await client.delete_variable_by_name(name)


class _BusyError(Exception):
    """A quick attempt of a checkpoint write was answered 503."""


_QUICK_ATTEMPT: ContextVar[bool] = ContextVar("virustotal_quick_checkpoint_write", default=False)


async def _raise_when_busy(response: Any) -> None:
    """Response hook: during a quick attempt (this coroutine only), a 503 ends it at once.

    Raised from the hook, the exception leaves Prefect's client before its retry loop sleeps;
    every other request on the client, and the last attempt of a write, are untouched.
    """
    if response.status_code == 503 and _QUICK_ATTEMPT.get():
        raise _BusyError


async def _quick_retries(client: PrefectClient, write: Callable[[], Awaitable[T]]) -> T:
    """``write`` tried again after ``QUICK_RETRY_PAUSES`` while answered 503, then with Prefect's retries."""
    # Prefect's client has no per-request retry setting; its httpx client's response hooks are
    # the seam (installed once per client; they act only where _QUICK_ATTEMPT is set).
    # That attribute is Prefect's, not a public API: where a Prefect release no longer has it, the
    # write goes straight to Prefect's own retries (slower on a busy SQLite, never wrong).
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if http is None or not isinstance(hooks, dict) or "response" not in hooks:
        return await write()
    if _raise_when_busy not in hooks["response"]:
        http.event_hooks = {**hooks, "response": [*hooks["response"], _raise_when_busy]}
    for pause in QUICK_RETRY_PAUSES:
        token = _QUICK_ATTEMPT.set(True)
        try:
            return await write()
        except _BusyError:
            pass
        finally:
            _QUICK_ATTEMPT.reset(token)
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not a secret
    return await write()
