"""API keys, their tiers and the per-key request quotas.

Windows follow VirusTotal's description of its quotas: the minute window is a *fixed* window
aligned to the clock's minute (``floor(t / 60)``), the day resets at 00:00 UTC and the month on
the 1st at 00:00 UTC. An hourly counter is kept for reporting only (its allowance is 60 x the
minute quota, so the minute quota already bounds it).

A request that is refused does not consume quota; requests refused earlier (by authentication or
by an injected fault) never reach the quota book.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from ._clock import EmulatorClock

__all__ = ["ApiKey", "KeyTier", "QuotaBook", "QuotaUsage"]


class KeyTier(str, Enum):
    """The kinds of key VirusTotal sells; the tier sets default quotas."""

    PUBLIC = "public"
    PREMIUM = "premium"


# (per minute, per day, per month). Public figures are VirusTotal's published ones; premium
# keys have contract-specific quotas, so these defaults are just "large".
_TIER_DEFAULTS: dict[KeyTier, tuple[int, int, int]] = {
    KeyTier.PUBLIC: (4, 500, 15_500),
    KeyTier.PREMIUM: (1_000, 1_000_000, 31_000_000),
}


@dataclass(frozen=True, repr=False)
class ApiKey:
    """A key the emulator accepts, with its quotas.

    Args:
        key: The secret sent in the ``x-apikey`` header.
        tier: ``KeyTier.PUBLIC`` or ``KeyTier.PREMIUM``; sets the default quotas.
        per_minute: Minute quota; ``None`` means the tier default.
        per_day: Daily quota; ``None`` means the tier default.
        per_month: Monthly quota; ``None`` means the tier default.
        user_id: Id of the owning user object; derived from the key when omitted.
        active: An inactive key is answered with ``UserNotActiveError``.
    """

    key: str
    tier: KeyTier = KeyTier.PUBLIC
    per_minute: int | None = None
    per_day: int | None = None
    per_month: int | None = None
    user_id: str | None = None
    active: bool = True

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("an API key must be a non-empty string")
        # Accept the plain strings "public"/"premium" too, and normalise to the enum.
        object.__setattr__(self, "tier", KeyTier(self.tier))
        for name in ("per_minute", "per_day", "per_month"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def minute_quota(self) -> int:
        """Requests allowed per clock minute."""
        return self.per_minute if self.per_minute is not None else _TIER_DEFAULTS[self.tier][0]

    @property
    def hourly_quota(self) -> int:
        """Requests allowed per hour (reported only; bounded by the minute quota)."""
        return self.minute_quota * 60

    @property
    def daily_quota(self) -> int:
        """Requests allowed per UTC day."""
        return self.per_day if self.per_day is not None else _TIER_DEFAULTS[self.tier][1]

    @property
    def monthly_quota(self) -> int:
        """Requests allowed per UTC calendar month."""
        return self.per_month if self.per_month is not None else _TIER_DEFAULTS[self.tier][2]

    @property
    def owner(self) -> str:
        """The id of the user object that owns this key."""
        if self.user_id:
            return self.user_id
        return "user-" + hashlib.sha256(self.key.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        # Keys are fiction here, but keep the habit of never printing one whole.
        return f"ApiKey(key={self.key[:4]!r}..., tier={self.tier.value!r}, owner={self.owner!r})"


@dataclass
class _Window:
    """One counter: which window it belongs to and how many requests it saw."""

    window: int = -1
    used: int = 0

    def current(self, window: int) -> int:
        return self.used if window == self.window else 0

    def add(self, window: int) -> None:
        if window != self.window:
            self.window, self.used = window, 0
        self.used += 1


@dataclass
class _Counters:
    minute: _Window = field(default_factory=_Window)
    hour: _Window = field(default_factory=_Window)
    day: _Window = field(default_factory=_Window)
    month: _Window = field(default_factory=_Window)


@dataclass(frozen=True)
class QuotaUsage:
    """A snapshot of one key's quota use: ``(allowed, used)`` per period."""

    minute: tuple[int, int]
    hourly: tuple[int, int]
    daily: tuple[int, int]
    monthly: tuple[int, int]


def _windows(now: float) -> tuple[int, int, int, int]:
    """Window ids for minute, hour, day (UTC) and calendar month (UTC) at ``now``."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    return int(now // 60), int(now // 3600), int(now // 86400), moment.year * 12 + moment.month


class QuotaBook:
    """The registered keys and their counters, on an injectable clock.

    Args:
        clock: Where "now" comes from; share a ``FakeClock`` with tests to move windows.
    """

    def __init__(self, clock: EmulatorClock) -> None:
        self._clock = clock
        self._keys: dict[str, ApiKey] = {}
        self._counters: dict[str, _Counters] = {}

    def register(self, api_key: ApiKey) -> ApiKey:
        """Add (or replace) a key; its counters start at zero."""
        self._keys[api_key.key] = api_key
        self._counters[api_key.key] = _Counters()
        return api_key

    def get(self, key: str) -> ApiKey | None:
        """The registered key with this secret, if any."""
        return self._keys.get(key)

    def by_user(self, user_id: str) -> ApiKey | None:
        """The first registered key owned by ``user_id``, if any."""
        return next((k for k in self._keys.values() if k.owner == user_id), None)

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def consume(self, api_key: ApiKey) -> str | None:
        """Count one request, or return the refusal message if a quota is spent.

        The longest period is checked first so that a client learns about the quota that will
        not come back soon (a spent monthly quota is reported as monthly, not as minute).
        """
        minute, hour, day, month = _windows(self._clock.time())
        counters = self._counters.setdefault(api_key.key, _Counters())
        if counters.month.current(month) >= api_key.monthly_quota:
            return (
                f"Quota exceeded: monthly quota of {api_key.monthly_quota} requests used up "
                "(resets on the 1st of the month at 00:00 UTC)"
            )
        if counters.day.current(day) >= api_key.daily_quota:
            return (
                f"Quota exceeded: daily quota of {api_key.daily_quota} requests used up (resets at 00:00 UTC)"
            )
        if counters.minute.current(minute) >= api_key.minute_quota:
            return (
                f"Quota exceeded: minute quota of {api_key.minute_quota} requests used up "
                "(resets at the start of the next minute)"
            )
        counters.minute.add(minute)
        counters.hour.add(hour)
        counters.day.add(day)
        counters.month.add(month)
        return None

    def usage(self, api_key: ApiKey) -> QuotaUsage:
        """How much of each quota ``api_key`` has used in the current windows."""
        minute, hour, day, month = _windows(self._clock.time())
        counters = self._counters.setdefault(api_key.key, _Counters())
        return QuotaUsage(
            minute=(api_key.minute_quota, counters.minute.current(minute)),
            hourly=(api_key.hourly_quota, counters.hour.current(hour)),
            daily=(api_key.daily_quota, counters.day.current(day)),
            monthly=(api_key.monthly_quota, counters.month.current(month)),
        )
