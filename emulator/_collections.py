"""IoC collections: their state, their items, comments and followers.

A collection belongs to the user (``ApiKey.owner``) whose key created it; only that user may
change or delete it. Items are files, URLs, domains and IP addresses, kept per relationship
(``files``, ``urls``, ``domains``, ``ip_addresses``) in insertion order; they need not exist in
the world (VirusTotal scans whatever is added). Adding items to a collection that other users
follow puts one IoC Stream entry (origin ``subscriptions``) per new item in each follower's
stream, through the emulator's one ``NotificationStore``. Removals and attribute edits notify
nobody: the IoC Stream reports new indicators (a guess; the contract does not say).

Raw text (``raw_items``) is parsed by this module's own small extractor: the emulator shares no
code with the client, so that a mistake in one cannot hide behind the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._clock import EmulatorClock
from ._errors import ApiError
from ._notifications import NotificationStore
from ._world import World, canonical_url

__all__ = [
    "ITEM_RELATIONSHIPS",
    "MAX_ITEMS_PER_REQUEST",
    "Collection",
    "CollectionComment",
    "CollectionItem",
    "CollectionStore",
    "extract_raw_items",
]

#: Relationship name -> object type of the items it holds.
ITEM_RELATIONSHIPS: Mapping[str, str] = {
    "domains": "domain",
    "files": "file",
    "ip_addresses": "ip_address",
    "urls": "url",
}
_RELATIONSHIP_OF = {kind: rel for rel, kind in ITEM_RELATIONSHIPS.items()}

#: Largest number of descriptors one request may carry. VirusTotal's real limit is
#: UNCONFIRMED; the emulator refuses bigger batches (400) so that client batching is exercised.
MAX_ITEMS_PER_REQUEST = 200

_HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DOMAIN = re.compile(r"(?=.{4,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}")
_HASH_KEYS = {32: "md5", 40: "sha1", 64: "sha256"}


@dataclass
class CollectionItem:
    """One item: its type, canonical id and, for URLs, the URL itself."""

    kind: str
    id: str
    url: str | None = None


@dataclass
class CollectionComment:
    """A comment on a collection."""

    id: str
    author: str
    date: int
    text: str


@dataclass
class Collection:
    """One IoC collection (``type: collection``)."""

    id: str
    owner: str
    name: str
    description: str
    creation_date: int
    last_modification_date: int
    tags: list[str] = field(default_factory=list)
    private: bool = False
    items: dict[str, dict[str, CollectionItem]] = field(
        default_factory=lambda: {rel: {} for rel in ITEM_RELATIONSHIPS}
    )
    comments: list[CollectionComment] = field(default_factory=list)
    followers: set[str] = field(default_factory=set)

    def count(self, relationship: str) -> int:
        """Items held in one relationship."""
        return len(self.items[relationship])


def _refang(text: str) -> str:
    text = re.sub(r"\bhxxp", "http", text, flags=re.IGNORECASE)
    return re.sub(r"\[\.\]|\(\.\)|\[dot\]", ".", text, flags=re.IGNORECASE)


_RAW_TOKEN = re.compile(r"[^\s<>\"'`,;|()]+")


def extract_raw_items(text: str) -> list[tuple[str, dict[str, str]]]:
    """Indicators in free text as ``(relationship, descriptor)`` pairs, in order, once each.

    Recognises hashes, ``http(s)``/``ftp`` URLs, IPv4/IPv6 addresses and domain names,
    refanging ``hxxp`` and ``[.]`` first. Deliberately simple: it is the emulator's stand-in for
    VirusTotal's server-side parser, whose exact rules are unknown.
    """
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for match in _RAW_TOKEN.finditer(_refang(text)):
        token = match.group(0).strip(".,:!?]}[{")
        low = token.lower()
        if _HASH.fullmatch(low):
            seen.setdefault(("files", low), {"type": "file", "id": low})
        elif re.match(r"(?:https?|ftp)://", low):
            seen.setdefault(("urls", canonical_url(token)), {"type": "url", "url": token})
        elif _ip(token) is not None:
            address = str(_ip(token))
            seen.setdefault(("ip_addresses", address), {"type": "ip_address", "id": address})
        elif _DOMAIN.fullmatch(low):
            seen.setdefault(("domains", low), {"type": "domain", "id": low})
    return [(rel, descriptor) for (rel, _), descriptor in seen.items()]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _bad(message: str) -> ApiError:
    return ApiError("InvalidArgumentError", message)


class CollectionStore:
    """Every collection of one emulator, with the known URLs behind URL ids.

    Args:
        world: Resolves file hashes and URL ids of known objects.
        clock: Dates of creation, modification and comments.
        notifications: Where followers' IoC Stream entries go.
    """

    def __init__(self, world: World, clock: EmulatorClock, notifications: NotificationStore) -> None:
        self._world = world
        self._clock = clock
        self._notifications = notifications
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(1)
        self.collections: dict[str, Collection] = {}
        self.urls: dict[str, str] = {}
        """URL SHA-256 -> URL, for every URL ever added (so it can be named by id later)."""
        self.max_items_per_request = MAX_ITEMS_PER_REQUEST

    def _now(self) -> int:
        return int(self._clock.time())

    # ------------------------------------------------------------------- collections
    def create(
        self,
        owner: str,
        name: str,
        description: str = "",
        *,
        tags: Iterable[str] = (),
        private: bool = False,
    ) -> Collection:
        """A new, empty collection owned by ``owner``."""
        number = next(self._ids)
        digest = hashlib.sha256(f"collection:{number}:{owner}:{name}".encode()).hexdigest()
        now = self._now()
        collection = Collection(
            id=digest,
            owner=owner,
            name=name,
            description=description,
            creation_date=now,
            last_modification_date=now,
            tags=list(tags),
            private=private,
        )
        self.collections[collection.id] = collection
        return collection

    def get(self, collection_id: str) -> Collection | None:
        """The collection with this id, or ``None``."""
        return self.collections.get(collection_id)

    def delete(self, collection_id: str) -> None:
        """Forget a collection."""
        self.collections.pop(collection_id, None)

    def owned_by(self, owner: str) -> list[Collection]:
        """The collections of one user, oldest first."""
        return [c for c in self.collections.values() if c.owner == owner]

    def touch(self, collection: Collection) -> None:
        """Mark a collection as modified now."""
        collection.last_modification_date = self._now()

    def follow(self, collection_id: str, user_id: str) -> None:
        """Make ``user_id`` follow a collection (its additions reach that user's IoC Stream)."""
        collection = self.collections.get(collection_id)
        if collection is None:
            raise KeyError(collection_id)
        collection.followers.add(user_id)

    # ------------------------------------------------------------------------- items
    def check_batch(self, descriptors: list[Any]) -> None:
        """400 when a request carries more descriptors than allowed."""
        if len(descriptors) > self.max_items_per_request:
            raise _bad(
                f"Too many items in one request: {len(descriptors)} (at most {self.max_items_per_request})"
            )

    def item(self, relationship: str, raw: Any) -> CollectionItem:
        """Validate one descriptor for ``relationship`` and return the canonical item (400 if bad)."""
        kind = ITEM_RELATIONSHIPS[relationship]
        if not isinstance(raw, dict) or raw.get("type") != kind:
            raise _bad(f'Each item in "{relationship}" must be a descriptor of type "{kind}"')
        ident = raw.get("id")
        if kind == "url":
            return self._url_item(raw)
        if not isinstance(ident, str) or not ident.strip():
            raise _bad(f'A "{kind}" descriptor needs an "id"')
        text = ident.strip().lower()
        if kind == "file":
            if not _HASH.fullmatch(text):
                raise _bad(f'"{ident}" is not a valid MD5, SHA-1 or SHA-256')
            return CollectionItem("file", self._world.canonical_id("file", text) or text)
        if kind == "ip_address":
            address = _ip(text)
            if address is None:
                raise _bad(f'"{ident}" is not a valid IP address')
            return CollectionItem("ip_address", str(address))
        domain = text.rstrip(".")
        if not _DOMAIN.fullmatch(domain):
            raise _bad(f'"{ident}" is not a valid domain')
        return CollectionItem("domain", domain)

    def _url_item(self, raw: Mapping[str, Any]) -> CollectionItem:
        url = raw.get("url")
        ident = raw.get("id")
        if isinstance(url, str) and url.strip():
            if not re.match(r"(?:https?|ftp)://[^/\s]+", url.strip(), flags=re.IGNORECASE):
                raise _bad(f'"{url}" is not a valid URL')
            canonical = canonical_url(url)
            return CollectionItem("url", World.url_id(canonical), canonical)
        if not isinstance(ident, str) or not ident:
            raise _bad('A "url" descriptor needs a "url" or an "id"')
        low = ident.lower()
        if _SHA256.fullmatch(low):
            known = self.urls.get(low)
            obj = self._world.get("url", low)
            text = known or (str(obj.attributes["url"]) if obj is not None else None)
            if text is None:
                raise _bad(f'Unknown URL id "{ident}": send the URL itself ({{"type": "url", "url": ...}})')
            return CollectionItem("url", low, text)
        try:
            decoded = base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _bad(f'"{ident}" is not a URL id') from None
        return self._url_item({"url": decoded})

    def parse_items(self, relationship: str, descriptors: Any) -> list[CollectionItem]:
        """A descriptor list for one relationship, validated as a whole (400 on any bad one)."""
        if not isinstance(descriptors, list):
            raise ApiError("BadRequestError", 'Expected "data" to be a list of descriptors')
        self.check_batch(descriptors)
        return [self.item(relationship, raw) for raw in descriptors]

    def add(self, collection: Collection, items: Iterable[CollectionItem]) -> list[CollectionItem]:
        """Add items (known ones are skipped); notify followers; return the new ones."""
        added = []
        for item in items:
            bucket = collection.items[_RELATIONSHIP_OF[item.kind]]
            if item.id in bucket:
                continue
            bucket[item.id] = item
            if item.url is not None:
                self.urls[item.id] = item.url
            added.append(item)
        if added:
            self.touch(collection)
            self._notify(collection, added)
        return added

    def remove(self, collection: Collection, items: Iterable[CollectionItem]) -> list[CollectionItem]:
        """Remove items (absent ones are skipped); return the removed ones."""
        removed = []
        for item in items:
            found = collection.items[_RELATIONSHIP_OF[item.kind]].pop(item.id, None)
            if found is not None:
                removed.append(found)
        if removed:
            self.touch(collection)
        return removed

    def _notify(self, collection: Collection, added: list[CollectionItem]) -> None:
        source = {"type": "collection", "id": collection.id, "label": collection.name}
        for follower in sorted(collection.followers):
            for item in added:
                self._notifications.add_ioc_stream(
                    owner=follower,
                    date=self._now(),
                    origin="subscriptions",
                    entity_type=item.kind,  # type: ignore[arg-type]
                    entity_id=item.id,
                    sources=[dict(source)],
                    tags=list(collection.tags),
                )

    # ---------------------------------------------------------------------- comments
    def comment(self, collection: Collection, author: str, text: str) -> CollectionComment:
        """Add a comment (newest last in storage)."""
        entry = CollectionComment(
            id=f"c-{collection.id[:16]}-{next(self._comment_ids)}",
            author=author,
            date=self._now(),
            text=text,
        )
        collection.comments.append(entry)
        return entry

    def item_attributes(self, item: CollectionItem) -> dict[str, Any]:
        """Attributes of an item the world does not know (the world's own are richer)."""
        if item.kind == "file":
            return {_HASH_KEYS[len(item.id)]: item.id}
        if item.kind == "url":
            return {"url": item.url}
        return {}
