"""The quota's judge in tests and benchmarks: how many requests fell in the busiest minute."""

from __future__ import annotations

from collections.abc import Iterable


def most_in_a_minute(times: Iterable[float], window: float = 60.0) -> int:
    """The most of ``times`` (seconds) inside any ``window``-second span, however aligned."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(ordered):
        while t - ordered[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best
