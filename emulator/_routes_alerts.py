"""The IoC Stream and livehunt notifications, served from the one ``NotificationStore``.

Routes (contract sections 5 and 6):

- ``GET /ioc_stream`` (``filter``, ``order=date-|date+``, ``limit`` <= 40, ``cursor``,
  ``descriptors_only``); ``DELETE /ioc_stream[?filter=]``;
  ``GET``/``DELETE /ioc_stream_notifications/{id}``.
- ``GET /intelligence/hunting_notifications`` (``filter``, ``order``, ``?relationships=file``),
  ``GET``/``DELETE .../{id}``, ``DELETE /intelligence/hunting_notifications[?tag=]``,
  ``GET /intelligence/hunting_notification_files``.

Every notification belongs to the ``user_id`` of the key that asks; another user's is 404.
Filters are space-separated tokens: ``date:<YYYY-MM-DD[THH:MM:SS]>+`` (at or after) and ``-``
(at or before; both inclusive, a guess), ``origin:``, ``entity_type:``, ``entity_id:``,
``source_type:``, ``source_id:``, ``notification_tag:`` and ``tag:`` (the same thing: the
contract is ambiguous, both are accepted). Livehunt lists take ``date:``, ``tag:`` and bare
words (matched against the tags). An unknown key is 400 ``BadRequestError``.

Ties on ``date`` are ordered by id. Cursors are the emulator's offset cursors: deleting items
while paging shifts later pages (the real API's cursor semantics are UNCONFIRMED). A cursor stops
working after :func:`expire_cursors` (a test handle for "the cursor expired"). Bulk deletion,
asynchronous at VirusTotal, happens at once here. DELETE answers ``{}`` (body UNCONFIRMED).
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, overload

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._notifications import HuntingNotification, IocStreamNotification, NotificationStore
from ._pagination import paginate
from ._render import api_base, caller, emulator_of, object_link, render_object

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["expire_cursors", "inject_hunting", "inject_ioc_stream", "routes"]

_ORIGINS = ("hunting", "subscriptions")
_ENTITY_TYPES = ("file", "url", "domain", "ip_address")
_IOC_KEYS = frozenset(
    {"date", "origin", "entity_type", "entity_id", "source_type", "source_id", "notification_tag", "tag"}
)
_HUNTING_KEYS = frozenset({"date", "tag"})
#: IoC Stream filter keys that take one of a few values: (the values, their name in the error).
_IOC_CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "origin": (_ORIGINS, "origins"),
    "entity_type": (_ENTITY_TYPES, "entity types"),
}

N = TypeVar("N", IocStreamNotification, HuntingNotification)


# ------------------------------------------------------------------------------ state
@dataclass
class _AlertState:
    """What this module keeps per store: cursor generation, deletions, sorted indexes."""

    generation: int = 0
    deletions: int = 0
    indexes: dict[tuple[str, str], tuple[tuple[int, int], list[Any], list[int]]] = field(default_factory=dict)


_STATES: weakref.WeakKeyDictionary[NotificationStore, _AlertState] = weakref.WeakKeyDictionary()


def _state(store: NotificationStore) -> _AlertState:
    state = _STATES.get(store)
    if state is None:
        state = _STATES[store] = _AlertState()
    return state


def expire_cursors(store: NotificationStore) -> None:
    """Make every cursor handed out so far invalid (400 ``InvalidArgumentError``)."""
    _state(store).generation += 1


def _sorted(store: NotificationStore, kind: str, owner: str) -> tuple[list[Any], list[int]]:
    """One owner's notifications of ``kind`` sorted by (date, id), and their dates.

    Cached until the store grows or something is deleted, so that paging a large stream does
    not sort it again for every page.
    """
    state = _state(store)
    items: list[Any] = store.ioc_stream if kind == "ioc" else store.hunting
    version = (len(items), state.deletions)
    cached = state.indexes.get((kind, owner))
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    mine = sorted((n for n in items if n.owner == owner), key=lambda n: (n.date, n.id))
    dates = [n.date for n in mine]
    state.indexes[(kind, owner)] = (version, mine, dates)
    return mine, dates


def _delete(store: NotificationStore, kind: str, doomed: set[str]) -> int:
    """Remove notifications by id from the store; how many went."""
    if not doomed:
        return 0
    with store._lock:
        items: list[Any] = store.ioc_stream if kind == "ioc" else store.hunting
        kept = [n for n in items if n.id not in doomed]
        removed = len(items) - len(kept)
        items[:] = kept
    _state(store).deletions += 1
    return removed


# --------------------------------------------------------------------------- filters
def _parse_date(raw: str) -> tuple[int, bool]:
    """``2026-01-01T10:00:00+`` -> (epoch, at_or_after)."""
    if not raw or raw[-1] not in "+-":
        raise ApiError("BadRequestError", f'Invalid date filter "{raw}": it must end with + or -')
    text, after = raw[:-1].rstrip("Z"), raw[-1] == "+"
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d" and not after:
            return int(moment.timestamp()) + 86399, after  # a whole day, inclusive
        return int(moment.timestamp()), after
    raise ApiError("BadRequestError", f'Invalid date "{raw[:-1]}" in filter')


@dataclass
class _Filter:
    """A parsed filter: date bounds and the other predicates."""

    since: int | None = None
    until: int | None = None
    checks: list[tuple[str, str]] = field(default_factory=list)
    """(what, value) pairs: origin, entity_type, entity_id, source_type, source_id, tag."""

    def accepts(self, n: Any) -> bool:
        return all(_check(n, what, value) for what, value in self.checks)

    def add_date(self, raw: str) -> None:
        """Narrow the date bounds by one ``date:`` term."""
        moment, after = _parse_date(raw)
        if after:
            self.since = moment if self.since is None else max(self.since, moment)
        else:
            self.until = moment if self.until is None else min(self.until, moment)


def _check(n: Any, what: str, value: str) -> bool:
    """One predicate of a filter on one notification."""
    if what == "entity_id":
        return bool(n.entity_id.lower() == value.lower())
    if what in ("origin", "entity_type"):
        return bool(getattr(n, what) == value)
    if what in ("source_type", "source_id"):
        return any(s.get(what.removeprefix("source_")) == value for s in n.sources)
    return value in n.tags


def _tokens(raw: str) -> Iterator[tuple[str | None, str]]:
    for token in raw.split():
        key, sep, value = token.partition(":")
        yield (key, value) if sep else (None, token)


def _ioc_filter(raw: str) -> _Filter:
    parsed = _Filter()
    for key, value in _tokens(raw):
        if key is None or key not in _IOC_KEYS:
            raise ApiError("BadRequestError", f'Invalid filter "{key or value}"')
        if key == "date":
            parsed.add_date(value)
            continue
        if key in _IOC_CHOICES:
            allowed, plural = _IOC_CHOICES[key]
            if value not in allowed:
                raise ApiError(
                    "BadRequestError",
                    f'{key} "{value}" is not valid. Valid {plural} are: {",".join(allowed)}',
                )
        parsed.checks.append(("tag" if key == "notification_tag" else key, value))
    return parsed


def _hunting_filter(raw: str) -> _Filter:
    parsed = _Filter()
    for key, value in _tokens(raw):
        if key is not None and key not in _HUNTING_KEYS:
            raise ApiError("BadRequestError", f'Invalid filter "{key}"')
        if key == "date":
            parsed.add_date(value)
        else:
            parsed.checks.append(("tag", value))
    return parsed


class _Window(Sequence[Any]):
    """A read-only slice of a list, forwards or backwards, without copying it."""

    def __init__(self, items: list[Any], start: int, stop: int, reverse: bool) -> None:
        self._items, self._start, self._stop, self._reverse = items, start, max(start, stop), reverse

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._items[self._stop - 1 - index if self._reverse else self._start + index]


def _listing(request: Request, kind: str, parsed: _Filter) -> Sequence[Any]:
    """The caller's notifications matching the filter, in the requested order."""
    order = request.query_params.get("order") or "date-"
    if order not in ("date+", "date-"):
        raise ApiError("BadRequestError", f'Invalid order "{order}". Valid orders are: date+,date-')
    store = emulator_of(request).notifications
    mine, dates = _sorted(store, kind, caller(request).owner)
    start = 0 if parsed.since is None else bisect.bisect_left(dates, parsed.since)
    stop = len(mine) if parsed.until is None else bisect.bisect_right(dates, parsed.until)
    window = _Window(mine, start, stop, reverse=order == "date-")
    if not parsed.checks:
        return window
    return [n for n in window if parsed.accepts(n)]


