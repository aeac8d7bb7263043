"""Clocks for the emulator: the wall clock, or a fake one that tests move by hand.

The emulator only needs ``time()`` (epoch seconds, for quota windows and dates). The two
concrete clocks also offer ``monotonic()`` and ``async sleep()`` so a test can hand the *same*
``FakeClock`` to a client-side rate limiter and to the emulator: sleeping in the limiter then
moves the emulator's quota windows too, and no test waits for real time to pass.
"""

from __future__ import annotations

import asyncio
import time as _time
from typing import Protocol, runtime_checkable

__all__ = ["DEFAULT_FAKE_EPOCH", "EmulatorClock", "FakeClock", "ScaledClock", "SystemClock"]

#: 2026-01-01T00:00:00Z, a midnight and a month start, so day/month windows are easy to reason about.
DEFAULT_FAKE_EPOCH = 1767225600.0


@runtime_checkable
class EmulatorClock(Protocol):
    """What the emulator needs from a clock: the current time in epoch seconds (UTC)."""

    def time(self) -> float:
        """Return the current time as epoch seconds."""
        ...


class SystemClock:
    """The real clock: ``time.time``, ``time.monotonic`` and ``asyncio.sleep``."""

    def time(self) -> float:
        """Return the wall-clock time as epoch seconds."""
        return _time.time()

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return _time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ScaledClock:
    """The wall clock run ``scale`` times faster, from the moment it is made.

    Everything the emulator times reads this one clock (analysis phases, retrohunt phases,
    quota windows, dates), so ``scale=60`` turns a ten-minute retrohunt into ten seconds and a
    minute's quota window into one second. ``sleep`` waits the real time that corresponds.

    Args:
        scale: how many emulated seconds pass per real second (greater than 0).
    """

    def __init__(self, scale: float) -> None:
        if not scale > 0:
            raise ValueError("the time scale must be greater than 0")
        self.scale = float(scale)
        self._wall_start = _time.time()
        self._mono_start = _time.monotonic()

    def _elapsed(self) -> float:
        return (_time.monotonic() - self._mono_start) * self.scale

    def time(self) -> float:
        """Epoch seconds: the start's wall time plus the scaled time since."""
        return self._wall_start + self._elapsed()

    def monotonic(self) -> float:
        """Scaled seconds since the clock was made (never goes backwards)."""
        return self._elapsed()

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of scaled time have passed."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self.scale!r})"


class FakeClock:
    """A clock that only moves when told to, for deterministic tests.

    ``sleep()`` advances the fake time instead of waiting, then yields to the event loop once so
    that concurrent tasks still interleave.

    Args:
        start: Initial time in epoch seconds; defaults to 2026-01-01T00:00:00Z.

    Example:
        >>> clock = FakeClock()
        >>> clock.advance(61)
        >>> clock.time() - DEFAULT_FAKE_EPOCH
        61.0
    """

    def __init__(self, start: float = DEFAULT_FAKE_EPOCH) -> None:
        self._now = float(start)

    def time(self) -> float:
        """Return the fake time as epoch seconds."""
        return self._now

    def monotonic(self) -> float:
        """Return the fake time; it never goes backwards, so it is a valid monotonic clock."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("a clock cannot move backwards")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` and yield to the event loop once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"
