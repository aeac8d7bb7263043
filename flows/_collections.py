"""``sync_collection``: make an IoC collection hold exactly a desired set of indicators.

Finding the collection by a stable name: VirusTotal has no documented "find my collection by
name" call. The flow keeps a checkpoint per stable name (``virustotal-collection-<hash>``, value
``{"id", "name"}``; a Prefect Variable by default) written when it creates or first finds the
collection; with ``user_id`` (the VirusTotal user id, never the key) it can also find it in
``GET /users/{user_id}/collections`` (the user's ``collections`` relationship), e.g. on a fresh
Prefect server. A value that is itself a collection id is used directly.

What to add and remove, and the report, are the core's (``prefect_virustotal.core``); this flow
reads and writes through tasks and keeps the Prefect state: the checkpoint, the artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import COLLECTION_BATCH_SIZE
from prefect_virustotal.client.models import (
    CollectionItems,
    CollectionItemsUpdate,
    CollectionObject,
    Descriptor,
)
from prefect_virustotal.core import (
    EMULATED_BANNER,
    CheckpointStore,
    CollectionSyncReport,
    artifact_key,
    collection_sync_markdown,
    run_collection_sync,
)
from prefect_virustotal.tasks import (
    add_collection_items,
    create_collection,
    find_collection,
    list_collection_items,
    list_user_collections,
    remove_collection_items,
    update_collection,
)

from ._checkpoints import VariableCheckpointStore


class _TaskSteps:
    """The core's collection-sync steps as Prefect tasks: one task run per request step."""

    def __init__(self, block: VirusTotalCredentials) -> None:
        self.block = block

    async def find(self, collection_id: str) -> CollectionObject | None:
        return await find_collection(collection_id, credentials=self.block)

    async def list_of_user(self, user_id: str) -> list[CollectionObject]:
        return await list_user_collections(user_id, credentials=self.block)

    async def create(
        self, name: str, *, description: str | None, tags: Sequence[str] | None, private: bool | None
    ) -> CollectionObject:
        return await create_collection(
            name, description=description, tags=tags, private=private, credentials=self.block
        )

    async def list_items(self, collection_id: str) -> CollectionItems:
        return await list_collection_items(collection_id, credentials=self.block)

    async def add(self, collection_id: str, values: list[str], *, batch_size: int) -> CollectionItemsUpdate:
        return await add_collection_items(
            collection_id, values, batch_size=batch_size, credentials=self.block
        )

    async def remove(
        self, collection_id: str, items: list[Descriptor], *, batch_size: int
    ) -> CollectionItemsUpdate:
        return await remove_collection_items(
            collection_id, items, batch_size=batch_size, credentials=self.block
        )

    async def update(self, collection_id: str, changes: dict[str, Any]) -> CollectionObject:
        # Only what changed: an attribute left out (None) is left alone.
        return await update_collection(
            collection_id,
            name=changes.get("name"),
            description=changes.get("description"),
            tags=changes.get("tags"),
            private=changes.get("private"),
            credentials=self.block,
        )


@flow(name="virustotal-sync-collection", log_prints=False)
async def sync_collection(
    collection: str,
    indicators: list[str] | None = None,
    text: str | None = None,
    path: str | None = None,
    name: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    private: bool | None = None,
    user_id: str | None = None,
    remove_missing: bool = True,
    batch_size: int = COLLECTION_BATCH_SIZE,
    allow_mass_removal: bool = False,
    send_internal: bool = False,
    own_domains: list[str] | None = None,
    checkpoints: CheckpointStore | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> CollectionSyncReport:
    """Make an IoC collection hold exactly the given indicators; create it if missing.

    The desired set comes from a list, free text and/or a file (indicators are extracted
    and refanged). The flow reads what the collection holds, adds what is missing and
    removes what is not wanted, in batches, and updates name, description and tags. It is
    idempotent: a second run with the same input makes no write request.

    Args:
        collection: a stable name (the collection is found again by it) or a collection id.
        indicators: indicators, one per item (any kind, defanged is fine).
        text: free text to extract indicators from.
        path: a file whose text holds the indicators (one per line, or prose).
        name: the collection's display name; by default the stable name (left alone when
            ``collection`` is an id).
        description: the description; None leaves it alone.
        tags: the tags; None leaves them alone.
        private: the private flag on creation and update; None leaves it alone.
        user_id: your VirusTotal user id, to find the collection by name among yours when no
            Prefect Variable remembers it (never the API key).
        remove_missing: remove items that are not in the desired set.
        batch_size: indicators per add/remove request.
        allow_mass_removal: allow removing more than half of the collection, or all of it
            (refused by default: such a sync usually means the input was not what was meant).
        send_internal: also add internal addresses and names (private, loopback, link-local,
            multicast, reserved IPs; ``.local``, ``.internal``, ...); by default they are left
            out and listed as "internal, not sent".
        own_domains: the organisation's own domains, left out like internal names.
        checkpoints: where the stable name's collection id is remembered (Prefect Variables
            by default; ``core.MemoryCheckpointStore`` for a rehearsal that leaves none).
        credentials: a credentials block, or the name of a saved one.

    Returns:
        What was added, removed and updated, and the collection's link.

    Raises:
        InvalidParameterError: no input was given, the file could not be read as text, no
            entry was an indicator, or the sync would remove more than half of the collection
            without ``allow_mass_removal`` (nothing is changed on a bad input).
        ForbiddenError: the collection belongs to another user.

    Example:
        ```python
        report = await sync_collection("IR-2041", text=ticket_text, tags=["ir-2041"])
        ```
    """
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    # Validate, find or create, diff and write: the core's engine, each request a task.
    report = await run_collection_sync(
        collection,
        _TaskSteps(block),
        checkpoints if checkpoints is not None else VariableCheckpointStore(),
        indicators=indicators,
        text=text,
        path=path,
        name=name,
        description=description,
        tags=tags,
        private=private,
        user_id=user_id,
        remove_missing=remove_missing,
        batch_size=batch_size,
        allow_mass_removal=allow_mass_removal,
        send_internal=send_internal,
        own_domains=own_domains,
        log=logger,
    )
    state = "created" if report.created else "synchronised"
    notice = f"\n\n**{EMULATED_BANNER}**" if report.emulated else ""
    await acreate_markdown_artifact(
        key=artifact_key("collection", collection),
        markdown=collection_sync_markdown(report),
        description=f"VirusTotal collection {report.name} {state}: {len(report.added)} added, "
        f"{len(report.removed)} removed.{notice}",
    )
    if report.emulated:
        logger.warning(EMULATED_BANNER)
    logger.info(
        "collection %s: %s%d added, %d removed, %d unchanged, attributes %s",
        report.collection_id,
        "created, " if report.created else "",
        len(report.added),
        len(report.removed),
        report.unchanged,
        report.updated_attributes or "unchanged",
    )
    return report
