"""IoC Stream entries, livehunt notifications, and the ``Alert`` the poller hands on.

An IoC Stream item is a file, URL, domain or IP address object whose ``context_attributes``
say why it was notified (contract section 6). A livehunt notification is a
``hunting_notification`` object about a file (section 5). ``Alert`` is the one shape both
become when ``poll_alerts`` hands them on.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

from ._base import EpochDatetime, VTModel, VTObject
from ._registry import parse_object
from ._vt_alerts import AlertingNotification

AlertSource = Literal["ioc_stream", "hunting_notifications", "vt_alerts"]
"""Where an alert was read: the IoC Stream, the livehunt notifications list, or VT Alerts."""

ALERT_EVENT_NAMESPACE = uuid.UUID("6f1b7a52-3c1e-5d7e-9a55-7669727573a1")
"""Namespace of the deterministic event ids (uuid5 of ``<source>:<notification id>``)."""


class NotificationSource(VTModel):
    """What produced a notification: ``hunting_ruleset``, ``retrohunt_job``, ``collection``..."""

    type: str
    id: str
    label: str | None = None


class HuntingInfo(VTModel):
    """``context_attributes.hunting_info`` of an IoC Stream item of origin ``hunting``."""

    rule_name: str | None = None
    rule_tags: list[str] = Field(default_factory=list)
    snippet: str | None = None
    source_country: str | None = None
    source_key: str | None = None


class IoCStreamContext(VTModel):
    """``context_attributes`` of an IoC Stream item."""

    notification_id: str
    notification_date: EpochDatetime
    origin: str
    sources: list[NotificationSource] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    hunting_info: HuntingInfo | None = None


class IoCStreamItem(VTModel):
    """One IoC Stream entry: the notified object (any type) and its context.

    ``entity`` has typed attributes for files, URLs, domains and IP addresses; with
    ``descriptors_only`` its attributes are empty.
    """

    entity: VTObject[Any]
    context: IoCStreamContext

    @property
    def notification_id(self) -> str:
        """The notification's id (what ``DELETE /ioc_stream_notifications/{id}`` takes)."""
        return self.context.notification_id


class IoCStreamNotificationAttributes(VTModel):
    """Attributes of ``GET /ioc_stream_notifications/{id}`` (the list is UNCONFIRMED: all optional)."""

    date: EpochDatetime | None = None
    origin: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    sources: list[NotificationSource] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    hunting_info: HuntingInfo | None = None


IoCStreamNotificationObject = VTObject[IoCStreamNotificationAttributes]


class HuntingNotificationAttributes(VTModel):
    """Attributes of a ``hunting_notification`` (livehunt match on a file)."""

    date: EpochDatetime | None = None
    rule_name: str | None = None
    rule_tags: list[str] = Field(default_factory=list)
    snippet: str | None = None
    match_in_subfile: bool | None = None
    source_country: str | None = None
    source_key: str | None = None
    tags: list[str] = Field(default_factory=list)
    # Not confirmed as notification attributes (they are context attributes of notification
    # files); read when present.
    ruleset_id: str | None = None
    ruleset_name: str | None = None


HuntingNotificationObject = VTObject[HuntingNotificationAttributes]


class HuntingNotificationFileContext(VTModel):
    """``context_attributes`` of an item of ``/intelligence/hunting_notification_files``."""

    notification_id: str | None = None
    notification_date: EpochDatetime | None = None
    notification_snippet: str | None = None
    notification_source_key: str | None = None
    notification_tags: list[str] = Field(default_factory=list)
    ruleset_id: str | None = None
    ruleset_name: str | None = None
    rule_name: str | None = None
    rule_tags: list[str] = Field(default_factory=list)
    match_in_subfile: bool | None = None


class HuntingNotificationFile(VTModel):
    """A file that matched a livehunt rule, with the notification's context."""

    file: VTObject[Any]
    context: HuntingNotificationFileContext


def notification_file_sha256(notification: HuntingNotificationObject) -> str | None:
    """The SHA-256 a livehunt notification is about.

    From the embedded ``file`` relationship (``?relationships=file``) when present, else the
    64-hex tag (notification tags include the file's SHA-256).
    """
    embedded = notification.relationships.get("file")
    if embedded is not None and embedded.items:
        return embedded.items[0].id
    for tag in notification.attributes.tags:
        if len(tag) == 64 and all(c in "0123456789abcdef" for c in tag.lower()):
            return tag.lower()
    return None