def _scope(request: Request, name: str) -> str:
    """Pagination scope: the listing, its filter and order, and the cursor generation."""
    state = _state(emulator_of(request).notifications)
    query = request.query_params
    return (
        f"{name}:{caller(request).owner}:{state.generation}:{query.get('filter', '')}:"
        f"{query.get('order', '')}:{query.get('descriptors_only', '')}:{query.get('relationships', '')}"
    )


def _truthy(raw: str | None) -> bool:
    return (raw or "").lower() in ("true", "1", "yes")


# -------------------------------------------------------------------------- rendering
def _entity(request: Request, kind: str, entity_id: str, descriptors_only: bool) -> dict[str, Any]:
    """The notified object in full, or minimal when the world does not have it."""
    if descriptors_only:
        return {"type": kind, "id": entity_id}
    emulator = emulator_of(request)
    base = api_base(request)
    obj = emulator.world.get(kind, entity_id)
    if obj is not None:
        return render_object(emulator.world, obj, base)
    attributes: dict[str, Any] = {"sha256": entity_id} if kind == "file" else {}
    return {
        "type": kind,
        "id": entity_id,
        "links": {"self": object_link(base, kind, entity_id)},
        "attributes": attributes,
    }


def _ioc_context(n: IocStreamNotification) -> dict[str, Any]:
    context: dict[str, Any] = {
        "notification_id": n.id,
        "notification_date": n.date,
        "origin": n.origin,
        "sources": [dict(s) for s in n.sources],
        "tags": list(n.tags),
    }
    if n.origin == "hunting" and n.hunting_info is not None:
        context["hunting_info"] = dict(n.hunting_info)
    return context


