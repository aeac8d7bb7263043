"""The Prefect side of the checkpoint store: one Prefect Variable per checkpoint.

The interface, the naming scheme and the size cap are the core's (``prefect_virustotal.core``);
this is the one place that writes Variables for the pack's flows.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.actions import VariableCreate, VariableUpdate
from prefect.client.utilities import get_or_create_client
from prefect.exceptions import ObjectAlreadyExists, PrefectHTTPStatusError
from prefect.variables import Variable

from prefect_virustotal.core import ensure_checkpoint_fits


class VariableCheckpointStore:
    """Checkpoints as Prefect Variables, the store every flow uses by default.

    A save is one request (an update; the Variable is created the first time only), where
    ``Variable.aset(overwrite=True)`` sends three: read, update, read back. A name this store
    has just loaded and found absent is created straight away (no update answered 404 first).
    Values over the core's cap are refused before any request.

    Example:
        ```python
        store = VariableCheckpointStore()
        await store.save(checkpoint_name("retrohunt", "finished"), {"announced": []})
        ```
    """

    def __init__(self) -> None:
        self._absent: set[str] = set()

    async def load(self, name: str) -> Any:
        """The Variable's value; None when there is no Variable ``name``."""
        value = await Variable.aget(name)
        if value is None:
            self._absent.add(name)
        return value

    async def save(self, name: str, value: Any) -> None:
        """Create or overwrite the Variable ``name`` with ``value``."""
        ensure_checkpoint_fits(name, value)
        client, _ = get_or_create_client()
        if name in self._absent:
            # Known absent a moment ago: create it (one request); if another run did meanwhile, update.
            self._absent.discard(name)
            try:
                await client.create_variable(VariableCreate(name=name, value=value))
                return
            except ObjectAlreadyExists:
                pass
        try:
            await client.update_variable(VariableUpdate(name=name, value=value))
            return
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 404:
                raise
        try:
            await client.create_variable(VariableCreate(name=name, value=value))
        except ObjectAlreadyExists:  # created meanwhile by another run: overwrite it
            await client.update_variable(VariableUpdate(name=name, value=value))

    async def clear(self, name: str) -> None:
        """Delete the Variable ``name`` if it exists."""
        self._absent.discard(name)
        await Variable.aunset(name)
