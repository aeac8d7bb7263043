"""Notifications the emulator hands out: IoC Stream entries and livehunt notifications.

One store, written by whatever makes a notification (a livehunt ruleset matching a new file,
a followed collection that changes, a test seeding one) and read by the IoC Stream and
hunting-notification routes. Each notification belongs to one user (``owner``: the
``user_id`` of an API key). Ids are unique strings; dates are integer epoch seconds.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["HuntingNotification", "IocStreamNotification", "NotificationStore", "Origin"]

Origin = Literal["hunting", "subscriptions"]
EntityType = Literal["file", "url", "domain", "ip_address"]


@dataclass
class IocStreamNotification:
    """One IoC Stream entry: an object and the context of why it was notified.

    ``sources`` items are ``{"type": hunting_ruleset|retrohunt_job|collection|threat_actor,
    "id": ..., "label": ...}``; ``hunting_info`` (hunting origin only) holds ``rule_name``,
    ``rule_tags``, ``snippet``, ``source_country``, ``source_key``.
    """

    id: str
    owner: str
    date: int
    origin: Origin
    entity_type: EntityType
    entity_id: str
    sources: list[dict[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    hunting_info: dict[str, Any] | None = None


@dataclass
class HuntingNotification:
    """One livehunt notification (``type: hunting_notification``) about a file."""

    id: str
    owner: str
    date: int
    sha256: str
    ruleset_id: str
    ruleset_name: str
    rule_name: str
    rule_tags: list[str] = field(default_factory=list)
    snippet: str = ""
    match_in_subfile: bool = False
    source_country: str | None = None
    source_key: str | None = None
    tags: list[str] = field(default_factory=list)


class NotificationStore:
    """Every notification of the emulator, per owner, in insertion order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.ioc_stream: list[IocStreamNotification] = []
        self.hunting: list[HuntingNotification] = []
        self.bulk_delete_seconds = 0.0
        """How long a bulk ``DELETE /ioc_stream`` keeps running (VirusTotal deletes in the
        background); another one meanwhile is refused with 429 ``TooManyRequests``."""
        self.deleting_until: dict[str, float] = {}
        """Owner -> clock time its running bulk deletion ends."""

    def _next_id(self) -> str:
        return f"{next(self._ids):012d}"

    def add_ioc_stream(
        self,
        *,
        owner: str,
        date: int,
        origin: Origin,
        entity_type: EntityType,
        entity_id: str,
        sources: list[dict[str, str]] | None = None,
        tags: list[str] | None = None,
        hunting_info: dict[str, Any] | None = None,
    ) -> IocStreamNotification:
        """Add one IoC Stream entry and return it."""
        with self._lock:
            entry = IocStreamNotification(
                id=self._next_id(),
                owner=owner,
                date=int(date),
                origin=origin,
                entity_type=entity_type,
                entity_id=entity_id,
                sources=list(sources or []),
                tags=list(tags or []),
                hunting_info=hunting_info,
            )
            self.ioc_stream.append(entry)
            return entry

    def add_hunting(
        self,
        *,
        owner: str,
        date: int,
        sha256: str,
        ruleset_id: str,
        ruleset_name: str,
        rule_name: str,
        rule_tags: list[str] | None = None,
        snippet: str = "",
        source_country: str | None = None,
        source_key: str | None = None,
    ) -> HuntingNotification:
        """Add a livehunt notification, and the IoC Stream entry (origin hunting) it implies."""
        with self._lock:
            notification = HuntingNotification(
                id=self._next_id(),
                owner=owner,
                date=int(date),
                sha256=sha256,
                ruleset_id=ruleset_id,
                ruleset_name=ruleset_name,
                rule_name=rule_name,
                rule_tags=list(rule_tags or []),
                snippet=snippet,
                source_country=source_country,
                source_key=source_key,
                tags=[sha256, ruleset_name, rule_name, *(rule_tags or [])],
            )
            self.hunting.append(notification)
        self.add_ioc_stream(
            owner=owner,
            date=date,
            origin="hunting",
            entity_type="file",
            entity_id=sha256,
            sources=[{"type": "hunting_ruleset", "id": ruleset_id, "label": ruleset_name}],
            tags=[ruleset_name, rule_name],
            hunting_info={
                "rule_name": rule_name,
                "rule_tags": list(rule_tags or []),
                "snippet": snippet,
                "source_country": source_country,
                "source_key": source_key,
            },
        )
        return notification