def _render_ioc(
    request: Request, descriptors_only: bool
) -> Callable[[IocStreamNotification], dict[str, Any]]:
    def render(n: IocStreamNotification) -> dict[str, Any]:
        return {
            **_entity(request, n.entity_type, n.entity_id, descriptors_only),
            "context_attributes": _ioc_context(n),
        }

    return render


def _render_hunting(request: Request, embed_file: bool) -> Callable[[HuntingNotification], dict[str, Any]]:
    base = api_base(request)

    def render(n: HuntingNotification) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "hunting_notification",
            "id": n.id,
            "links": {"self": f"{base}/intelligence/hunting_notifications/{n.id}"},
            "attributes": {
                "date": n.date,
                "rule_name": n.rule_name,
                "rule_tags": list(n.rule_tags),
                "snippet": n.snippet,
                "match_in_subfile": n.match_in_subfile,
                "source_country": n.source_country,
                "source_key": n.source_key,
                "tags": list(n.tags),
            },
        }
        if embed_file:
            out["relationships"] = {"file": {"data": {"type": "file", "id": n.sha256}}}
        return out

    return render


def _render_notification_file(request: Request) -> Callable[[HuntingNotification], dict[str, Any]]:
    def render(n: HuntingNotification) -> dict[str, Any]:
        return {
            **_entity(request, "file", n.sha256, False),
            "context_attributes": {
                "notification_id": n.id,
                "notification_date": n.date,
                "notification_snippet": n.snippet,
                "notification_source_key": n.source_key,
                "notification_tags": list(n.tags),
                "ruleset_id": n.ruleset_id,
                "ruleset_name": n.ruleset_name,
                "rule_name": n.rule_name,
                "rule_tags": list(n.rule_tags),
                "match_in_subfile": n.match_in_subfile,
            },
        }

    return render


