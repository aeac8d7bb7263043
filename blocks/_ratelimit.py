"""One VirusTotal quota shared by every flow run on every worker: a Prefect rate limit.

The limit is a Prefect *global concurrency limit* used as a rate limit, created by
``deployments/setup.py`` and named in the credentials block (``rate_limit_name``, by
default ``virustotal-<block name>``). Every process that builds a client from that block
draws its request slots from it, so three runs on two workers share one key's quota.

Why not ``prefect.concurrency.asyncio.rate_limit`` per request? Prefect's server decays
active slots by ``floor(decay x seconds since the row was last updated)`` and *every*
update, a refused attempt included, restarts that clock. Polling a full limit therefore
throws away the decay it was waiting for, and Prefect's client then backs off by a
Retry-After that grows with the refusals: plain ``rate_limit`` reaches 65-80 % of the
configured rate. :class:`PrefectRateLimiter` instead

1. counts in hundredths: a request is ``SLOTS_PER_REQUEST`` (100) slots, so the floor in
   the decay loses at most a hundredth of a request per update instead of up to one;
2. takes several requests' slots per server round trip: as many as this process has
   requests waiting, at most the batch ``k``, while the limit holds ``k + 1`` requests: the
   spare one absorbs a take that lands late (a busy host, a slow round trip), where with
   no headroom the bucket would sit empty and that time would be lost;
3. reads the limit first (a read updates nothing), waits until the slots it needs have
   decayed (computed from ``active_slots``, ``updated`` and the decay rate) and reads again
   before it asks, so that an attempt is refused only when another process took the same
   slots a moment earlier
   (this needs the hosts' clocks in step with the database's, as NTP keeps them; a clock
   that runs ahead only costs refusals, never an extra request);
4. spends the slots locally, in this process, across task runs and threads, and drops
   slots not spent within ``SLOT_TTL`` seconds, so a slot is never used long after it was
   taken.

Why no 429, whoever takes slots from the limit and how many at a time: a bucket that holds
``c`` requests and decays at ``r`` requests per second hands out at most ``c + r x W``
requests' worth in any ``W`` seconds. A slot is sent at most ``SLOT_TTL`` (plus latency)
after it was taken, so the requests in any 60-second span were taken within less than
``60 + GUARD_SECONDS``. With ``r = (q - c + 1) / (60 + GUARD_SECONDS)`` for a quota of ``q``
per minute, that is at most ``q``: no minute, however aligned, sees more.
:func:`rate_limit_settings` computes the limit's ``(limit, slot_decay_per_second)``; the
most it allows is ``(q - c + 1) / q x 60 / 61.5`` of the quota (97.5 % for a public key
with ``c = 1``, 95.1 % for 360/min with ``k = 9, c = 10``). A limit whose ``limit`` is not a
multiple of 100 (made by hand, ``prefect gcl create``) is read as one slot per request.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from prefect_virustotal.client import VirusTotalError

logger = logging.getLogger(__name__)

GUARD_SECONDS = 1.5
"""Seconds added to the minute when the decay rate is derived from a per-minute quota."""
SLOT_TTL = 0.5
"""Seconds a slot taken from the server may wait locally before it is dropped unspent."""
SLOTS_PER_REQUEST = 100
"""Slots per request in limits made by the set-up (a ``limit`` that is a multiple of 100)."""
MAX_BATCH = 20
"""Largest batch the set-up derives from a quota (one server round trip per batch)."""
_EPSILON = 0.01
_POLL = 0.02


class SharedRateLimitError(VirusTotalError, RuntimeError):
    """The Prefect global concurrency limit is missing or cannot be used as a rate limit.

    Never a silent no-op: without the limit, runs on several workers would overrun the
    key's quota together.
    """


def rate_limit_name_for(block_name: str) -> str:
    """The global concurrency limit name the set-up gives a credentials block's quota.

    Example:
        >>> rate_limit_name_for("virustotal")
        'virustotal-virustotal'
    """
    return f"virustotal-{block_name}"


def rate_limit_settings(requests_per_minute: int, batch: int | None = None) -> tuple[int, float]:
    """``(limit, slot_decay_per_second)`` of the global concurrency limit for a quota.

    Args:
        requests_per_minute: the key's per-minute quota.
        batch: most slots taken per server round trip; by default one fortieth of the
            quota, between 1 and ``MAX_BATCH`` (a larger batch costs quota headroom).

    Returns:
        The limit and the decay rate, in slots (hundredths of a request).

    Example:
        >>> rate_limit_settings(4)  # one request at a time, 4 per 61.5 s
        (100, 6.504065040650407)
    """
    if requests_per_minute < 1:
        raise ValueError("requests_per_minute must be at least 1")
    k = batch if batch is not None else max(1, min(MAX_BATCH, requests_per_minute // 40))
    if not 1 <= k <= requests_per_minute:
        raise ValueError("batch must be between 1 and requests_per_minute")
    # One request of headroom above the batch absorbs a late take (see the module docstring);
    # below 40/min a round trip every 1.5 s or more makes lateness negligible.
    capacity = k + 1 if requests_per_minute >= 40 and k < requests_per_minute else k
    decay = (requests_per_minute - capacity + 1) / (60.0 + GUARD_SECONDS)
    return capacity * SLOTS_PER_REQUEST, decay * SLOTS_PER_REQUEST


@dataclass
class _Bank:
    """The slots this process holds for one limit (shared by threads and event loops)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    expiries: collections.deque[float] = field(default_factory=collections.deque)
    fetching: bool = False
    waiting: int = 0
    taken: int = 0
    expired: int = 0
    refused: int = 0


