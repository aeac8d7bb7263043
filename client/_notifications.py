"""``/intelligence/hunting_notifications`` and ``/intelligence/hunting_notification_files``.

Livehunt notifications (contract section 5): one per file a livehunt rule matched. Filters
take ``date:<iso>+``/``-`` and ``tag:<rule or ruleset>`` tokens.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._notices import MAX_PAGE_SIZE, _NoticeArea, date_tokens, parse_notification_id
from ._pagination import Paginator
from .models._alerts import (
    HuntingNotificationAttributes,
    HuntingNotificationFile,
    HuntingNotificationFileContext,
    HuntingNotificationObject,
)
from .models._registry import parse_object

_TAG = re.compile(r"[^\s\"]{1,256}")


def hunting_filter(
    *, since: datetime | int | None = None, until: datetime | int | None = None, tag: str | None = None
) -> str | None:
    """Build a livehunt notification filter from checked parts.

    Example:
        >>> hunting_filter(since=1767225600, tag="my_rule")
        'date:2026-01-01T00:00:00+ tag:my_rule'
    """
    parts = date_tokens(since, until)
    if tag is not None:
        parts.append(f"tag:{_check_tag(tag)}")
    return " ".join(parts) or None


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidParameterError(f"invalid tag {tag!r}")
    return tag


def parse_hunting_notification(raw: Any) -> HuntingNotificationObject:
    """One ``hunting_notification`` object."""
    try:
        return HuntingNotificationObject.model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed hunting_notification", 200) from exc


def parse_notification_file(raw: Any) -> HuntingNotificationFile:
    """One item of ``/intelligence/hunting_notification_files``."""
    file = parse_object(raw)
    try:
        context = HuntingNotificationFileContext.model_validate(raw.get("context_attributes") or {})
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", f"file {file.id}: malformed context", 200) from exc
    return HuntingNotificationFile(file=file, context=context)


class HuntingNotifications(_NoticeArea):
    """``/intelligence/hunting_notifications`` and ``/intelligence/hunting_notification_files``."""

    def list(
        self,
        *,
        filter: str | None = None,
        order: str = "date-",
        with_file: bool = True,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[HuntingNotificationObject]:
        """Iterate livehunt notifications lazily (``GET /intelligence/hunting_notifications``).

        Args:
            filter: a filter (see :func:`hunting_filter`).
            order: ``date-`` (newest first) or ``date+``.
            with_file: embed the matched file's descriptor (``?relationships=file``).
            page_size: items per request, at most 40.
            limit: most items handed out.
            cursor: resume here.
        """
        return self._list(
            "/intelligence/hunting_notifications",
            parse_hunting_notification,
            filter=filter,
            order=order,
            flags={"relationships": "file"} if with_file else {},
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )

    async def get(self, notification_id: str) -> HuntingNotificationObject:
        """One notification (``GET /intelligence/hunting_notifications/{id}``)."""
        ident = parse_notification_id(notification_id)
        return await self._client.get_object(
            f"/intelligence/hunting_notifications/{ident}",
            HuntingNotificationAttributes,
            params={"relationships": "file"},
        )

    async def delete(self, notification_id: str) -> None:
        """Delete one notification (``DELETE /intelligence/hunting_notifications/{id}``)."""
        await self._delete_one("/intelligence/hunting_notifications", notification_id)

    async def delete_all(self, *, tag: str | None = None) -> None:
        """Delete every notification with ``tag``, or all of them."""
        checked = _check_tag(tag) if tag is not None else None
        await self._delete_many("/intelligence/hunting_notifications", {"tag": checked})

    def list_files(
        self,
        *,
        filter: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        cursor: str | None = None,
        count_limit: int | None = None,
    ) -> Paginator[HuntingNotificationFile]:
        """Iterate the files livehunt matched, with each notification's context.

        ``GET /intelligence/hunting_notification_files``. ``count_limit`` is the reference's
        parameter of this endpoint: at most that many notifications are looked at (its exact
        effect on paging is UNCONFIRMED; the emulator ends the listing there).

        Raises:
            InvalidParameterError: ``count_limit`` is not a positive integer (no request made).
        """
        flags: dict[str, str] = {}
        if count_limit is not None:
            if isinstance(count_limit, bool) or not isinstance(count_limit, int) or count_limit < 1:
                raise InvalidParameterError(f"count_limit must be a positive integer, got {count_limit!r}")
            flags["count_limit"] = str(count_limit)
        return self._list(
            "/intelligence/hunting_notification_files",
            parse_notification_file,
            filter=filter,
            order=None,
            flags=flags,
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )
