"""``/collections``: IoC collections, their items and comments.

Items are files, URLs, domains and IP addresses, held in four relationships (``files``,
``urls``, ``domains``, ``ip_addresses``). They are sent as descriptors: ``{"type": "domain",
"id": ...}``, and URLs by URL (``{"type": "url", "url": ...}``) or, when only the id is known,
by id, as contract section 7 describes. Adding or removing many items is split into requests of
at most ``batch_size`` descriptors (``COLLECTION_BATCH_SIZE`` by default).

Retries: creating a collection is sent again only when the first request certainly, or verifiably
(the user's collections read back by name), did not create one; posting a comment is not retried
after a lost answer (a retry could make a second one). Adding items, removing items and updating
attributes are idempotent (adding an item twice, or setting a name twice, leaves the same
collection), so they are retried like reads and need no read-back.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._identifiers import (
    Indicator,
    parse_domain,
    parse_file_hash,
    parse_indicator,
    parse_ip,
    parse_url_identifier,
)
from ._lookups import _Area
from ._pagination import Paginator
from .models import Descriptor, VTObject
from .models._collections import (
    CollectionAttributes,
    CollectionItems,
    CollectionItemsUpdate,
    CollectionObject,
    CommentAttributes,
    CommentObject,
)
from .models._registry import parse_descriptor, parse_object

if TYPE_CHECKING:
    from ._core import WriteAttempt

logger = logging.getLogger(__name__)

COLLECTION_RELATIONSHIPS: tuple[str, ...] = ("domains", "files", "ip_addresses", "urls")
"""The relationships of a collection that hold its items."""

COLLECTION_BATCH_SIZE = 100
"""Descriptors per add/remove request. VirusTotal's limit is UNCONFIRMED; 100 is a cautious
guess well under what public clients send (the emulator refuses more than 200)."""

_READ_BACK_COLLECTIONS = 200
"""Collections of the user read back after a creation whose answer was lost."""
_KIND_TO_RELATIONSHIP = {"file": "files", "url": "urls", "domain": "domains", "ip_address": "ip_addresses"}
_COLLECTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

ItemInput = str | Indicator | Descriptor
"""An item to add or remove: an indicator string (any kind, defanged is fine), a parsed
``Indicator``, or a ``Descriptor`` (e.g. a URL known only by its SHA-256 id)."""


def check_collection_id(collection_id: str) -> str:
    """Validate a collection id (no request is made for a malformed one).

    Raises:
        InvalidParameterError: empty, too long, or not letters, digits, ``_``, ``.``, ``-``.
    """
    candidate = collection_id.strip() if isinstance(collection_id, str) else ""
    if not _COLLECTION_ID.fullmatch(candidate):
        raise InvalidParameterError(f"invalid collection id {collection_id!r}")
    return candidate


def _check_user_id(user_id: str) -> str:
    candidate = user_id.strip() if isinstance(user_id, str) else ""
    if not _USER_ID.fullmatch(candidate):
        raise InvalidParameterError("invalid user id (letters, digits, '_', '.', '@', '-')")
    return candidate


def _check_relationship(relationship: str) -> str:
    if relationship not in COLLECTION_RELATIONSHIPS:
        raise InvalidParameterError(
            f"unknown collection relationship {relationship!r}; "
            f"expected one of {', '.join(COLLECTION_RELATIONSHIPS)}"
        )
    return relationship


def _check_batch_size(batch_size: int) -> int:
    if not 1 <= batch_size <= 1000:
        raise InvalidParameterError("batch_size must be between 1 and 1000")
    return batch_size


def item_descriptor(item: ItemInput) -> tuple[str, dict[str, str], str]:
    """``(relationship, descriptor, shown)`` for one item, validated (no request).

    URLs are sent by URL; a URL ``Descriptor`` whose id is a SHA-256 (and that carries no
    ``context_attributes.url``) is sent by id.

    Raises:
        InvalidIndicatorError: the item is not a valid indicator.
        InvalidParameterError: a descriptor of a type collections cannot hold.
    """
    if isinstance(item, Descriptor):
        relationship = _KIND_TO_RELATIONSHIP.get(item.type)
        if relationship is None:
            raise InvalidParameterError(f"a collection cannot hold objects of type {item.type!r}")
        if item.type == "url":
            url = (item.context_attributes or {}).get("url")
            if isinstance(url, str) and url:
                return _indicator_descriptor(parse_indicator(url, "url"))
            # A SHA-256 or an unpadded URL id: both name the URL by id.
            ident = parse_url_identifier(item.id)
            return relationship, {"type": "url", "id": ident}, ident
        parser = {"file": parse_file_hash, "domain": parse_domain, "ip_address": parse_ip}[item.type]
        ident = parser(item.id)
        return relationship, {"type": item.type, "id": ident}, ident
    indicator = item if isinstance(item, Indicator) else parse_indicator(item)
    return _indicator_descriptor(indicator)


def _indicator_descriptor(indicator: Indicator) -> tuple[str, dict[str, str], str]:
    relationship = _KIND_TO_RELATIONSHIP[indicator.kind]
    if indicator.kind == "url":
        if _SHA256.fullmatch(indicator.id):
            return relationship, {"type": "url", "id": indicator.id.lower()}, indicator.value
        return relationship, {"type": "url", "url": indicator.value}, indicator.value
    return relationship, {"type": indicator.kind, "id": indicator.id}, indicator.value


def group_items(items: Iterable[ItemInput]) -> dict[str, list[tuple[dict[str, str], str]]]:
    """Validate every item and group the descriptors by relationship, duplicates dropped."""
    groups: dict[str, dict[str, tuple[dict[str, str], str]]] = {}
    for item in items:
        relationship, descriptor, shown = item_descriptor(item)
        key = descriptor.get("id") or descriptor.get("url", "")
        groups.setdefault(relationship, {}).setdefault(key, (descriptor, shown))
    return {rel: list(found.values()) for rel, found in groups.items()}


def _parse_collection(raw: Any) -> CollectionObject:
    try:
        return CollectionObject.model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed collection object", 200) from exc


def _parse_comment(raw: Any) -> CommentObject:
    try:
        return CommentObject.model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed comment object", 200) from exc


class Collections(_Area):
    """``/collections``: create, read, update and delete IoC collections, their items and comments."""

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        private: bool | None = None,
        items: Iterable[ItemInput] = (),
        raw_text: str | None = None,
        batch_size: int = COLLECTION_BATCH_SIZE,
    ) -> CollectionObject:
        """Create a collection (``POST /collections``), with items and/or raw text to parse.

        Up to ``batch_size`` items travel in the create request; the rest are added in batches
        afterwards. After a lost answer the user's collections are read back by name (see
        :meth:`find_created`); the request is sent again only if none was created.

        Raises:
            InvalidParameterError: no name, or a bad option (no request made).
            InvalidIndicatorError: an item is not a valid indicator (no request made).
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError("a collection needs a name")
        _check_batch_size(batch_size)
        groups = group_items(items)
        attributes = _attributes(name=name, description=description, tags=tags, private=private)
        first: dict[str, list[dict[str, str]]] = {}
        rest: list[tuple[str, dict[str, str], str]] = []
        room = batch_size
        for relationship, entries in groups.items():
            for descriptor, shown in entries:
                if room > 0:
                    first.setdefault(relationship, []).append(descriptor)
                    room -= 1
                else:
                    rest.append((relationship, descriptor, shown))
        data: dict[str, Any] = {"type": "collection", "attributes": attributes}
        if first:
            data["relationships"] = {rel: {"data": descriptors} for rel, descriptors in first.items()}
        if raw_text is not None:
            data["raw_items"] = raw_text
        wanted = attributes["name"]
        created = await self._client.write(
            "POST",
            "/collections",
            parse=lambda body: self._client.parse_single(body, CollectionAttributes, "/collections"),
            read_back=lambda attempt: self.find_created(attempt, wanted),
            what=f"collection {wanted!r}",
            json_body={"data": data},
        )
        if not rest:
            return created
        remainder: dict[str, list[tuple[dict[str, str], str]]] = {}
        for relationship, descriptor, shown in rest:
            remainder.setdefault(relationship, []).append((descriptor, shown))
        await self._send(created.id, "POST", remainder, batch_size)
        return await self.get(created.id)

    async def find_created(self, attempt: WriteAttempt, name: str) -> CollectionObject | None:
        """The collection a creation whose answer was lost made, or None if it made none.

        The key's own user, then that user's collections (``GET /users/{id}/collections``, at
        most ``_READ_BACK_COLLECTIONS``) with this name, created at or after the attempt in the
        service's time. The listing's order is UNCONFIRMED, so every page up to the cap is read.
        """
        owner = await self._client.users.own_id()
        listed = await self.list_of_user(owner, page_size=40, limit=_READ_BACK_COLLECTIONS).collect()
        since = attempt.began()
        for collection in reversed(listed):
            created = collection.attributes.creation_date
            if collection.attributes.name == name and created is not None and created.timestamp() >= since:
                return collection
        return None

    async def get(self, collection_id: str) -> CollectionObject:
        """One collection (``GET /collections/{id}``).

        Raises:
            NotFoundError: no such collection.
            ForbiddenError: a private collection of another user.
        """
        ident = check_collection_id(collection_id)
        return await self._client.get_object(f"/collections/{ident}", CollectionAttributes)

    async def update(
        self,
        collection_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        private: bool | None = None,
        raw_text: str | None = None,
    ) -> CollectionObject:
        """Change attributes and/or add the indicators found in raw text (``PATCH``).

        Only the arguments given are sent. ``private`` is sent as given; its write
        semantics on VirusTotal are UNCONFIRMED.

        Raises:
            InvalidParameterError: nothing to change, or an empty name (no request made).
            ForbiddenError: the collection belongs to another user.
        """
        ident = check_collection_id(collection_id)
        if name is not None and not name.strip():
            raise InvalidParameterError("a collection name cannot be empty")
        attributes = _attributes(name=name, description=description, tags=tags, private=private)
        if not attributes and raw_text is None:
            raise InvalidParameterError("nothing to update")
        data: dict[str, Any] = {"type": "collection", "id": ident, "attributes": attributes}
        if raw_text is not None:
            data["raw_items"] = raw_text
        path = f"/collections/{ident}"
        # Setting the same attributes twice, or adding the same items twice, changes nothing.
        body = await self._client.request_json("PATCH", path, json_body={"data": data}, idempotent=True)
        return self._client.parse_single(body, CollectionAttributes, path)

    async def delete(self, collection_id: str) -> None:
        """Delete a collection (owner only).

        Raises:
            ForbiddenError: the collection belongs to another user.
        """
        ident = check_collection_id(collection_id)
        await self._client.request("DELETE", f"/collections/{ident}")

    async def add_items(
        self, collection_id: str, items: Iterable[ItemInput], *, batch_size: int = COLLECTION_BATCH_SIZE
    ) -> CollectionItemsUpdate:
        """Add items, in batches (``POST /collections/{id}/{relationship}``).

        Every item is validated before the first request. Adding an item already there is
        harmless, so these requests are retried like reads.

        Raises:
            InvalidIndicatorError: an item is not a valid indicator (no request made).
            ForbiddenError: the collection belongs to another user.
        """
        ident = check_collection_id(collection_id)
        _check_batch_size(batch_size)
        return await self._send(ident, "POST", group_items(items), batch_size)

    async def remove_items(
        self, collection_id: str, items: Iterable[ItemInput], *, batch_size: int = COLLECTION_BATCH_SIZE
    ) -> CollectionItemsUpdate:
        """Remove items, in batches (``DELETE /collections/{id}/{relationship}`` with a JSON body).

        Raises:
            InvalidIndicatorError: an item is not a valid indicator (no request made).
            ForbiddenError: the collection belongs to another user.
        """
        ident = check_collection_id(collection_id)
        _check_batch_size(batch_size)
        return await self._send(ident, "DELETE", group_items(items), batch_size)

    async def _send(
        self,
        collection_id: str,
        method: str,
        groups: dict[str, list[tuple[dict[str, str], str]]],
        batch_size: int,
    ) -> CollectionItemsUpdate:
        """One request per batch of one relationship, in order."""
        update = CollectionItemsUpdate(
            collection_id=collection_id, operation="add" if method == "POST" else "remove"
        )
        for relationship, entries in groups.items():
            path = f"/collections/{collection_id}/{relationship}"
            for start in range(0, len(entries), batch_size):
                batch = entries[start : start + batch_size]
                await self._client.request(
                    method, path, json_body={"data": [d for d, _ in batch]}, idempotent=True
                )
                update.requests += 1
                update.items.setdefault(relationship, []).extend(shown for _, shown in batch)
                logger.debug("%s %d %s of collection %s", method, len(batch), relationship, collection_id)
        update.emulated = self._client.emulated
        return update

    def list_items(
        self,
        collection_id: str,
        relationship: str,
        *,
        descriptors_only: bool = False,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[Any]:
        """The items of one relationship, paged (full objects, or descriptors)."""
        ident = check_collection_id(collection_id)
        rel = _check_relationship(relationship)
        if descriptors_only:
            path = f"/collections/{ident}/relationships/{rel}"
            parse: Any = parse_descriptor
        else:
            path = f"/collections/{ident}/{rel}"
            parse = parse_object
        return self._client.paginate(path, parse, page_size=page_size, limit=limit, cursor=cursor)

    async def all_items(
        self,
        collection_id: str,
        relationships: Sequence[str] = COLLECTION_RELATIONSHIPS,
        *,
        page_size: int = 40,
    ) -> CollectionItems:
        """Every item of the given relationships (the four by default), read concurrently."""
        ident = check_collection_id(collection_id)
        names = [_check_relationship(r) for r in dict.fromkeys(relationships)]

        async def one(rel: str) -> list[VTObject[Any]]:
            return await self.list_items(ident, rel, page_size=page_size).collect()

        listed = await asyncio.gather(*(one(rel) for rel in names))
        return CollectionItems(
            collection_id=ident, items=dict(zip(names, listed, strict=True)), emulated=self._client.emulated
        )

    async def add_comment(self, collection_id: str, text: str) -> CommentObject:
        """Comment on a collection (``POST /collections/{id}/comments``); not retried.

        Raises:
            InvalidParameterError: an empty comment (no request made).
        """
        ident = check_collection_id(collection_id)
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError("a comment cannot be empty")
        path = f"/collections/{ident}/comments"
        body = {"data": {"type": "comment", "attributes": {"text": text}}}
        answer = await self._client.request_json("POST", path, json_body=body, idempotent=False)
        return self._client.parse_single(answer, CommentAttributes, path)

    def list_comments(
        self, collection_id: str, *, page_size: int = 40, limit: int | None = None, cursor: str | None = None
    ) -> Paginator[CommentObject]:
        """The comments on a collection, paged."""
        path = f"/collections/{check_collection_id(collection_id)}/comments"
        return self._client.paginate(path, _parse_comment, page_size=page_size, limit=limit, cursor=cursor)

    def list_of_user(
        self, user_id: str, *, page_size: int = 40, limit: int | None = None, cursor: str | None = None
    ) -> Paginator[CollectionObject]:
        """The collections of a user (``GET /users/{id}/collections``), paged.

        Pass the user id (the account name), never the API key: paths end up in logs.
        """
        path = f"/users/{_check_user_id(user_id)}/collections"
        return self._client.paginate(path, _parse_collection, page_size=page_size, limit=limit, cursor=cursor)


def _attributes(
    *, name: str | None, description: str | None, tags: Sequence[str] | None, private: bool | None
) -> dict[str, Any]:
    """The writable attributes given, checked."""
    out: dict[str, Any] = {}
    if name is not None:
        out["name"] = name.strip()
    if description is not None:
        out["description"] = description
    if tags is not None:
        if isinstance(tags, str) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise InvalidParameterError("tags must be a list of non-empty strings")
        out["tags"] = list(dict.fromkeys(t.strip() for t in tags))
    if private is not None:
        out["private"] = bool(private)
    return out