class Alert(VTModel):
    """One notification as ``poll_alerts`` hands it on, whichever list it came from.

    Attributes:
        notification_id: the notification's id at VirusTotal.
        source: ``ioc_stream`` or ``hunting_notifications``.
        origin: ``hunting`` or ``subscriptions`` (livehunt notifications are ``hunting``).
        date: when VirusTotal notified it.
        entity_type: file, url, domain or ip_address.
        entity_id: the object's id (SHA-256, URL id, domain, address).
        rule_name: the livehunt rule that matched, when there is one.
        ruleset_id: the ruleset, when known.
        ruleset_name: the ruleset's name, when known.
        sources: what produced the notification (rulesets, collections, threat actors).
        tags: the notification's tags.
        entity: the full object, when the list gave it (or enrichment fetched it).
        possible_duplicate: this alert may have been handed on before, by a run that was
            killed while handing it on; it carries the same ``event_id`` as then.
        emulated: read from the pack's emulator: fiction.
        event_severity: VT Alerts' ``event_severity`` (info, low, medium, high).
        use_case_category: VT Alerts' ``use_case_category``.
        detection_category: VT Alerts' ``detection_category``.
    """

    notification_id: str
    source: AlertSource
    origin: str
    date: EpochDatetime
    entity_type: str
    entity_id: str
    rule_name: str | None = None
    ruleset_id: str | None = None
    ruleset_name: str | None = None
    sources: list[NotificationSource] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    entity: VTObject[Any] | None = None
    possible_duplicate: bool = False
    emulated: bool = False
    event_severity: str | None = None
    use_case_category: str | None = None
    detection_category: str | None = None

    # An IoC Stream object kept as the API sent it until ``entity`` is first read (see
    # ``with_raw_entity``): the poller hands most alerts on without reading their object,
    # and validating a full file object costs more than everything else about the alert.
    _raw_entity: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def event_id(self) -> uuid.UUID:
        """The id of this alert's Prefect event: the same on every delivery of it."""
        return uuid.uuid5(ALERT_EVENT_NAMESPACE, f"{self.source}:{self.notification_id}")

    @property
    def has_entity(self) -> bool:
        """Whether the alert carries its object, without validating one kept raw."""
        return self._raw_entity is not None or self.__dict__.get("entity") is not None

    def with_raw_entity(self, raw: dict[str, Any]) -> Alert:
        """Keep ``raw`` (an object as the API sent it) as the entity, validated when first read.

        Reading ``entity`` (or dumping, comparing, copying the alert) parses it exactly as
        :func:`parse_object` does; until then it costs nothing. Returns this alert.
        """
        self.__dict__.pop("entity", None)
        self._raw_entity = raw
        return self

    def _load_entity(self) -> VTObject[Any] | None:
        raw = self._raw_entity
        if raw is not None:
            # Through the field's own validation, as when the parsed object is passed to Alert(),
            # and back in its place among the fields (a JSON dump keeps the fields' order).
            fields = self.__dict__
            later = _FIELDS_AFTER_ENTITY
            moved = {name: fields.pop(name) for name in later if name in fields}
            fields["entity"] = _ENTITY_FIELD.validate_python(parse_object(raw))
            fields.update(moved)
            self._raw_entity = None
        entity: VTObject[Any] | None = self.__dict__.get("entity")
        return entity

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached for names not in the instance: ``entity`` while it is kept raw.
            if name == "entity" and self.__pydantic_private__ is not None:
                return self._load_entity()
            return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "entity":
            self._raw_entity = None  # a new entity replaces the raw one
        super().__setattr__(name, value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Alert):
            self._load_entity()
            other._load_entity()
        return super().__eq__(other)

    def __repr_args__(self) -> Any:
        self._load_entity()
        return super().__repr_args__()

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # A raw entity is parsed before a dump that includes it (never for ``exclude={"entity"}``).
        if self._raw_entity is not None and not _excludes(info.exclude, "entity"):
            self._load_entity()
        if "entity" not in self.__dict__:
            # Kept raw and excluded: dump as if the field were there (it is left out anyway).
            self.__dict__["entity"] = None
            try:
                return handler(self)
            finally:
                del self.__dict__["entity"]
        return handler(self)

    @classmethod
    def _from_context(
        cls, context: IoCStreamContext, entity_type: str, entity_id: str, entity: VTObject[Any] | None
    ) -> Alert:
        hunting = context.hunting_info
        ruleset = next((s for s in context.sources if s.type == "hunting_ruleset"), None)
        return cls(
            notification_id=context.notification_id,
            source="ioc_stream",
            origin=context.origin,
            date=context.notification_date,
            entity_type=entity_type,
            entity_id=entity_id,
            rule_name=hunting.rule_name if hunting else None,
            ruleset_id=ruleset.id if ruleset else None,
            ruleset_name=ruleset.label if ruleset else None,
            sources=list(context.sources),
            tags=list(context.tags),
            entity=entity,
        )

    @classmethod
    def from_ioc_stream(cls, item: IoCStreamItem) -> Alert:
        """The alert of one IoC Stream item."""
        entity = item.entity
        full = bool(entity.attributes.model_fields_set) or _has_extra(entity)
        return cls._from_context(item.context, entity.type, entity.id, entity if full else None)

    @classmethod
    def from_ioc_stream_raw(cls, raw: dict[str, Any], context: IoCStreamContext) -> Alert:
        """The alert of one IoC Stream item as the API sent it (``type`` and ``id`` checked).

        The same alert as :meth:`from_ioc_stream` of the parsed item; the object is kept raw
        and validated when ``entity`` is first read. An object without attributes (a
        descriptor) gives no entity, as there.
        """
        alert = cls._from_context(context, str(raw["type"]), str(raw["id"]), None)
        if raw.get("attributes"):
            alert.with_raw_entity(raw)
        return alert

    @classmethod
    def from_hunting_notification(cls, notification: HuntingNotificationObject) -> Alert:
        """The alert of one livehunt notification (its file is the entity)."""
        attributes = notification.attributes
        sources = []
        if attributes.ruleset_id:
            sources.append(
                NotificationSource(
                    type="hunting_ruleset", id=attributes.ruleset_id, label=attributes.ruleset_name
                )
            )
        date = attributes.date
        if date is None:
            raise ValueError(f"hunting notification {notification.id} has no date")
        return cls(
            notification_id=notification.id,
            source="hunting_notifications",
            origin="hunting",
            date=date,
            entity_type="file",
            entity_id=notification_file_sha256(notification) or "",
            rule_name=attributes.rule_name,
            ruleset_id=attributes.ruleset_id,
            ruleset_name=attributes.ruleset_name,
            sources=sources,
            tags=list(attributes.tags),
        )

    @classmethod
    def from_vt_alert(cls, notification: AlertingNotification) -> Alert:
        """The alert of one VT Alerts notification: the matched entity of its event."""
        attributes = notification.attributes
        entity_type, entity_id = sighting_entity(attributes.event_message_json)
        return cls(
            notification_id=notification.id,
            source="vt_alerts",
            origin="vt_alerts",
            date=attributes.created,
            entity_type=entity_type,
            entity_id=entity_id,
            tags=[t for t in (attributes.use_case_category, attributes.detection_category) if t],
            event_severity=attributes.event_severity,
            use_case_category=attributes.use_case_category,
            detection_category=attributes.detection_category,
        )


