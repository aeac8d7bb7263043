"""The clock the client waits on; tests inject a fake one."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


# Runtime-checkable so that a flow can take a clock as a parameter (Prefect validates them).
@runtime_checkable
class Clock(Protocol):
    """What the limiter, retries and polling need from a clock."""

    def time(self) -> float:
        """Wall-clock epoch seconds (for daily budgets that reset at 00:00 UTC)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (for deadlines and pacing)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
