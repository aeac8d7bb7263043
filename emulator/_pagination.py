"""The one cursor pagination every list endpoint uses (contract sections 1.3 and 10).

Pages look like ``{"data": [...], "meta": {"count": N, "cursor": C}, "links": {"self": ...,
"next": ...}}``. The last page has no ``meta.cursor`` and no ``links.next``, and a cursor is
never handed out for an empty page (vt-py pops from the empty batch and crashes).

A cursor is URL-safe base64 (unpadded) of ``{"offset": n, "scope": fingerprint}``, where the
fingerprint hashes what is being listed (e.g. ``rel:file:<sha256>:contacted_urls`` plus any
filter). A cursor presented to a different listing, or one that does not decode, is refused with
400 ``InvalidArgumentError``. ``limit`` may change between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request

from ._errors import ApiError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "decode_cursor", "encode_cursor", "paginate", "parse_limit"]

DEFAULT_LIMIT = 10
#: The commonly stated maximum for relationship lists (UNCONFIRMED in the contract).
MAX_LIMIT = 40

T = TypeVar("T")


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode_cursor(offset: int, scope: str) -> str:
    """An opaque cursor for "continue at ``offset`` in the listing named ``scope``"."""
    payload = json.dumps({"offset": offset, "scope": _fingerprint(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> int:
    """The offset inside ``cursor``; 400 ``InvalidArgumentError`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        offset = payload["offset"]
        valid = isinstance(offset, int) and offset >= 0 and payload["scope"] == _fingerprint(scope)
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        valid = False
    if not valid:
        raise ApiError("InvalidArgumentError", f'Invalid cursor "{cursor}"')
    return int(offset)


def parse_limit(request: Request, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """The ``limit`` query parameter, checked: an integer in ``1..maximum``."""
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError("InvalidArgumentError", f'limit must be an integer, got "{raw}"') from None
    if not 1 <= limit <= maximum:
        raise ApiError("InvalidArgumentError", f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def paginate(
    request: Request,
    items: Sequence[T],
    render: Callable[[T], Any],
    *,
    scope: str,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of ``items`` (already in order), rendered, with meta and links.

    Args:
        request: The request, for ``limit``, ``cursor`` and the links.
        items: The whole listing.
        render: Turns one item into its JSON form.
        scope: Names the listing; cursors only work for the listing that issued them.
        default_limit: Page size when ``limit`` is absent.
        max_limit: Largest ``limit`` accepted (400 above it).
        meta: Extra ``meta`` members (e.g. ``days_back``).
    """
    limit = parse_limit(request, default_limit, max_limit)
    cursor = request.query_params.get("cursor")
    offset = decode_cursor(cursor, scope) if cursor else 0
    page = items[offset : offset + limit]
    body_meta: dict[str, Any] = {"count": len(items), **(meta or {})}
    links = {"self": str(request.url)}
    end = offset + len(page)
    # A cursor only when the next page is non-empty, so no client ever sees an empty page
    # that still claims to continue.
    if page and end < len(items):
        next_cursor = encode_cursor(end, scope)
        body_meta["cursor"] = next_cursor
        links["next"] = str(request.url.include_query_params(cursor=next_cursor))
    return {"data": [render(item) for item in page], "meta": body_meta, "links": links}