# ----------------------------------------------------------------------------- routes
async def list_ioc_stream(request: Request) -> Response:
    """``GET /ioc_stream``."""
    parsed = _ioc_filter(request.query_params.get("filter", ""))
    items = _listing(request, "ioc", parsed)
    descriptors_only = _truthy(request.query_params.get("descriptors_only"))
    body = paginate(
        request, items, _render_ioc(request, descriptors_only), scope=_scope(request, "ioc_stream")
    )
    return JSONResponse(body)


async def delete_ioc_stream(request: Request) -> Response:
    """``DELETE /ioc_stream[?filter=]``: every matching notification of the caller."""
    parsed = _ioc_filter(request.query_params.get("filter", ""))
    emulator = emulator_of(request)
    store, owner, now = emulator.notifications, caller(request).owner, emulator.clock.time()
    if store.deleting_until.get(owner, 0.0) > now:
        # The reference's answer while a deletion runs: 429 with a code outside its table.
        body = {"error": {"code": "TooManyRequests", "message": "A deletion is already in progress"}}
        return JSONResponse(body, status_code=429)
    store.deleting_until[owner] = now + store.bulk_delete_seconds
    mine, _ = _sorted(store, "ioc", owner)
    doomed = {
        n.id
        for n in mine
        if (parsed.since is None or n.date >= parsed.since)
        and (parsed.until is None or n.date <= parsed.until)
        and parsed.accepts(n)
    }
    _delete(store, "ioc", doomed)
    return Response(status_code=200)  # an empty body, as the reference shows


def _own(request: Request, kind: str) -> Any:
    """The caller's notification named in the path, or 404."""
    store = emulator_of(request).notifications
    ident = request.path_params["id"]
    items: list[Any] = store.ioc_stream if kind == "ioc" else store.hunting
    owner = caller(request).owner
    found = next((n for n in items if n.id == ident and n.owner == owner), None)
    if found is None:
        raise ApiError("NotFoundError", f'Notification "{ident}" not found')
    return found


async def get_ioc_notification(request: Request) -> Response:
    """``GET /ioc_stream_notifications/{id}`` (attribute list UNCONFIRMED; a guess)."""
    n: IocStreamNotification = _own(request, "ioc")
    attributes = {"date": n.date, "entity_type": n.entity_type, "entity_id": n.entity_id}
    attributes.update(
        {k: v for k, v in _ioc_context(n).items() if k not in ("notification_id", "notification_date")}
    )
    data = {
        "type": "ioc_stream_notification",
        "id": n.id,
        "links": {"self": f"{api_base(request)}/ioc_stream_notifications/{n.id}"},
        "attributes": attributes,
    }
    return JSONResponse({"data": data})


async def delete_ioc_notification(request: Request) -> Response:
    """``DELETE /ioc_stream_notifications/{id}``."""
    n = _own(request, "ioc")
    _delete(emulator_of(request).notifications, "ioc", {n.id})
    return JSONResponse({})


async def list_hunting(request: Request) -> Response:
    """``GET /intelligence/hunting_notifications``."""
    parsed = _hunting_filter(request.query_params.get("filter", ""))
    items = _listing(request, "hunting", parsed)
    embed = "file" in request.query_params.get("relationships", "").split(",")
    body = paginate(request, items, _render_hunting(request, embed), scope=_scope(request, "hunting"))
    return JSONResponse(body)


async def get_hunting(request: Request) -> Response:
    """``GET /intelligence/hunting_notifications/{id}``."""
    n = _own(request, "hunting")
    embed = "file" in request.query_params.get("relationships", "").split(",")
    return JSONResponse({"data": _render_hunting(request, embed)(n)})


async def delete_hunting(request: Request) -> Response:
    """``DELETE /intelligence/hunting_notifications/{id}``."""
    n = _own(request, "hunting")
    _delete(emulator_of(request).notifications, "hunting", {n.id})
    return JSONResponse({})


async def delete_hunting_bulk(request: Request) -> Response:
    """``DELETE /intelligence/hunting_notifications[?tag=]``: all of the caller's, or by tag."""
    tag = request.query_params.get("tag")
    store = emulator_of(request).notifications
    mine, _ = _sorted(store, "hunting", caller(request).owner)
    _delete(store, "hunting", {n.id for n in mine if tag is None or tag in n.tags})
    return JSONResponse({})


