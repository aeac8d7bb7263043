"""One resumable async iterator over ``meta.cursor``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._errors import InvalidParameterError, UnexpectedResponseError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TOKEN_PREFIX = "vtp1:"  # noqa: S105 - a format marker, not a secret


@dataclass
class Page(Generic[T]):
    """One page of a list answer."""

    items: list[T]
    cursor: str | None
    """The cursor of the next page; None on the last page."""
    count: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def make_resume_token(page_cursor: str | None, index: int) -> str:
    """Encode a position: the cursor that fetched the page, and the next item in it."""
    return f"{_TOKEN_PREFIX}{index}:{page_cursor or ''}"


def parse_resume_token(token: str | None) -> tuple[str | None, int]:
    """Decode a position; a plain server cursor means the start of that page."""
    if not token:
        return None, 0
    if not token.startswith(_TOKEN_PREFIX):
        return token, 0
    index_text, _, cursor = token[len(_TOKEN_PREFIX) :].partition(":")
    if not index_text.isdigit():
        raise InvalidParameterError(f"malformed resume token {token!r}")
    return cursor or None, int(index_text)


FetchPage = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


class Paginator(Generic[T]):
    """Iterate a v3 list item by item, following ``meta.cursor``.

    ``resume_token`` names the position after the last item handed out; pass it as
    ``cursor=`` to a new iterator to continue there (a crash-safe checkpoint).
    ``limit`` bounds the items handed out; ``page_size`` is sent as ``limit``.
    Requests are made lazily, one page at a time.
    """

    def __init__(
        self,
        fetch: FetchPage,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> None:
        if page_size < 1:
            raise InvalidParameterError("page_size must be at least 1")
        if limit is not None and limit < 0:
            raise InvalidParameterError("limit must not be negative")
        self._fetch = fetch
        self._parse = parse
        self._params = dict(params or {})
        self._page_size = page_size if limit is None else max(1, min(page_size, limit))
        self._limit = limit
        self._page_cursor, self._index = parse_resume_token(cursor)
        self._yielded = 0
        self._done = False
        self.count: int | None = None
        """``meta.count`` of the last page fetched, when the service gives it."""

    @property
    def resume_token(self) -> str | None:
        """Where the next item is; None once the list is exhausted."""
        if self._done:
            return None
        return make_resume_token(self._page_cursor, self._index)

    async def fetch_page(self, cursor: str | None) -> Page[T]:
        """Fetch and parse one page."""
        params = dict(self._params)
        params["limit"] = self._page_size
        if cursor:
            params["cursor"] = cursor
        body = await self._fetch(params)
        data = body.get("data")
        if not isinstance(data, list):
            raise UnexpectedResponseError("InvalidResponse", "list answer without a data list", 200)
        meta = body.get("meta") or {}
        next_cursor = meta.get("cursor") or None
        count = meta.get("count")
        return Page(
            items=[self._parse(item) for item in data],
            cursor=str(next_cursor) if next_cursor else None,
            count=count if isinstance(count, int) else None,
            meta=dict(meta),
        )

    def _limit_reached(self) -> bool:
        return self._limit is not None and self._yielded >= self._limit

    def _advance(self, page: Page[T]) -> None:
        """Move past a page whose items were all handed out."""
        if page.cursor is None or not page.items:
            self._done = True
        else:
            self._page_cursor, self._index = page.cursor, 0

    async def _next_page(self) -> Page[T]:
        page = await self.fetch_page(self._page_cursor)
        if page.count is not None:
            self.count = page.count
        if page.cursor is not None and page.cursor == self._page_cursor:
            # A cursor that does not move would page forever.
            raise UnexpectedResponseError(
                "InvalidResponse", "the list answered with the cursor it was given", 200
            )
        return page

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate whole pages from the current position (bounded by ``limit``)."""
        while not self._done and not self._limit_reached():
            page = await self._next_page()
            items = page.items[self._index :]
            if self._limit is not None:
                items = items[: self._limit - self._yielded]
            self._yielded += len(items)
            self._index += len(items)
            if self._index >= len(page.items):
                self._advance(page)
            yield Page(items, page.cursor, page.count, page.meta)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        while not self._done and not self._limit_reached():
            page = await self._next_page()
            for position in range(self._index, len(page.items)):
                if self._limit_reached():
                    return
                self._index = position + 1
                self._yielded += 1
                yield page.items[position]
            self._advance(page)

    async def collect(self) -> list[T]:
        """All remaining items (bounded by ``limit``) as a list."""
        return [item async for item in self]
