"""``Emulator``: the handle tests and runbooks hold (app, transport, world, keys, faults, log)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import httpx
from starlette.types import ASGIApp

from ._app import create_app
from ._clock import EmulatorClock, SystemClock
from ._collections import CollectionStore
from ._faults import ConnectionDropped, FaultPlan
from ._hunting import HuntingState
from ._notifications import HuntingNotification, IocStreamNotification, NotificationStore
from ._quota import ApiKey, KeyTier, QuotaBook
from ._requests import RequestLog, RequestRecord
from ._scanning import ScanningState
from ._soc import SocState
from ._vt_alerts import AlertingNotification, VtAlertsState
from ._world import World

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_BODY_BYTES",
    "DEMO_KEYS",
    "PREMIUM_DEMO_KEY",
    "PUBLIC_DEMO_KEY",
    "Emulator",
]

#: Base URL for in-process use; the host never resolves, requests go through ``transport()``.
DEFAULT_BASE_URL = "http://vt-emulator.test/api/v3"
#: 700 MiB: above the real API's 650 MB large-upload limit, so that limit can be emulated later.
DEFAULT_MAX_BODY_BYTES = 700 * 1024 * 1024
PUBLIC_DEMO_KEY = "emulator-public-key"
PREMIUM_DEMO_KEY = "emulator-premium-key"
#: The keys an emulator accepts when none are given.
DEMO_KEYS: tuple[ApiKey, ...] = (
    ApiKey(PUBLIC_DEMO_KEY, KeyTier.PUBLIC, user_id="emulator-public"),
    ApiKey(PREMIUM_DEMO_KEY, KeyTier.PREMIUM, user_id="emulator-premium"),
)


class _EmulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` that reports dropped connections the way a socket would."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


class Emulator:
    """An offline VirusTotal API v3: a seeded world behind an ASGI app.

    Args:
        seed: Seed of the world (and of the fault RNG).
        clock: Time source for quotas and the request log; a ``FakeClock`` in tests.
        keys: Accepted keys (``ApiKey`` or plain strings, which become public keys);
            ``DEMO_KEYS`` when omitted.
        world: Use this world instead of building ``World(seed)`` (worlds are mutable:
            share one only between emulators that do not add to it).
        base_url: What ``base_url`` reports (in-process default ``DEFAULT_BASE_URL``).
        max_body_bytes: Larger request bodies are answered with 413.

    Example:
        >>> import httpx
        >>> emulator = Emulator(seed=0)
        >>> client = httpx.AsyncClient(
        ...     transport=emulator.transport(),
        ...     base_url=emulator.base_url,
        ...     headers={"x-apikey": PUBLIC_DEMO_KEY},
        ... )
    """

    def __init__(
        self,
        seed: int = 0,
        clock: EmulatorClock | None = None,
        keys: Iterable[ApiKey | str] | None = None,
        *,
        world: World | None = None,
        base_url: str = DEFAULT_BASE_URL,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.seed = seed
        self.clock: EmulatorClock = clock if clock is not None else SystemClock()
        self.world = world if world is not None else World(seed)
        self.quotas = QuotaBook(self.clock)
        for key in DEMO_KEYS if keys is None else keys:
            self.quotas.register(key if isinstance(key, ApiKey) else ApiKey(key))
        self.faults = FaultPlan(seed)
        self.log = RequestLog()
        self.notifications = NotificationStore()
        """IoC Stream entries and livehunt notifications (see ``_notifications``)."""
        self.collections = CollectionStore(self.world, self.clock, self.notifications)
        """IoC collections, their items, comments and followers (see ``_collections``)."""
        self.hunting = HuntingState(self.world, self.clock, self.notifications)
        """Retrohunt jobs and livehunt rulesets (see ``_hunting``); livehunt runs on new files."""
        self.vt_alerts = VtAlertsState(self.world, self.clock)
        """VT Alerts: watchlist assets and their notifications (see ``_vt_alerts``)."""
        self.scanning = ScanningState()
        """Submissions, the analysis lifecycle, upload URLs and private scanning (see ``_scanning``)."""
        self.soc = SocState()
        """Download tampering, comments and votes (see ``_soc``)."""
        self.base_url = base_url
        self.max_body_bytes = max_body_bytes
        self.app: ASGIApp = create_app(self)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls the app in process (no sockets).

        A dropped-connection fault surfaces as ``httpx.RemoteProtocolError``.
        """
        return _EmulatorTransport(self.app)

    def add_key(
        self,
        key: str,
        tier: KeyTier | str = KeyTier.PUBLIC,
        per_minute: int | None = None,
        per_day: int | None = None,
        per_month: int | None = None,
        *,
        user_id: str | None = None,
        active: bool = True,
    ) -> ApiKey:
        """Accept another key (replacing one with the same secret, counters reset)."""
        api_key = ApiKey(key, KeyTier(tier), per_minute, per_day, per_month, user_id, active)
        return self.quotas.register(api_key)

    def follow_collection(self, collection_id: str, key: str) -> None:
        """Make the user of ``key`` (a key's secret or a user id) follow a collection.

        Items added to it from then on reach that user's IoC Stream (origin ``subscriptions``).
        """
        api_key = self.quotas.get(key)
        self.collections.follow(collection_id, api_key.owner if api_key is not None else key)

    def add_file(
        self,
        content: bytes,
        *,
        nature: str = "undetected",
        names: Sequence[str] = (),
        family: str | None = None,
    ) -> str:
        """Add a file to the world as if it had just been submitted; returns its SHA-256.

        Enabled livehunt rulesets run over it (through ``World.on_file_added``), so a match
        shows up at once in ``notifications``. Its submission dates are the clock's now.
        """
        now = int(self.clock.time())
        return self.world.add_file(content, nature=nature, names=names, date=now, family=family)

    @property
    def keys(self) -> list[ApiKey]:
        """The accepted keys."""
        return list(self.quotas)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request seen so far, oldest first (the live list)."""
        return self.log.records

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        key: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match every filter given (see ``RequestLog.count``)."""
        return self.log.count(method=method, path_prefix=path_prefix, key=key, status=status)

    def reset_log(self) -> None:
        """Forget the logged requests (quotas are not touched)."""
        self.log.clear()

    def serving(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Serve over a real socket from a background thread; yields the base URL.

        Example:
            >>> with Emulator().serving() as base_url:  # doctest: +SKIP
            ...     httpx.get(f"{base_url}/files/...", headers={"x-apikey": PUBLIC_DEMO_KEY})
        """
        from ._server import serve_in_thread  # uvicorn is only needed when serving

        return serve_in_thread(self, host, port)

    def inject_ioc_notification(
        self,
        *,
        key: str | None = None,
        date: int | None = None,
        origin: str = "subscriptions",
        entity_type: str = "file",
        entity_id: str | None = None,
        **fields: Any,
    ) -> IocStreamNotification:
        """Test handle: add an IoC Stream entry with a chosen date (epoch seconds).

        ``key`` names the owner (the first key when omitted); ``date`` defaults to the clock;
        ``entity_id`` to an object of the world. ``fields``: ``sources``, ``tags``,
        ``hunting_info``.
        """
        from ._routes_alerts import inject_ioc_stream

        return inject_ioc_stream(
            self, key=key, date=date, origin=origin, entity_type=entity_type, entity_id=entity_id, **fields
        )

    def inject_vt_alert(
        self,
        *,
        key: str | None = None,
        created: float | None = None,
        entity_type: str = "domain",
        entity_id: str | None = None,
        detection_category: str = "DETECTED_DOMAIN",
        event_severity: str = "high",
        use_case_category: str = "CORPORATE_INFRASTRUCTURE_ABUSE",
    ) -> AlertingNotification:
        """Test handle: add a VT Alerts notification (``created`` in epoch seconds)."""
        api_key = self.quotas.get(key) if key is not None else next(iter(self.keys))
        if api_key is None:
            raise KeyError(key)
        return self.vt_alerts.add_notification(
            api_key.owner,
            entity_type=entity_type,
            entity_id=entity_id or self.world.pick(entity_type),
            detection_category=detection_category,
            event_severity=event_severity,
            use_case_category=use_case_category,
            created=created,
        )

    def inject_hunting_notification(
        self, *, key: str | None = None, date: int | None = None, sha256: str | None = None, **fields: Any
    ) -> HuntingNotification:
        """Test handle: add a livehunt notification (and its IoC Stream entry) with a chosen date."""
        from ._routes_alerts import inject_hunting

        return inject_hunting(self, key=key, date=date, sha256=sha256, **fields)

    def expire_notification_cursors(self) -> None:
        """Test handle: every IoC Stream / livehunt cursor handed out so far stops working."""
        from ._routes_alerts import expire_cursors

        expire_cursors(self.notifications)

    def __repr__(self) -> str:
        return f"Emulator(seed={self.seed}, keys={len(self.quotas)}, clock={self.clock!r})"