async def list_notification_files(request: Request) -> Response:
    """``GET /intelligence/hunting_notification_files`` (newest first; filter keywords guessed)."""
    parsed = _hunting_filter(request.query_params.get("filter", ""))
    items = _listing(request, "hunting", parsed)
    raw_limit = request.query_params.get("count_limit")
    if raw_limit is not None:
        # A documented parameter; its exact effect is UNCONFIRMED: here, at most that many
        # notifications (newest first) are listed and counted.
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise ApiError("InvalidArgumentError", f'Invalid count_limit "{raw_limit}"')
        items = items[: int(raw_limit)]
    body = paginate(
        request, items, _render_notification_file(request), scope=_scope(request, "hunting_files")
    )
    return JSONResponse(body)


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    hunting = f"{API_PREFIX}/intelligence/hunting_notifications"
    return [
        Route(f"{API_PREFIX}/ioc_stream", list_ioc_stream, methods=["GET"]),
        Route(f"{API_PREFIX}/ioc_stream", delete_ioc_stream, methods=["DELETE"]),
        Route(f"{API_PREFIX}/ioc_stream_notifications/{{id}}", get_ioc_notification, methods=["GET"]),
        Route(f"{API_PREFIX}/ioc_stream_notifications/{{id}}", delete_ioc_notification, methods=["DELETE"]),
        Route(hunting, list_hunting, methods=["GET"]),
        Route(hunting, delete_hunting_bulk, methods=["DELETE"]),
        Route(f"{hunting}/{{id}}", get_hunting, methods=["GET"]),
        Route(f"{hunting}/{{id}}", delete_hunting, methods=["DELETE"]),
        Route(
            f"{API_PREFIX}/intelligence/hunting_notification_files", list_notification_files, methods=["GET"]
        ),
    ]


# ------------------------------------------------------------------------ test handles
def _owner(emulator: Emulator, key: str | None) -> str:
    if key is None:
        return next(iter(emulator.quotas)).owner
    api_key = emulator.quotas.get(key)
    if api_key is None:
        raise ValueError("unknown API key")
    return api_key.owner


def inject_ioc_stream(
    emulator: Emulator,
    *,
    key: str | None,
    date: int | None,
    origin: str,
    entity_type: str,
    entity_id: str | None,
    **fields: Any,
) -> IocStreamNotification:
    """Add an IoC Stream entry for the owner of ``key`` (see ``Emulator.inject_ioc_notification``)."""
    if origin not in _ORIGINS or entity_type not in _ENTITY_TYPES:
        raise ValueError(f"bad origin {origin!r} or entity_type {entity_type!r}")
    when = int(emulator.clock.time()) if date is None else int(date)
    ident = entity_id if entity_id is not None else emulator.world.pick(entity_type)
    if origin == "hunting" and "hunting_info" not in fields:
        fields["hunting_info"] = {
            "rule_name": "emulated_rule",
            "rule_tags": [],
            "snippet": "",
            "source_country": None,
            "source_key": None,
        }
        fields.setdefault(
            "sources", [{"type": "hunting_ruleset", "id": "emulated-ruleset", "label": "emulated"}]
        )
    return emulator.notifications.add_ioc_stream(
        owner=_owner(emulator, key),
        date=when,
        origin=origin,  # type: ignore[arg-type]
        entity_type=entity_type,  # type: ignore[arg-type]
        entity_id=ident,
        **fields,
    )


def inject_hunting(
    emulator: Emulator, *, key: str | None, date: int | None, sha256: str | None, **fields: Any
) -> HuntingNotification:
    """Add a livehunt notification (and its IoC Stream entry) for the owner of ``key``."""
    when = int(emulator.clock.time()) if date is None else int(date)
    fields.setdefault("ruleset_id", "emulated-ruleset")
    fields.setdefault("ruleset_name", "emulated")
    fields.setdefault("rule_name", "emulated_rule")
    return emulator.notifications.add_hunting(
        owner=_owner(emulator, key), date=when, sha256=sha256 or emulator.world.pick("file"), **fields
    )
