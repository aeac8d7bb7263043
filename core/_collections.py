"""Collection sync, the Prefect-free part: the desired set, canonical item keys, the diff, the report.

``sync_collection`` (a flow) reads a collection's items and writes through tasks; what to add,
what to remove and what to say about it is decided here, so that it can be tested on plain data.

Matching items: files by any of MD5/SHA-1/SHA-256 (listed objects carry all three when known),
URLs by a light canonical form (scheme and host lower-cased, ``/`` for an empty path, as
VirusTotal's canonical URLs look) or by the SHA-256 of that form, domains and IPs by id.

A stable name (``IR-2041``) is remembered in a checkpoint named after a hash of it
(:func:`collection_checkpoint`), whose value is ``{"id", "name"}``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from prefect_virustotal.client import (
    COLLECTION_BATCH_SIZE,
    Indicator,
    InvalidIndicatorError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
    extract_indicators,
    is_internal,
    parse_indicator,
    redact_all,
    redact_url_credentials,
)
from prefect_virustotal.client.models import (
    CollectionItems,
    CollectionItemsUpdate,
    CollectionObject,
    Descriptor,
    VTObject,
)

from ._checkpoints import CheckpointStore, checkpoint_name
from ._display import (
    EMULATED_BANNER,
    canonical_url,
    defang,
    defang_text,
    markdown_link,
    url_page_id,
    vt_link,
)
from ._safety import check_mass_removal, escape_control, read_text_file, unused_lines

logger = logging.getLogger(__name__)

CollectionKey = tuple[str, str]
"""How an item is matched: (object type, canonical value)."""

_ARTIFACT_LIST_CAP = 200


class CollectionSyncReport(BaseModel):
    """What ``sync_collection`` did.

    Attributes:
        collection_id: the collection.
        name: its name after the sync.
        link: its page on virustotal.com.
        created: the collection did not exist and was created.
        added: indicators added (as given).
        removed: items removed (URLs as URLs when known, else ids).
        unchanged: desired indicators that were already there.
        invalid: inputs that are not indicators (skipped).
        updated_attributes: attributes changed (name, description, tags, private).
        emulated: the answers came from the pack's emulator: they are fiction.
    """

    collection_id: str
    name: str
    link: str
    created: bool = False
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: int = 0
    invalid: list[str] = Field(default_factory=list)
    updated_attributes: list[str] = Field(default_factory=list)
    emulated: bool = False

    @property
    def changed(self) -> bool:
        """True when the sync wrote anything."""
        return bool(self.created or self.added or self.removed or self.updated_attributes)


@dataclass
class CollectionPlan:
    """What a sync has to write to make a collection hold the desired set.

    Attributes:
        to_add: desired indicators the collection does not hold, in input order.
        to_remove: held items that are not desired (empty unless removal was asked for).
        unchanged: desired indicators already held.
    """

    to_add: list[Indicator] = field(default_factory=list)
    to_remove: list[VTObject[Any]] = field(default_factory=list)
    unchanged: int = 0

    def removal_descriptors(self) -> list[Descriptor]:
        """The items to remove, as the API's descriptors."""
        return [Descriptor(type=item.type, id=item.id) for item in self.to_remove]

    def removed_shown(self) -> list[str]:
        """The items to remove as a person knows them: URLs as URLs when known, else ids."""
        return [_shown(item) for item in self.to_remove]


def collection_checkpoint(stable_name: str) -> str:
    """The checkpoint remembering which collection a stable name stands for."""
    return checkpoint_name("collection", hashlib.sha256(stable_name.encode()).hexdigest()[:24])


def indicator_keys(indicator: Indicator) -> list[CollectionKey]:
    """The keys a desired indicator matches under (see the module docstring)."""
    if indicator.kind == "url":
        return [("url", canonical_url(indicator.value)), ("url", url_page_id(indicator.value))]
    return [(indicator.kind, indicator.id.lower())]


