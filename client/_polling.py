"""Bounded waiting: a deadline on a monotonic clock and growing intervals.

Two schedules. The proportional one (``precision``) pauses a fixed share of the time waited so
far: whatever the duration, the answer is seen at most ``precision`` of it late, and the polls
grow only with the logarithm of the duration. The geometric one (``factor``) multiplies the
pause by a constant; it is what callers get who ask for a ``factor``.
"""

from __future__ import annotations

import logging
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
    clock: Clock = SYSTEM_CLOCK,
) -> T:
    """Call ``fetch`` until ``done`` says so or ``timeout`` seconds have passed.

    The first call is immediate. With ``precision``, each pause is that share of how long the
    awaited thing has been going (the longer of the time waited here and what ``age`` says of
    the last result, e.g. an analysis' own date), between ``initial_interval`` and
    ``max_interval``; without it, the pause grows by ``factor`` up to ``max_interval``. The
    last sleep is cut so as not to overshoot the deadline.

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
        pause = min(interval, deadline - now)
        logger.debug("%s is %s; next check in %.1fs", ident, last_status, pause)
        await clock.sleep(pause)
        if precision is None:
            interval = min(max_interval, interval * factor)
