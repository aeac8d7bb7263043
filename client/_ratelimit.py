"""Client-side pacing: never provoke a 429, never spend more than the day's budget.

A limiter hands out *reservations*: under a thread lock it picks the earliest time at
which one more request keeps every window within its limit, records it, and the caller
sleeps until then. Reservations make the limiter safe across threads and event loops
(Prefect runs tasks in worker threads, each with its own loop), and a sliding window
guarantees that no 60-second span, however it is aligned, holds more than the key's
per-minute quota, so a server counting fixed minutes never sees too many either.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
from datetime import datetime, timezone
from typing import Protocol

from ._clock import SYSTEM_CLOCK, Clock
from ._errors import InvalidParameterError, RequestBudgetExceededError

logger = logging.getLogger(__name__)


class RateLimiter(Protocol):
    """Anything that can pace requests."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent; raise if the budget is spent."""
        ...


class _SlidingWindow:
    """At most ``limit`` reservations in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.window = window
        self.times: collections.deque[float] = collections.deque(maxlen=limit)

    def earliest(self, now: float) -> float:
        if len(self.times) < (self.times.maxlen or 0):
            return now
        return max(now, self.times[0] + self.window)

    def record(self, at: float) -> None:
        self.times.append(at)


class LocalRateLimiter:
    """Paces requests in this process.

    Args:
        requests_per_minute: the key's minute quota (public keys: 4).
        burst: most requests sent back to back; spreads a large quota evenly.
            Defaults to ``requests_per_minute`` (only the minute window applies).
        daily_budget: most requests per UTC day from this limiter; None for no limit.
        margin: seconds added to each window, so that a request that leaves just in
            time does not arrive a little early by the server's clock.
        clock: the clock to read and sleep on.
    """

    def __init__(
        self,
        requests_per_minute: int,
        *,
        burst: int | None = None,
        daily_budget: int | None = None,
        margin: float = 0.25,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if requests_per_minute < 1:
            raise InvalidParameterError("requests_per_minute must be at least 1")
        burst = requests_per_minute if burst is None else burst
        if not 1 <= burst <= requests_per_minute:
            raise InvalidParameterError("burst must be between 1 and requests_per_minute")
        if daily_budget is not None and daily_budget < 0:
            raise InvalidParameterError("daily_budget must not be negative")
        self.requests_per_minute = requests_per_minute
        self.daily_budget = daily_budget
        self._clock = clock
        self._lock = threading.Lock()
        self._windows = [_SlidingWindow(requests_per_minute, 60.0 + margin)]
        if burst < requests_per_minute:
            self._windows.append(_SlidingWindow(burst, 60.0 * burst / requests_per_minute))
        self._day: str | None = None
        self._used_today = 0

    def reserve(self) -> float:
        """Reserve the next slot and return how long to wait for it (seconds)."""
        with self._lock:
            day = datetime.fromtimestamp(self._clock.time(), tz=timezone.utc).strftime("%Y-%m-%d")
            if day != self._day:
                self._day, self._used_today = day, 0
            if self.daily_budget is not None and self._used_today >= self.daily_budget:
                raise RequestBudgetExceededError(
                    f"daily request budget of {self.daily_budget} is spent for {day} "
                    "(it resets at 00:00 UTC); no request was sent",
                    scope="daily",
                )
            now = self._clock.monotonic()
            at = max(window.earliest(now) for window in self._windows)
            for window in self._windows:
                window.record(at)
            self._used_today += 1
            return at - now

    async def acquire(self) -> None:
        """Wait for a slot (see :meth:`reserve`)."""
        wait = self.reserve()
        if wait > 0:
            logger.debug("rate limiter: waiting %.2fs for a request slot", wait)
            await self._clock.sleep(wait)


_SHARED: dict[tuple[str, int, int | None, int | None], LocalRateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(
    api_key: str,
    requests_per_minute: int,
    *,
    burst: int | None = None,
    daily_budget: int | None = None,
) -> LocalRateLimiter:
    """The one limiter of this process for a key and its settings.

    Every client built for the same key in this process (a task run builds its own
    client) draws from the same limiter, so concurrent tasks share the key's quota.
    The key is held only as a SHA-256 fingerprint.
    """
    fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
    key = (fingerprint, requests_per_minute, burst, daily_budget)
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = LocalRateLimiter(requests_per_minute, burst=burst, daily_budget=daily_budget)
            _SHARED[key] = limiter
        return limiter
