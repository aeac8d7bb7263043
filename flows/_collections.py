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

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import COLLECTION_BATCH_SIZE, InvalidParameterError, is_internal
from prefect_virustotal.client.models import CollectionItemsUpdate, CollectionObject
from prefect_virustotal.core import (
    EMULATED_BANNER,
    CheckpointStore,
    CollectionSyncReport,
    artifact_key,
    collection_attribute_changes,
    collection_checkpoint,
    collection_sync_markdown,
    desired_indicators,
    plan_collection_sync,
    vt_link,
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


async def _find(
    block: VirusTotalCredentials, collection: str, user_id: str | None, mapped: object
) -> tuple[CollectionObject | None, bool]:
    """The collection named by a stable name or id (``mapped``: what its checkpoint remembers),
    and whether it was found by id."""
    if isinstance(mapped, dict) and isinstance(mapped.get("id"), str):
        remembered = await find_collection(mapped["id"], credentials=block)
        if remembered is not None:
            return remembered, False
        get_run_logger().warning("collection %s (%r) is gone; making it anew", mapped["id"], collection)
    if user_id:
        for candidate in await list_user_collections(user_id, credentials=block):
            if candidate.attributes.name == collection:
                return candidate, False
    # None: not an id (a malformed one costs no request), a stable name seen for the first time.
    by_id = await find_collection(collection, credentials=block)
    return by_id, by_id is not None


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
    if indicators is None and text is None and path is None:
        raise InvalidParameterError("give indicators, text or a path to sync from")
    desired, invalid = desired_indicators(indicators, text, path)
    # Internal addresses and names are never added (that would tell VirusTotal about the
    # network); one already in the collection still counts as wanted, so it is not removed.
    inside = [] if send_internal else [i for i in desired if is_internal(i, own_domains or [])]
    invalid += [f"{i.value} (internal, not sent)" for i in inside]
    if invalid:
        logger.warning("%d entries are not indicators and are skipped: %s", len(invalid), invalid[:20])
    if not desired:
        # An empty, binary or mistyped input must never read as "the collection should be empty".
        raise InvalidParameterError(
            "no valid indicator in the input; nothing was changed"
            + (f" (not indicators: {', '.join(repr(v) for v in invalid[:5])})" if invalid else "")
        )

    store = checkpoints if checkpoints is not None else VariableCheckpointStore()
    checkpoint = collection_checkpoint(collection)
    mapped = await store.load(checkpoint)
    current, by_id = await _find(block, collection, user_id, mapped)
    wanted_name = name if name is not None else (None if by_id else collection)
    updates: list[CollectionItemsUpdate] = []
    created = False
    removed: list[str] = []
    unchanged = 0
    changed_attributes: list[str] = []
    emulated = False
    if current is None:
        current = await create_collection(
            wanted_name or collection, description=description, tags=tags, private=private, credentials=block
        )
        created = True
        to_add = desired
    else:
        listed = await list_collection_items(current.id, credentials=block)
        emulated = listed.emulated
        plan = plan_collection_sync(
            desired, listed, remove_missing=remove_missing, allow_mass_removal=allow_mass_removal
        )
        to_add, unchanged = plan.to_add, plan.unchanged
        if plan.to_remove:
            updates.append(
                await remove_collection_items(
                    current.id, plan.removal_descriptors(), batch_size=batch_size, credentials=block
                )
            )
            removed = plan.removed_shown()
        changes = collection_attribute_changes(current, wanted_name, description, tags, private)
        if changes:
            current = await update_collection(current.id, **changes, credentials=block)
            changed_attributes = sorted(changes)
    to_add = [i for i in to_add if i not in inside]
    if to_add:
        updates.append(
            await add_collection_items(
                current.id, [i.value for i in to_add], batch_size=batch_size, credentials=block
            )
        )
    # Remember which collection the stable name stands for (written only when it changed).
    if not by_id and mapped != (remembered := {"id": current.id, "name": collection}):
        await store.save(checkpoint, remembered)

    report = CollectionSyncReport(
        collection_id=current.id,
        name=current.attributes.name,
        link=current.attributes.link or vt_link("collection", current.id),
        created=created,
        added=[i.value for i in to_add],
        removed=removed,
        unchanged=unchanged,
        invalid=invalid,
        updated_attributes=changed_attributes,
        emulated=emulated or any(u.emulated for u in updates),
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
        "created, " if created else "",
        len(report.added),
        len(report.removed),
        report.unchanged,
        report.updated_attributes or "unchanged",
    )
    return report
