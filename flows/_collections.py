"""``sync_collection``: make an IoC collection hold exactly a desired set of indicators.

Finding the collection by a stable name: VirusTotal has no documented "find my collection by
name" call. The flow keeps a Prefect Variable per stable name (``virustotal-collection-<hash>``,
value ``{"id", "name"}``) written when it creates or first finds the collection; with ``owner``
(the VirusTotal user id, never the key) it can also find it in ``GET /users/{owner}/collections``
(the user's ``collections`` relationship), e.g. on a fresh Prefect server. A value that is
itself a collection id is used directly.

Matching items: files by any of MD5/SHA-1/SHA-256 (listed objects carry all three when known),
URLs by a light canonical form (scheme and host lower-cased, ``/`` for an empty path, as
VirusTotal's canonical URLs look) or by the SHA-256 of that form, domains and IPs by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.variables import Variable
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import (
    COLLECTION_BATCH_SIZE,
    Indicator,
    InvalidIndicatorError,
    InvalidParameterError,
    extract_indicators,
    is_internal,
    parse_indicator,
    redact_all,
    redact_url_credentials,
)
from prefect_virustotal.client.models import (
    CollectionItemsUpdate,
    CollectionObject,
    Descriptor,
    VTObject,
)
from prefect_virustotal.core import (
    artifact_key,
    canonical_url,
    check_mass_removal,
    display_indicator,
    markdown_cell,
    read_text_file,
    unused_lines,
    url_page_id,
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

from ._enrich import EMULATED_BANNER

_ARTIFACT_LIST_CAP = 200
_VARIABLE_PREFIX = "virustotal-collection-"

Key = tuple[str, str]


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


def indicator_keys(indicator: Indicator) -> list[Key]:
    """The keys a desired indicator matches under (see the module docstring)."""
    if indicator.kind == "url":
        return [("url", canonical_url(indicator.value)), ("url", url_page_id(indicator.value))]
    return [(indicator.kind, indicator.id.lower())]


def item_keys(item: VTObject[Any]) -> list[Key]:
    """The keys a listed collection item answers to."""
    attributes = item.attributes
    keys: list[Key] = [(item.type, item.id.lower())]
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
    found: dict[Key, Indicator] = {}
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


def _variable_name(stable_name: str) -> str:
    return _VARIABLE_PREFIX + hashlib.sha256(stable_name.encode()).hexdigest()[:24]


async def _find(
    block: VirusTotalCredentials, collection: str, owner: str | None
) -> tuple[CollectionObject | None, bool]:
    """The collection named by a stable name or id, and whether it was found by id."""
    mapped = await Variable.aget(_variable_name(collection))
    if isinstance(mapped, dict) and isinstance(mapped.get("id"), str):
        remembered = await find_collection(mapped["id"], credentials=block)
        if remembered is not None:
            return remembered, False
        get_run_logger().warning("collection %s (%r) is gone; making it anew", mapped["id"], collection)
    if owner:
        for candidate in await list_user_collections(owner, credentials=block):
            if candidate.attributes.name == collection:
                return candidate, False
    # None: not an id (a malformed one costs no request), a stable name seen for the first time.
    by_id = await find_collection(collection, credentials=block)
    return by_id, by_id is not None


def _attribute_changes(
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
    owner: str | None = None,
    remove_missing: bool = True,
    batch_size: int = COLLECTION_BATCH_SIZE,
    allow_mass_removal: bool = False,
    send_internal: bool = False,
    own_domains: list[str] | None = None,
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
        credentials: a credentials block, or the name of a saved one.
        name: the collection's display name; by default the stable name (left alone when
            ``collection`` is an id).
        description: the description; None leaves it alone.
        tags: the tags; None leaves them alone.
        private: the private flag on creation and update; None leaves it alone.
        owner: your VirusTotal user id, to find the collection by name among yours when no
            Prefect Variable remembers it (never the API key).
        remove_missing: remove items that are not in the desired set.
        batch_size: indicators per add/remove request.
        allow_mass_removal: allow removing more than half of the collection, or all of it
            (refused by default: such a sync usually means the input was not what was meant).
        send_internal: also add internal addresses and names (private, loopback, link-local,
            multicast, reserved IPs; ``.local``, ``.internal``, ...); by default they are left
            out and listed as "internal, not sent".
        own_domains: the organisation's own domains, left out like internal names.

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

    current, by_id = await _find(block, collection, owner)
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
        held: dict[Key, VTObject[Any]] = {}
        for items in listed.items.values():
            for item in items:
                for key in item_keys(item):
                    held.setdefault(key, item)
        matched: set[tuple[str, str]] = set()
        to_add = []
        for indicator in desired:
            hit = next((held[k] for k in indicator_keys(indicator) if k in held), None)
            if hit is None:
                to_add.append(indicator)
            else:
                matched.add((hit.type, hit.id))
                unchanged += 1
        stale = [
            item for items in listed.items.values() for item in items if (item.type, item.id) not in matched
        ]
        if remove_missing:
            held_count = sum(len(items) for items in listed.items.values())
            check_mass_removal(held_count, len(stale), allow_mass_removal)
        if remove_missing and stale:
            update = await remove_collection_items(
                current.id,
                [Descriptor(type=item.type, id=item.id) for item in stale],
                batch_size=batch_size,
                credentials=block,
            )
            updates.append(update)
            removed = [_shown(item) for item in stale]
        changes = _attribute_changes(current, wanted_name, description, tags, private)
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
    if not by_id:
        await _remember(collection, current)

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
        markdown=_markdown(report),
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


async def _remember(stable_name: str, current: CollectionObject) -> None:
    """Map the stable name to the collection id in a Prefect Variable (when it changed)."""
    variable = _variable_name(stable_name)
    value = {"id": current.id, "name": stable_name}
    if await Variable.aget(variable) != value:
        await Variable.aset(variable, value, overwrite=True)


def _listing(title: str, values: list[str]) -> list[str]:
    lines = [f"### {title} ({len(values)})", ""]
    if not values:
        return [*lines, "_none_", ""]
    lines += [f"- `{display_indicator(None, value)}`" for value in values[:_ARTIFACT_LIST_CAP]]
    if len(values) > _ARTIFACT_LIST_CAP:
        lines.append(f"- ... and {len(values) - _ARTIFACT_LIST_CAP} more")
    return [*lines, ""]


def _markdown(report: CollectionSyncReport) -> str:
    lines = [f"## Collection [{markdown_cell(report.name)}]({report.link})", ""]
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
