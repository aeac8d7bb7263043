"""Bounded waiting: a deadline on a monotonic clock and growing intervals.

Two schedules. The proportional one (``precision``) pauses a fixed share of the time waited so
far: whatever the duration, the answer is seen at most ``precision`` of it late, and the polls
grow only with the logarithm of the duration. The geometric one (``factor``) multiplies the
pause by a constant; it is what callers get who ask for a ``factor``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._clock import SYSTEM_CLOCK, Clock
from ._errors import AnalysisTimeoutError, InvalidParameterError

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    ident: str,
    timeout: float,
    status: Callable[[T], str | None] = lambda _: None,
    initial_interval: float = 5.0,
    max_interval: float = 60.0,
    factor: float = 1.5,
    precision: float | None = None,
    age: Callable[[T], float | None] = lambda _: None,
    eta: Callable[[T], float | None] = lambda _: None,
    clock: Clock = SYSTEM_CLOCK,
) -> T:
    """Call ``fetch`` until ``done`` says so or ``timeout`` seconds have passed.

    The first call is immediate. With ``precision``, each pause is that share of how long the
    awaited thing has been going (the longer of the time waited here and what ``age`` says of
    the last result, e.g. an analysis' own date), between ``initial_interval`` and
    ``max_interval``; without it, the pause grows by ``factor`` up to ``max_interval``. When
    ``eta`` expects the end (seconds from now, by what the result says of its progress) sooner
    than that pause, the next call is made then instead, never sooner than ``initial_interval``.
    The last sleep is cut so as not to overshoot the deadline.

    Raises:
        AnalysisTimeoutError: the deadline passed; carries ``ident`` and the last status.
    """
    if timeout < 0 or initial_interval <= 0 or factor < 1:
        raise InvalidParameterError("timeout >= 0, initial_interval > 0 and factor >= 1 required")
    if precision is not None and precision <= 0:
        raise InvalidParameterError("precision > 0 required")
    start = clock.monotonic()
    deadline = start + timeout
    interval = initial_interval
    last_status: str | None = None
    while True:
        result = await fetch()
        if done(result):
            return result
        last_status = status(result)
        now = clock.monotonic()
        if now >= deadline:
            raise AnalysisTimeoutError(ident, now - start, last_status)
        if precision is not None:
            going = max(now - start, age(result) or 0.0)
            interval = min(max_interval, max(initial_interval, precision * going))
        pause = interval
        expected = eta(result)
        if expected is not None and expected >= 0:
            pause = min(pause, max(initial_interval, expected))
        pause = min(pause, deadline - now)
        logger.debug("%s is %s; next check in %.1fs", ident, last_status, pause)
        await clock.sleep(pause)
        if precision is None:
            interval = min(max_interval, interval * factor)


class PollBudget:
    """The polls of one API key in one process, spaced so that together they keep to their share.

    Each wait computes the shortest pause its key's quota allows it (``poll_floor``), but ten
    waits at that pause poll ten times the share. Every poll therefore takes a turn here first:
    turns are handed out in order, ``spacing`` seconds apart, whichever wait asks. One wait
    alone is not slowed; many share the budget.
    """

    def __init__(self) -> None:
        self._next = -math.inf

    async def turn(self, clock: Clock, spacing: float, deadline: float) -> bool:
        """Wait for the next free turn; False (after sleeping to ``deadline``) when it comes too late."""
        now = clock.monotonic()
        slot = max(now, self._next)
        if slot > deadline:
            await clock.sleep(max(0.0, deadline - now))
            return False
        self._next = slot + spacing
        if slot > now:
            await clock.sleep(slot - now)
        return True


# Per clock (tests run many fake clocks in one process; production has the system clock), then
# per key: a fingerprint of the API endpoint and key, never the key itself.
_BUDGETS: weakref.WeakKeyDictionary[Clock, dict[str, PollBudget]] = weakref.WeakKeyDictionary()


def poll_budget(clock: Clock, endpoint: str, api_key: str) -> PollBudget:
    """The process-wide poll budget of ``api_key`` at ``endpoint`` on ``clock``."""
    fingerprint = hashlib.sha256(f"{endpoint}\n{api_key}".encode()).hexdigest()
    return _BUDGETS.setdefault(clock, {}).setdefault(fingerprint, PollBudget())