#: The sighting's object -> (entity type, the key that names it). UNCONFIRMED beyond the
#: reference's ``domain_sighting{domain{name}}`` example: the others are read the same way.
_SIGHTING_KEYS = (
    ("domain", "domain", "name"),
    ("url", "url", "url"),
    ("ip", "ip_address", "address"),
    ("ip_address", "ip_address", "address"),
    ("file", "file", "sha256"),
)


def sighting_entity(event: dict[str, Any]) -> tuple[str, str]:
    """``(entity_type, entity_id)`` of what a VT Alerts event sighted (URLs by their SHA-256 id).

    The first ``*_sighting`` member names it; an event this cannot read gives ``("unknown", "")``
    rather than failing the batch it is in.
    """
    for key, value in event.items():
        if not key.endswith("_sighting") or not isinstance(value, dict):
            continue
        for member, kind, name in _SIGHTING_KEYS:
            inner = value.get(member)
            if isinstance(inner, dict) and isinstance(inner.get(name), str) and inner[name]:
                found = inner[name]
                return kind, hashlib.sha256(found.encode()).hexdigest() if kind == "url" else found
        if isinstance(value.get("id"), str):
            return key.removesuffix("_sighting"), value["id"]
    return "unknown", ""


_ENTITY_FIELD: TypeAdapter[VTObject[Any] | None] = TypeAdapter(VTObject[Any] | None)
_FIELDS_AFTER_ENTITY = tuple(list(Alert.model_fields)[list(Alert.model_fields).index("entity") + 1 :])


def _excludes(exclude: Any, name: str) -> bool:
    """Whether a dump's ``exclude`` (a set or a dict of names) leaves ``name`` out entirely."""
    if isinstance(exclude, dict):
        return exclude.get(name) is True
    return isinstance(exclude, (set, frozenset)) and name in exclude


def _has_extra(obj: VTObject[Any]) -> bool:
    """Whether an object's attributes carry anything (descriptors have none)."""
    return bool(obj.attributes.model_extra)


class AlertPage(VTModel):
    """One page of alerts, as the fetch task returns it.

    Attributes:
        alerts: the page's alerts, in the order the API gave them.
        cursor: the cursor of the next page; None on the last.
        requests: requests this fetch sent (retries included).
        emulated: the answer came from the pack's emulator.
    """

    alerts: list[Alert] = Field(default_factory=list)
    cursor: str | None = None
    requests: int = 0
    emulated: bool = False


class AcknowledgeResult(VTModel):
    """What acknowledging (deleting) notifications did.

    Attributes:
        deleted: ids deleted now.
        already_gone: ids VirusTotal no longer had (404): deleted before, fine.
        requests: requests sent (retries included).
    """

    deleted: list[str] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    requests: int = 0
