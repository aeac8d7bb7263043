"""The one place that decides whether a failed request is tried again, and when."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    DeadlineExceededError,
    QuotaExceededError,
    ServerError,
    TooManyRequestsError,
    TransientError,
    UnexpectedResponseError,
    VirusTotalError,
)

#: Gateway answers a proxy in front of the API sends (often as an HTML page, without the
#: v3 envelope): the request may or may not have been handled, like a 503.
_GATEWAY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, capped exponential backoff with jitter.

    Args:
        max_retries: retries after the first attempt (0 disables retrying).
        initial_delay: the first backoff, in seconds.
        max_delay: the cap of one backoff, in seconds.
        multiplier: growth of the backoff per retry.
        jitter: fraction of the delay drawn at random (0.25 → ±25 %).
        quota_delay: wait before retrying a minute-quota 429 without ``Retry-After``;
            the minute window needs most of a minute to clear.
        max_retry_after: a ``Retry-After`` longer than this is not waited for.
    """

    max_retries: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.25
    quota_delay: float = 30.0
    max_retry_after: float = 120.0

    def should_retry(self, error: VirusTotalError, *, attempt: int, idempotent: bool, sent: bool) -> bool:
        """Decide whether ``error`` on attempt ``attempt`` (1-based) is retried.

        Args:
            error: what the attempt raised.
            attempt: the attempt that failed, counting from 1.
            idempotent: repeating the request cannot do anything twice.
            sent: the request may have reached the server. A request that was never
                sent (connection refused, connect timeout) is safe to repeat whatever
                its method; one that was refused with 429 was not processed either.
        """
        if attempt > self.max_retries:
            return False
        if isinstance(error, QuotaExceededError):
            return not error.is_long_term
        if isinstance(error, TooManyRequestsError):
            return True
        if isinstance(error, (APITimeoutError, APIConnectionError)):
            return idempotent or not sent
        if isinstance(error, (TransientError, DeadlineExceededError)):
            return idempotent
        if isinstance(error, ServerError) and error.status_code in _GATEWAY_STATUSES:
            return idempotent
        if isinstance(error, UnexpectedResponseError) and error.status_code == 200:
            # A 200 whose body did not decode (cut short on the way): asking again is as safe
            # as the request itself.
            return idempotent
        return False

    def delay(self, error: VirusTotalError, *, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        if isinstance(error, QuotaExceededError):
            base = self.quota_delay
        else:
            base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))  # noqa: S311 - jitter, not crypto