def item_keys(item: VTObject[Any]) -> list[CollectionKey]:
    """The keys a listed collection item answers to."""
    attributes = item.attributes
    keys: list[CollectionKey] = [(item.type, item.id.lower())]
    if item.type == "file":
        for name in ("md5", "sha1", "sha256"):
            value = getattr(attributes, name, None)
            if isinstance(value, str) and value:
                keys.append(("file", value.lower()))
    elif item.type == "url":
        url = getattr(attributes, "url", None) or (item.context_attributes or {}).get("url")
        if isinstance(url, str) and url:
            keys.append(("url", canonical_url(url)))
    return keys


def _shown(item: VTObject[Any]) -> str:
    url = getattr(item.attributes, "url", None) if item.type == "url" else None
    return url if isinstance(url, str) and url else item.id


def desired_indicators(
    indicators: Sequence[str] | None, text: str | None, path: str | None
) -> tuple[list[Indicator], list[str]]:
    """Validated indicators from a list, free text and a file, in order and once each; and the
    entries and lines that gave no indicator, by value (credentials in URLs removed).

    Raises:
        InvalidParameterError: the file is missing, not a regular file, too large or not text.
    """
    found: dict[CollectionKey, Indicator] = {}
    invalid: list[str] = []
    for raw in redact_all(indicators or [])[0]:
        try:
            indicator = parse_indicator(raw)
        except InvalidIndicatorError:
            invalid.append(raw)
            continue
        found.setdefault(indicator_keys(indicator)[0], indicator)
    texts = [text] if text else []
    if path:
        texts.append(read_text_file(path, "indicator file"))
    for chunk in texts:
        chunk = redact_url_credentials(chunk)[0]
        invalid += unused_lines(chunk)
        for indicator in extract_indicators(chunk):
            found.setdefault(indicator_keys(indicator)[0], indicator)
    return list(found.values()), invalid


def plan_collection_sync(
    desired: Sequence[Indicator],
    listed: CollectionItems,
    *,
    remove_missing: bool,
    allow_mass_removal: bool,
) -> CollectionPlan:
    """Diff the desired indicators against what a collection holds.

    An item held under any of its keys (a file by MD5, SHA-1 or SHA-256; a URL by its
    canonical form or its page id) counts as the desired indicator, once.

    Raises:
        InvalidParameterError: removal was asked for and would take more than half of the
            collection, or all of it, without ``allow_mass_removal``.
    """
    held: dict[CollectionKey, VTObject[Any]] = {}
    for items in listed.items.values():
        for item in items:
            for key in item_keys(item):
                held.setdefault(key, item)
    plan = CollectionPlan()
    matched: set[CollectionKey] = set()
    for indicator in desired:
        hit = next((held[k] for k in indicator_keys(indicator) if k in held), None)
        if hit is None:
            plan.to_add.append(indicator)
        else:
            matched.add((hit.type, hit.id))
            plan.unchanged += 1
    if remove_missing:
        plan.to_remove = [
            item for items in listed.items.values() for item in items if (item.type, item.id) not in matched
        ]
        check_mass_removal(listed.count, len(plan.to_remove), allow_mass_removal)
    return plan


def collection_attribute_changes(
    current: CollectionObject,
    name: str | None,
    description: str | None,
    tags: Sequence[str] | None,
    private: bool | None,
) -> dict[str, Any]:
    """The attributes that differ from what is wanted (None means "leave alone")."""
    attributes = current.attributes
    changes: dict[str, Any] = {}
    if name is not None and attributes.name != name:
        changes["name"] = name
    if description is not None and (attributes.description or "") != description:
        changes["description"] = description
    if tags is not None and set(attributes.tags) != set(tags):
        changes["tags"] = list(dict.fromkeys(tags))
    if private is not None and attributes.private is not None and attributes.private != private:
        changes["private"] = private
    return changes


def _listing(title: str, values: list[str]) -> list[str]:
    lines = [f"### {title} ({len(values)})", ""]
    if not values:
        return [*lines, "_none_", ""]
    # Whole hashes, unlike the tables' shortened ones: whoever audits a collection's change needs
    # the exact file (a hash is never live); everything else defanged.
    lines += [f"- `{escape_control(defang(value))}`" for value in values[:_ARTIFACT_LIST_CAP]]
    if len(values) > _ARTIFACT_LIST_CAP:
        lines.append(f"- ... and {len(values) - _ARTIFACT_LIST_CAP} more")
    return [*lines, ""]


