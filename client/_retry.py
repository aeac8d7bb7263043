"""The one place that decides whether a failed request is tried again, and when."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    DeadlineExceededError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    TooManyRequestsError,
    TransientError,
    UnexpectedResponseError,
    VirusTotalError,
)

#: Gateway answers a proxy in front of the API sends (often as an HTML page, without the
#: v3 envelope): the request may or may not have been handled, like a 503.
_GATEWAY_STATUSES = frozenset({502, 503, 504})

MAX_WRITE_ATTEMPTS = 3
"""A write (a request that is not idempotent) is attempted at most this many times, whatever
the retry policy allows reads: a resend is only ever made once the previous attempt is known not
to have happened, but each one still costs quota. A request the rate limiter refused (429) never
reached the write and is not an attempt of it: those are retried as reads are, within the
policy's ``max_retries``."""


class WriteOutcome(Enum):
    """What a failed write (``POST`` that creates something) left behind on the service."""

    NOT_DONE = "not_done"
    """Certainly not applied: sending it again cannot do anything twice."""
    UNCERTAIN = "uncertain"
    """It may have been applied with the answer lost: ask the service before sending it again."""
    FAILED = "failed"
    """Refused for a reason a resend does not change (bad input, no permission, daily quota)."""


def write_outcome(error: VirusTotalError, *, sent: bool) -> WriteOutcome:
    """Whether a write that failed with ``error`` was applied, may have been, or was refused.

    Not done (resent like a read, within :data:`MAX_WRITE_ATTEMPTS`):

    * a request that never left: connection refused, connect or pool timeout (``sent=False``);
    * a 429 (``TooManyRequestsError``, a minute ``QuotaExceededError``): the rate limiter
      refuses before the request is handled;
    * a 503 ``TransientError`` in the v3 envelope, or a bare 503 from a gateway: "Service
      Unavailable" is the service declining the request. The reference says only "Transient
      server error. Retry might work."; that nothing was applied is UNCONFIRMED, read from the
      HTTP meaning of 503 (a 504 ``DeadlineExceededError``, "the operation took too long to
      complete", may have finished, hence uncertain below).

    Uncertain (resolved by reading back, never by resending blindly):

    * the connection dropped or a read timed out after the request was sent;
    * a 504 ``DeadlineExceededError`` or a 502/504 gateway page: the backend may have finished
      after the proxy gave up;
    * a 200 whose body is cut short or is not JSON: the service did answer "done", and only
      the answer was lost.

    Anything else (4xx, a daily or monthly quota) failed for good: resending changes nothing.
    """
    if isinstance(error, QuotaExceededError):
        return WriteOutcome.FAILED if error.is_long_term else WriteOutcome.NOT_DONE
    if isinstance(error, TooManyRequestsError):
        return WriteOutcome.NOT_DONE
    if isinstance(error, (APITimeoutError, APIConnectionError)):
        return WriteOutcome.UNCERTAIN if sent else WriteOutcome.NOT_DONE
    if isinstance(error, TransientError):
        return WriteOutcome.NOT_DONE
    if isinstance(error, DeadlineExceededError):
        return WriteOutcome.UNCERTAIN
    if isinstance(error, ServerError) and error.status_code in _GATEWAY_STATUSES:
        return WriteOutcome.NOT_DONE if error.status_code == 503 else WriteOutcome.UNCERTAIN
    if isinstance(error, UnexpectedResponseError) and error.status_code == 200:
        return WriteOutcome.UNCERTAIN
    return WriteOutcome.FAILED


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
        if not idempotent:
            # A write is retried here only when it certainly did not happen; an uncertain one
            # is for the caller to resolve by reading back (``VirusTotalClient.write``).
            if write_outcome(error, sent=sent) is not WriteOutcome.NOT_DONE:
                return False
            return isinstance(error, RateLimitError) or attempt < MAX_WRITE_ATTEMPTS
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
        if isinstance(error, UnexpectedResponseError) and 200 <= error.status_code < 300:
            # A 2xx whose body did not decode (cut short on the way): asking again is as safe
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
