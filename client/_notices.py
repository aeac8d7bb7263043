"""What the IoC Stream and livehunt notifications share: checked inputs, lists and deletes.

Both areas take the same ids, ``date:`` filters, ``order`` and page sizes of at most 40
(contract sections 5 and 6), so they are checked here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from ._errors import InvalidParameterError
from ._lookups import _Area
from ._pagination import Paginator

T = TypeVar("T")

ORDERS = ("date+", "date-")
MAX_PAGE_SIZE = 40
"""``limit`` may not exceed 40 on the IoC Stream and on livehunt notifications."""

_NOTIFICATION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def parse_notification_id(value: str) -> str:
    """A notification id, checked before it goes into a path (ids are opaque strings)."""
    if not isinstance(value, str) or not _NOTIFICATION_ID.fullmatch(value.strip()):
        raise InvalidParameterError(f"invalid notification id {value!r}")
    return value.strip()


def iso_second(moment: datetime | int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC, as the ``date:`` filter takes it."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise InvalidParameterError("a filter date must be timezone-aware")
        moment = int(moment.timestamp())
    return datetime.fromtimestamp(int(moment), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def date_tokens(since: datetime | int | None, until: datetime | int | None) -> list[str]:
    """The ``date:<iso>+`` (since) and ``date:<iso>-`` (until) filter tokens asked for."""
    parts: list[str] = []
    if since is not None:
        parts.append(f"date:{iso_second(since)}+")
    if until is not None:
        parts.append(f"date:{iso_second(until)}-")
    return parts


def check_filter(value: str | None) -> str | None:
    """A raw filter string: single line, bounded, no quotes (they never reach a path)."""
    if value is None or not value.strip():
        return None
    if len(value) > 2000 or any(c in value for c in '\r\n"\x00'):
        raise InvalidParameterError("a filter must be one line of at most 2000 characters, without quotes")
    return " ".join(value.split())


def check_order(order: str) -> str:
    """``date+`` (oldest first) or ``date-`` (newest first)."""
    if order not in ORDERS:
        raise InvalidParameterError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    return order


def check_page_size(page_size: int) -> int:
    """A page size in ``1..40``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidParameterError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return page_size


class _NoticeArea(_Area):
    """An area of notifications: filtered lists, delete one, delete many."""

    def _list(
        self,
        path: str,
        parse: Callable[[Any], T],
        *,
        filter: str | None,
        order: str | None,
        flags: Mapping[str, str],
        page_size: int,
        limit: int | None,
        cursor: str | None,
    ) -> Paginator[T]:
        """``GET path`` lazily, every input checked first (``order=None`` sends no order)."""
        params: dict[str, Any] = {} if order is None else {"order": check_order(order)}
        checked = check_filter(filter)
        if checked:
            params["filter"] = checked
        params.update(flags)
        return self._client.paginate(
            path, parse, params=params, page_size=check_page_size(page_size), limit=limit, cursor=cursor
        )

    async def _delete_one(self, collection: str, notification_id: str) -> None:
        """``DELETE {collection}/{id}``, the id checked first."""
        ident = parse_notification_id(notification_id)
        await self._client.request("DELETE", f"{collection}/{ident}")

    async def _delete_many(self, path: str, params: Mapping[str, str | None]) -> None:
        """``DELETE path`` with the checked params that are set (none: delete all)."""
        query = {key: value for key, value in params.items() if value is not None}
        await self._client.request("DELETE", path, params=query or None)