def collection_sync_markdown(report: CollectionSyncReport) -> str:
    """The sync's artifact: counts, then what was added, removed and not used, defanged."""
    # The name is the user's or VirusTotal's text: defanged, so that a URL in it is never live.
    title = markdown_link(defang_text(report.name), vt_link("collection", report.collection_id))
    lines = [f"## Collection {title}", ""]
    if report.emulated:
        lines += [f"**{EMULATED_BANNER}**", ""]
    lines += [
        f"- id: `{report.collection_id}`",
        f"- created: {'yes' if report.created else 'no'}",
        f"- added: {len(report.added)}, removed: {len(report.removed)}, unchanged: {report.unchanged}",
        f"- attributes updated: {', '.join(report.updated_attributes) or 'none'}",
    ]
    if report.invalid:
        lines.append(f"- skipped (not indicators): {len(report.invalid)}")
    lines.append("")
    lines += _listing("Added", report.added)
    lines += _listing("Removed", report.removed)
    if report.invalid:
        lines += _listing("Not used (not indicators)", report.invalid)
    return "\n".join(lines)


class CollectionSteps(Protocol):
    """The requests a collection sync is made of; each is one client call (or one task)."""

    async def find(self, collection_id: str) -> CollectionObject | None:
        """The collection with this id; None when there is none (a malformed id names none)."""
        ...

    async def list_of_user(self, user_id: str) -> list[CollectionObject]:
        """The user's collections (the user id, never the key)."""
        ...

    async def create(
        self, name: str, *, description: str | None, tags: Sequence[str] | None, private: bool | None
    ) -> CollectionObject:
        """Create an empty collection."""
        ...

    async def list_items(self, collection_id: str) -> CollectionItems:
        """Every item the collection holds."""
        ...

    async def add(self, collection_id: str, values: list[str], *, batch_size: int) -> CollectionItemsUpdate:
        """Add indicators, in batches."""
        ...

    async def remove(
        self, collection_id: str, items: list[Descriptor], *, batch_size: int
    ) -> CollectionItemsUpdate:
        """Remove items, in batches."""
        ...

    async def update(self, collection_id: str, changes: dict[str, Any]) -> CollectionObject:
        """Change attributes (``collection_attribute_changes``)."""
        ...


@dataclass
class ClientCollectionSteps:
    """A collection sync's steps as direct client calls: no Prefect (the command line, scripts).

    Example:
        ```python
        async with VirusTotalClient(key) as vt:
            report = await run_collection_sync("IR-2041", ClientCollectionSteps(vt), store, text=ticket)
        ```
    """

    vt: VirusTotalClient

    async def find(self, collection_id: str) -> CollectionObject | None:
        """``GET /collections/{id}``; None for no such collection (or an id that cannot be one)."""
        try:
            return await self.vt.collections.get(collection_id)
        except (NotFoundError, InvalidParameterError):
            return None

    async def list_of_user(self, user_id: str) -> list[CollectionObject]:
        """See ``Collections.list_of_user``."""
        return await self.vt.collections.list_of_user(user_id).collect()

    async def create(
        self, name: str, *, description: str | None, tags: Sequence[str] | None, private: bool | None
    ) -> CollectionObject:
        """See ``Collections.create``."""
        return await self.vt.collections.create(name, description=description, tags=tags, private=private)

    async def list_items(self, collection_id: str) -> CollectionItems:
        """See ``Collections.all_items``."""
        return await self.vt.collections.all_items(collection_id)

    async def add(self, collection_id: str, values: list[str], *, batch_size: int) -> CollectionItemsUpdate:
        """See ``Collections.add_items``."""
        return await self.vt.collections.add_items(collection_id, values, batch_size=batch_size)

    async def remove(
        self, collection_id: str, items: list[Descriptor], *, batch_size: int
    ) -> CollectionItemsUpdate:
        """See ``Collections.remove_items``."""
        return await self.vt.collections.remove_items(collection_id, items, batch_size=batch_size)

    async def update(self, collection_id: str, changes: dict[str, Any]) -> CollectionObject:
        """See ``Collections.update``."""
        return await self.vt.collections.update(collection_id, **changes)


