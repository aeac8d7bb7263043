"""``/ioc_stream`` and ``/ioc_stream_notifications``: the IoC Stream (VirusTotal alerts).

The stream mixes files, URLs, domains and IP addresses; each item's ``context_attributes``
say why it was notified (contract section 6). Filters are space-separated ``key:value``
tokens; :func:`ioc_stream_filter` builds one from checked parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ._errors import DeletionInProgressError, InvalidParameterError, RateLimitError, UnexpectedResponseError
from ._notices import MAX_PAGE_SIZE, _NoticeArea, check_filter, date_tokens, parse_notification_id
from ._pagination import Paginator
from .models._alerts import (
    Alert,
    IoCStreamContext,
    IoCStreamItem,
    IoCStreamNotificationAttributes,
    IoCStreamNotificationObject,
)
from .models._registry import parse_object

ORIGINS = ("hunting", "subscriptions")
ENTITY_TYPES = ("file", "url", "domain", "ip_address")
_FILTER_VALUE = re.compile(r"[^\s\"]{1,512}")


def _token(key: str, value: str) -> str:
    if not _FILTER_VALUE.fullmatch(value):
        raise InvalidParameterError(f"invalid {key} filter value {value!r}")
    return f"{key}:{value}"


def ioc_stream_filter(
    *,
    since: datetime | int | None = None,
    until: datetime | int | None = None,
    origin: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    source_type: str | None = None,
    source_id: str | None = None,
    tags: Sequence[str] = (),
    extra: str | None = None,
) -> str | None:
    """Build an IoC Stream filter from checked parts (None when nothing is asked).

    Args:
        since: at or after this second (``date:<iso>+``).
        until: at or before this second (``date:<iso>-``).
        origin: ``hunting`` or ``subscriptions``.
        entity_type: file, url, domain or ip_address.
        entity_id: one object's id.
        source_type: e.g. ``hunting_ruleset``, ``collection``.
        source_id: one source's id.
        tags: notification tags (``notification_tag:``).
        extra: more raw filter text, appended.

    Example:
        >>> ioc_stream_filter(since=1767225600, origin="hunting")
        'date:2026-01-01T00:00:00+ origin:hunting'
    """
    parts = date_tokens(since, until)
    if origin is not None:
        if origin not in ORIGINS:
            raise InvalidParameterError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
        parts.append(f"origin:{origin}")
    if entity_type is not None:
        if entity_type not in ENTITY_TYPES:
            raise InvalidParameterError(
                f"entity_type must be one of {', '.join(ENTITY_TYPES)}, got {entity_type!r}"
            )
        parts.append(f"entity_type:{entity_type}")
    for key, value in (("entity_id", entity_id), ("source_type", source_type), ("source_id", source_id)):
        if value is not None:
            parts.append(_token(key, value))
    parts.extend(_token("notification_tag", tag) for tag in tags)
    checked = check_filter(extra)
    if checked:
        parts.append(checked)
    return " ".join(parts) or None


def parse_ioc_stream_item(raw: Any) -> IoCStreamItem:
    """One IoC Stream item: the object (any type) and its ``context_attributes``."""
    entity = parse_object(raw)
    context = raw.get("context_attributes") if isinstance(raw, dict) else None
    try:
        return IoCStreamItem(entity=entity, context=IoCStreamContext.model_validate(context))
    except ValidationError as exc:
        raise UnexpectedResponseError(
            "InvalidResponse", f"IoC Stream item {entity.type} {entity.id}: malformed context_attributes", 200
        ) from exc


def parse_ioc_stream_alert(raw: Any) -> Alert:
    """One IoC Stream item as an :class:`Alert`, its object kept raw until read.

    What the poller needs is checked now, as :func:`parse_ioc_stream_item` checks it: the
    object's ``type`` and ``id``, and the ``context_attributes``. The object itself (a full
    file report can hold a hundred engine results) is validated when ``alert.entity`` is
    first read, into the same model :func:`parse_ioc_stream_item` gives.

    Raises:
        UnexpectedResponseError: no ``type``/``id``, attributes that are not an object, or
            malformed ``context_attributes``.
    """
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("type"), str)
        or not isinstance(raw.get("id"), str)
    ):
        raise UnexpectedResponseError("InvalidResponse", "an object without type and id", 200)
    if raw.get("attributes") is not None and not isinstance(raw["attributes"], dict):
        raise UnexpectedResponseError("InvalidResponse", f"malformed {raw['type']} object", 200)
    try:
        context = IoCStreamContext.model_validate(raw.get("context_attributes"))
    except ValidationError as exc:
        raise UnexpectedResponseError(
            "InvalidResponse", f"IoC Stream item {raw['type']} {raw['id']}: malformed context_attributes", 200
        ) from exc
    return Alert.from_ioc_stream_raw(raw, context)


class IoCStream(_NoticeArea):
    """``/ioc_stream`` and ``/ioc_stream_notifications``."""

    def list(
        self,
        *,
        filter: str | None = None,
        order: str = "date-",
        descriptors_only: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[IoCStreamItem]:
        """Iterate the IoC Stream lazily, page by page (``GET /ioc_stream``).

        Args:
            filter: a filter (see :func:`ioc_stream_filter`).
            order: ``date-`` (newest first, the API's default) or ``date+``.
            descriptors_only: items without attributes (cheaper answers).
            page_size: items per request, at most 40.
            limit: most items handed out.
            cursor: resume here (a server cursor or a resume token).
        """
        return self._list(
            "/ioc_stream",
            parse_ioc_stream_item,
            filter=filter,
            order=order,
            flags={"descriptors_only": "true"} if descriptors_only else {},
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )

    def list_alerts(
        self,
        *,
        filter: str | None = None,
        order: str = "date-",
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[Alert]:
        """The IoC Stream as alerts (``GET /ioc_stream``), each object validated when read.

        The same request as :meth:`list`; each item becomes the :class:`Alert` that
        ``Alert.from_ioc_stream`` makes of it, with its object kept as sent until
        ``alert.entity`` is read (see :func:`parse_ioc_stream_alert`).
        """
        return self._list(
            "/ioc_stream",
            parse_ioc_stream_alert,
            filter=filter,
            order=order,
            flags={},
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )

    async def get(self, notification_id: str) -> IoCStreamNotificationObject:
        """One notification (``GET /ioc_stream_notifications/{id}``)."""
        ident = parse_notification_id(notification_id)
        return await self._client.get_object(
            f"/ioc_stream_notifications/{ident}", IoCStreamNotificationAttributes
        )

    async def delete(self, notification_id: str) -> None:
        """Delete one notification (``DELETE /ioc_stream_notifications/{id}``)."""
        await self._delete_one("/ioc_stream_notifications", notification_id)

    async def delete_all(self, *, filter: str | None = None) -> None:
        """Delete every notification matching ``filter``, or all (``DELETE /ioc_stream``).

        VirusTotal deletes in the background and answers 200 with an empty body.

        Raises:
            DeletionInProgressError: an earlier bulk deletion is still running (VirusTotal
                answers 429 ``TooManyRequests``, a code outside its error table).
        """
        try:
            await self._delete_many("/ioc_stream", {"filter": check_filter(filter)})
        except RateLimitError as exc:
            if exc.code != "TooManyRequests":
                raise
            raise DeletionInProgressError(
                exc.code, f"a deletion is still running in the IoC Stream; try later ({exc.message})", 429
            ) from exc