_BANKS: dict[str, _Bank] = {}
_BANKS_LOCK = threading.Lock()


def _bank(name: str) -> _Bank:
    with _BANKS_LOCK:
        return _BANKS.setdefault(name, _Bank())


def _seconds_until_free(
    *, limit: int, active: int, decay: float, updated: datetime | None, want: int, now: datetime
) -> float:
    """How long until ``want`` slots are free, by the server's decay arithmetic."""
    if active + want <= limit or updated is None:
        return 0.0
    elapsed = max(0.0, (now - updated).total_seconds())
    raw = active + math.floor(decay * elapsed)  # the stored count, before decay
    ready = (raw - (limit - want)) / decay  # seconds after `updated` when enough has decayed
    return min(max(0.0, ready - elapsed), limit / decay + 1.0)


class PrefectRateLimiter:
    """Paces requests by a Prefect global concurrency limit shared by every run and worker.

    Implements the client's ``RateLimiter`` protocol. Build one per client (cheap); the
    slots themselves are held per process and per limit name.

    Args:
        name: the global concurrency limit (created by ``deployments/setup.py``).
        slot_ttl: seconds a slot taken from the server may wait locally before it is dropped.

    Raises:
        SharedRateLimitError: from :meth:`acquire`, when the limit does not exist, is
            inactive or has no slot decay.

    Example:
        ```python
        limiter = PrefectRateLimiter("virustotal-virustotal")
        async with VirusTotalClient(key, limiter=limiter) as vt:
            ...
        ```
    """

    def __init__(self, name: str, *, slot_ttl: float = SLOT_TTL) -> None:
        if not name:
            raise ValueError("a global concurrency limit name is required")
        self.name = name
        self.slot_ttl = slot_ttl
        self._bank = _bank(name)

    def __repr__(self) -> str:
        return f"PrefectRateLimiter(name={self.name!r})"

    @property
    def stats(self) -> dict[str, int]:
        """Slots taken, dropped unspent and attempts refused by this process."""
        bank = self._bank
        return {"taken": bank.taken, "expired": bank.expired, "refused": bank.refused}

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""
        bank = self._bank
        with bank.lock:
            bank.waiting += 1
        try:
            await self._acquire(bank)
        finally:
            with bank.lock:
                bank.waiting -= 1

    async def _acquire(self, bank: _Bank) -> None:
        while True:
            with bank.lock:
                now = time.monotonic()
                while bank.expiries and bank.expiries[0] <= now:
                    bank.expiries.popleft()
                    bank.expired += 1
                if bank.expiries:
                    bank.expiries.popleft()
                    return
                fetcher = not bank.fetching
                bank.fetching = True
            if not fetcher:
                await asyncio.sleep(_POLL)
                continue
            try:
                got = await self._take_batch()
            finally:
                with bank.lock:
                    bank.fetching = False
            with bank.lock:
                bank.taken += got
                expiry = time.monotonic() + self.slot_ttl
                bank.expiries.extend([expiry] * (got - 1))
            return

    async def _take_batch(self) -> int:
        """Take slots for the waiting requests (at most ``limit``) once free; return how many."""
        refusals = 0
        async with get_client() as prefect:
            while True:
                try:
                    current = await prefect.read_global_concurrency_limit_by_name(self.name)
                except ObjectNotFound:
                    raise SharedRateLimitError(
                        f"the global concurrency limit {self.name!r} does not exist; create it with "
                        "`python deployments/setup.py` (or `prefect gcl create`) before running"
                    ) from None
                if not current.active or current.slot_decay_per_second <= 0:
                    raise SharedRateLimitError(
                        f"the global concurrency limit {self.name!r} is inactive or has no slot decay; "
                        "it cannot pace requests"
                    )
                scale = SLOTS_PER_REQUEST if current.limit % SLOTS_PER_REQUEST == 0 else 1
                capacity = current.limit // scale
                batch = capacity - 1 if capacity > 1 and scale > 1 else capacity
                with self._bank.lock:
                    want = max(1, min(batch, self._bank.waiting))
                wait = _seconds_until_free(
                    limit=current.limit,
                    active=current.active_slots,
                    decay=current.slot_decay_per_second,
                    updated=current.updated,
                    want=want * scale,
                    now=datetime.now(timezone.utc),
                )
                if wait > 0:
                    # Sleep until just after the slots are free, then read again: another
                    # process may have taken them meanwhile, and a refused attempt would throw
                    # away the decay since. The jitter settles ties between processes fairly.
                    await asyncio.sleep(wait + _EPSILON + random.uniform(0.0, _EPSILON))  # noqa: S311
                    continue
                try:
                    response = await prefect.increment_concurrency_slots(
                        names=[self.name], slots=want * scale, mode="rate_limit"
                    )
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 423:
                        raise SharedRateLimitError(
                            f"the global concurrency limit {self.name!r} refused slots: "
                            f"HTTP {exc.response.status_code}"
                        ) from exc
                    refusals += 1
                    with self._bank.lock:
                        self._bank.refused += 1
                    if refusals % 10 == 0:
                        logger.warning(
                            "%d attempts on %s refused in a row: is this host's clock ahead of the "
                            "Prefect server's database clock?",
                            refusals,
                            self.name,
                        )
                    continue
                if not response.json():
                    raise SharedRateLimitError(f"the global concurrency limit {self.name!r} vanished")
                logger.debug("took %d requests' slots of %s", want, self.name)
                return want