async def _find_collection(
    steps: CollectionSteps,
    collection: str,
    user_id: str | None,
    mapped: object,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> tuple[CollectionObject | None, bool]:
    """The collection named by a stable name or id (``mapped``: what its checkpoint remembers),
    and whether it was found by id."""
    if isinstance(mapped, dict) and isinstance(mapped.get("id"), str):
        remembered = await steps.find(mapped["id"])
        if remembered is not None:
            return remembered, False
        log.warning("collection %s (%r) is gone; making it anew", mapped["id"], collection)
    if user_id:
        for candidate in await steps.list_of_user(user_id):
            if candidate.attributes.name == collection:
                return candidate, False
    # None: not an id (a malformed one costs no request), a stable name seen for the first time.
    by_id = await steps.find(collection)
    return by_id, by_id is not None


async def run_collection_sync(
    collection: str,
    steps: CollectionSteps,
    store: CheckpointStore,
    *,
    indicators: Sequence[str] | None = None,
    text: str | None = None,
    path: str | None = None,
    name: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    private: bool | None = None,
    user_id: str | None = None,
    remove_missing: bool = True,
    batch_size: int = COLLECTION_BATCH_SIZE,
    allow_mass_removal: bool = False,
    send_internal: bool = False,
    own_domains: Sequence[str] | None = None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
) -> CollectionSyncReport:
    """Make a collection hold the desired indicators: validate, find or create, diff, write.

    What ``sync_collection`` (the flow) does, over :class:`CollectionSteps`
    (:class:`ClientCollectionSteps`, or the flow's tasks); the flow's docstring says what each
    argument means. Checkpoint traffic: one load, and one save when the stable name's
    collection changed.

    Raises:
        InvalidParameterError: no input, an unreadable file, no indicator at all (nothing is
            changed), or a mass removal without ``allow_mass_removal``.
    """
    if indicators is None and text is None and path is None:
        raise InvalidParameterError("give indicators, text or a path to sync from")
    desired, invalid = desired_indicators(indicators, text, path)
    # Internal addresses and names are never added (that would tell VirusTotal about the
    # network); one already in the collection still counts as wanted, so it is not removed.
    inside = [] if send_internal else [i for i in desired if is_internal(i, list(own_domains or []))]
    invalid += [f"{i.value} (internal, not sent)" for i in inside]
    if invalid:
        log.warning("%d entries are not indicators and are skipped: %s", len(invalid), invalid[:20])
    if not desired:
        # An empty, binary or mistyped input must never read as "the collection should be empty".
        raise InvalidParameterError(
            "no valid indicator in the input; nothing was changed"
            + (f" (not indicators: {', '.join(repr(v) for v in invalid[:5])})" if invalid else "")
        )

    checkpoint = collection_checkpoint(collection)
    mapped = await store.load(checkpoint)
    current, by_id = await _find_collection(steps, collection, user_id, mapped, log)
    wanted_name = name if name is not None else (None if by_id else collection)
    updates: list[CollectionItemsUpdate] = []
    created = False
    removed: list[str] = []
    unchanged = 0
    changed_attributes: list[str] = []
    emulated = False
    if current is None:
        current = await steps.create(
            wanted_name or collection, description=description, tags=tags, private=private
        )
        created = True
        to_add = desired
    else:
        listed = await steps.list_items(current.id)
        emulated = listed.emulated
        plan = plan_collection_sync(
            desired, listed, remove_missing=remove_missing, allow_mass_removal=allow_mass_removal
        )
        to_add, unchanged = plan.to_add, plan.unchanged
        if plan.to_remove:
            updates.append(await steps.remove(current.id, plan.removal_descriptors(), batch_size=batch_size))
            removed = plan.removed_shown()
        changes = collection_attribute_changes(current, wanted_name, description, tags, private)
        if changes:
            current = await steps.update(current.id, changes)
            changed_attributes = sorted(changes)
    to_add = [i for i in to_add if i not in inside]
    if to_add:
        updates.append(await steps.add(current.id, [i.value for i in to_add], batch_size=batch_size))
    # Remember which collection the stable name stands for (written only when it changed).
    if not by_id and mapped != (remembered := {"id": current.id, "name": collection}):
        await store.save(checkpoint, remembered)
    return CollectionSyncReport(
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
