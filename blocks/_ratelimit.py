"""One VirusTotal quota shared by every flow run on every worker: a Prefect rate limit.

The limit is a Prefect *global concurrency limit* used as a rate limit, created by
``deployments/setup.py`` and named in the credentials block (``rate_limit_name``, by
default ``virustotal-<block name>``). Every process that builds a client from that block
draws its request slots from it, so three runs on two workers share one key's quota.

Why not ``prefect.concurrency.asyncio.rate_limit`` per request? Prefect's server decays
active slots by ``floor(decay x seconds since the row was last updated)`` and *every*
update, a refused attempt included, restarts that clock (a refusal keeps the stored count:
the decay since the last update is lost). Polling a full limit therefore throws away the
decay it was waiting for, and Prefect's client then backs off by a Retry-After that grows
with the refusals: plain ``rate_limit`` reaches 65-85 % of the configured rate.
:class:`PrefectRateLimiter` instead

1. counts in hundredths: a request is ``SLOTS_PER_REQUEST`` (100) slots, so the floor in
   the decay loses at most a hundredth of a request per update instead of up to one;
2. takes several requests' slots per server round trip: as many as this process has
   requests waiting, at most the batch (about ``BATCH_SECONDS`` of the quota), while the
   limit holds the batch plus ``HEADROOM_SECONDS`` of the quota: the spare slots absorb a
   take that lands late (a busy host, a slow round trip), where with no headroom the bucket
   would sit full and that decay would be lost;
3. reads the limit first (a read updates nothing), waits until the slots it needs have
   decayed (computed from ``active_slots``, ``updated`` and the decay rate) and reads again
   before it asks, so that an attempt is refused only when another process took the same
   slots a moment earlier
   (this needs the hosts' clocks in step with the database's, as NTP keeps them; a clock
   that runs ahead only costs refusals, never an extra request);
4. spends the slots locally, in this process, across task runs and threads, and drops
   slots not spent within their life (the limit's guard less ``PATH_JITTER``: ``SLOT_TTL``
   by default) of the moment it *asked* for them (the server took them after that moment,
   however slow its answer).
5. backs off after a refusal (a random wait, doubled per refusal up to ``BACKOFF_CAP`` of the
   headroom's time, halved per take), so that processes that want the same slots stop asking
   at the same moment: the one that took last goes on while it has work.

Why no 429, whoever takes slots from the limit and how many at a time: a bucket that holds
``c`` requests and decays at ``r`` requests per second hands out at most ``c + r x W``
requests' worth in any ``W`` seconds. A request reaches VirusTotal less than
``GUARD_SECONDS`` (``SLOT_TTL`` plus ``PATH_JITTER`` for the way to the API) after its slot
was taken, so the requests that arrive in any 60-second span were taken within less than
``60 + GUARD_SECONDS``. With ``r = (q - c + 1) / (60 + GUARD_SECONDS)`` for a quota of ``q``
per minute, that is fewer than ``q + 1``: no minute, however aligned, sees more than ``q``.
:func:`rate_limit_settings` computes the limit's ``(limit, slot_decay_per_second)``; the
most it allows is ``(q - c + 1) / q x 60 / (60 + guard)`` of the quota: with the default
guard of 1.5 s, 97.6 % for a public key (``c = 1``) and 95.1 % for 360/min (``c = 10``, a
batch of 9); a responsive Prefect server can take ``--guard 0.6 --batch 3``, 98.2 % (``c = 4``). A limit
whose ``limit`` is not a multiple of 100 (made by hand, ``prefect gcl create``) is read as one
slot per request.

The pace is bound by the Prefect server's round trips when they are slow: one take (a read
and an increment) per process at a time, of at most the whole limit; an answer later than the
slot life wastes its slots. Hence the default: a big batch and a long guard, for a busy server.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import random
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

import httpx
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import ObjectNotFound

from prefect_virustotal.client import SYSTEM_CLOCK, Clock, VirusTotalError

logger = logging.getLogger(__name__)

SLOT_TTL = 1.4
"""Seconds after asking for slots within which they must be spent, or dropped unspent."""
PATH_JITTER = 0.1
"""Seconds allowed for the way from a spent slot to VirusTotal, beyond what every request shares."""
GUARD_SECONDS = SLOT_TTL + PATH_JITTER
"""Seconds added to the minute when the decay rate is derived from a per-minute quota."""
MIN_GUARD_SECONDS = 0.6
"""The shortest guard the set-up accepts; slots of a limiter that cannot derive a longer one
from the limit live ``MIN_GUARD_SECONDS - PATH_JITTER``."""
SLOTS_PER_REQUEST = 100
"""Slots per request in limits made by the set-up (a ``limit`` that is a multiple of 100)."""
BATCH_SECONDS = 1.5
"""Seconds of the quota taken per server round trip, by default (the batch)."""
HEADROOM_SECONDS = 0.2
"""Seconds of the quota the limit holds beyond the batch: how late a take may land unpunished."""
BACKOFF_CAP = 0.6
"""Longest back-off after refusals, as a share of the headroom's time."""
MAX_BATCH = 20
"""Largest batch the set-up derives from a quota (one server round trip per batch)."""
_EPSILON = 0.005
_BACKOFF = 0.05
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


def _headroom(requests_per_second: float) -> int:
    """Requests of headroom above the batch: ``HEADROOM_SECONDS`` of the rate, at least one."""
    return max(1, round(requests_per_second * HEADROOM_SECONDS))


def rate_limit_settings(
    requests_per_minute: int, batch: int | None = None, guard: float = GUARD_SECONDS
) -> tuple[int, float]:
    """``(limit, slot_decay_per_second)`` of the global concurrency limit for a quota.

    Args:
        requests_per_minute: the key's per-minute quota.
        batch: most requests' slots taken per server round trip; by default half a
            second of the quota, between 1 and ``MAX_BATCH`` (each request of batch or
            headroom costs one request a minute of throughput).
        guard: seconds added to the minute; a limiter that knows the quota lets its slots
            live ``guard - PATH_JITTER`` seconds (a busy Prefect server, whose answers take
            longer than ``SLOT_TTL``, needs more, at 0.17 % of the quota per 0.1 s at 360/min).

    Returns:
        The limit and the decay rate, in slots (hundredths of a request).

    Example:
        >>> rate_limit_settings(4)  # one request at a time, 4 per 61.5 s
        (100, 6.504065040650407)
    """
    if requests_per_minute < 1:
        raise ValueError("requests_per_minute must be at least 1")
    default = max(1, min(MAX_BATCH, round(requests_per_minute * BATCH_SECONDS / 60)))
    k = batch if batch is not None else default
    if not 1 <= k <= requests_per_minute:
        raise ValueError("batch must be between 1 and requests_per_minute")
    if not MIN_GUARD_SECONDS <= guard <= 30.0:
        raise ValueError(f"guard must be between {MIN_GUARD_SECONDS} and 30 seconds")
    # Headroom above the batch absorbs a late take (see the module docstring); below 40/min
    # a round trip every 1.5 s or more makes lateness negligible.
    capacity = k
    if requests_per_minute >= 40 and k < requests_per_minute:
        capacity = min(requests_per_minute, k + _headroom(requests_per_minute / 60))
    decay = (requests_per_minute - capacity + 1) / (60.0 + guard)
    return capacity * SLOTS_PER_REQUEST, decay * SLOTS_PER_REQUEST


@dataclass(frozen=True)
class LimitState:
    """A global concurrency limit as the server reports it (slots after decay)."""

    limit: int
    active_slots: int
    slot_decay_per_second: float
    updated: datetime | None
    active: bool = True


class LimitSession(Protocol):
    """One connection to wherever the limit lives (Prefect's API, or a test's fake)."""

    async def read(self, name: str) -> LimitState | None:
        """The limit now, or None if it does not exist (a read updates nothing)."""
        ...

    async def take(self, name: str, slots: int) -> bool:
        """Take ``slots`` at once in rate-limit mode; False when refused (the limit is full)."""
        ...


class LimitServer(Protocol):
    """Opens sessions on the server that holds the limits."""

    def session(self) -> contextlib.AbstractAsyncContextManager[LimitSession]:
        """A session for one batch (a few reads and a take)."""
        ...


class _PrefectSession:
    def __init__(self, client: PrefectClient) -> None:
        self._client = client

    async def read(self, name: str) -> LimitState | None:
        try:
            current = await self._client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None
        return LimitState(
            limit=current.limit,
            active_slots=current.active_slots,
            slot_decay_per_second=current.slot_decay_per_second,
            updated=current.updated,
            active=current.active,
        )

    async def take(self, name: str, slots: int) -> bool:
        try:
            response = await self._client.increment_concurrency_slots(
                names=[name], slots=slots, mode="rate_limit"
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 423:
                return False
            raise SharedRateLimitError(
                f"the global concurrency limit {name!r} refused slots: HTTP {exc.response.status_code}"
            ) from exc
        if not response.json():
            raise SharedRateLimitError(f"the global concurrency limit {name!r} vanished")
        return True


class PrefectLimits:
    """The limits on the Prefect server of the current settings (``PREFECT_API_URL``)."""

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[LimitSession]:
        """A Prefect client for one batch."""
        async with get_client() as client:
            yield _PrefectSession(client)


PREFECT_LIMITS = PrefectLimits()


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
    rounds: int = 0
    backoff: float = 0.0
    warned: float = -math.inf


_BANKS: dict[tuple[object, str], _Bank] = {}
_BANKS_LOCK = threading.Lock()


def _bank(server: object, name: str) -> _Bank:
    with _BANKS_LOCK:
        return _BANKS.setdefault((server, name), _Bank())


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


def slot_life(state: LimitState, requests_per_minute: int) -> float | None:
    """Seconds a slot may live after it was asked for, by the limit's own guard for this quota.

    The guard is what the limit's decay leaves beyond the minute:
    ``(q - capacity + 1) / rate - 60``; a slot may live that less ``PATH_JITTER``. None when
    the limit decays faster than the guard this pack sets up at least (``MIN_GUARD_SECONDS``):
    a limit made by hand, or for another quota than the block's.
    """
    scale, _ = batch_for(state)
    rate = state.slot_decay_per_second / scale
    guard = (requests_per_minute - state.limit / scale + 1) / rate - 60.0
    if guard < MIN_GUARD_SECONDS - 1e-9:
        return None
    return min(guard - PATH_JITTER, 30.0)


def batch_for(state: LimitState) -> tuple[int, int]:
    """``(slots per request, most requests per take)`` for a limit as the server reports it.

    A limit made by :func:`rate_limit_settings` counts hundredths and keeps
    ``HEADROOM_SECONDS`` of its rate free beyond the batch; any other limit is one slot per
    request, taken one batch of the whole limit at a time.
    """
    scale = SLOTS_PER_REQUEST if state.limit % SLOTS_PER_REQUEST == 0 else 1
    capacity = state.limit // scale
    if scale == 1 or capacity == 1:
        return scale, capacity
    return scale, max(1, capacity - _headroom(state.slot_decay_per_second / scale))


class PrefectRateLimiter:
    """Paces requests by a Prefect global concurrency limit shared by every run and worker.

    Implements the client's ``RateLimiter`` protocol. Build one per client (cheap); the
    slots themselves are held per process and per limit name.

    Args:
        name: the global concurrency limit (created by ``deployments/setup.py``).
        slot_ttl: seconds after asking for slots within which they must be spent, when the
            quota is not given or the limit's guard cannot be derived from it (safe for any
            guard the set-up accepts).
        requests_per_minute: the key's quota: the slots then live as long as the limit's
            own guard allows (:func:`slot_life`; the default guard for a busy server lets
            them live 1.4 s).
        server: where the limit lives; Prefect's API by default (tests pass a fake).
        clock: the clock to read and sleep on; the server's ``updated`` is compared with
            its ``time()``.

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

    def __init__(
        self,
        name: str,
        *,
        slot_ttl: float = MIN_GUARD_SECONDS - PATH_JITTER,
        requests_per_minute: int | None = None,
        server: LimitServer = PREFECT_LIMITS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not name:
            raise ValueError("a global concurrency limit name is required")
        self.name = name
        self.slot_ttl = slot_ttl
        self.requests_per_minute = requests_per_minute
        self._server = server
        self._clock = clock
        self._bank = _bank(server, name)

    def __repr__(self) -> str:
        return f"PrefectRateLimiter(name={self.name!r})"

    @property
    def stats(self) -> dict[str, int]:
        """Slots taken, dropped unspent, attempts refused and takes (round trips) by this process."""
        bank = self._bank
        return {"taken": bank.taken, "expired": bank.expired, "refused": bank.refused, "rounds": bank.rounds}

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
                now = self._clock.monotonic()
                while bank.expiries and bank.expiries[0] <= now:
                    bank.expiries.popleft()
                    bank.expired += 1
                if bank.expiries:
                    bank.expiries.popleft()
                    return
                fetcher = not bank.fetching
                bank.fetching = True
            if not fetcher:
                await self._clock.sleep(_POLL)
                continue
            try:
                got, asked, life = await self._take_batch()
            finally:
                with bank.lock:
                    bank.fetching = False
            with bank.lock:
                bank.taken += got
                bank.rounds += 1
                expiry = asked + life
                now = self._clock.monotonic()
                if now >= expiry:
                    # The answer came later than the slots may be spent: the server took them
                    # at some moment after `asked`, and spending them now could put more in one
                    # minute than the decay allows for. Dropped, and asked for again.
                    bank.expired += got
                    level = logging.DEBUG if bank.warned > now - 60.0 else logging.WARNING
                    bank.warned = now if level == logging.WARNING else bank.warned
                    logger.log(
                        level,
                        "the Prefect server answered %s later than %.2fs: %d requests' slots dropped "
                        "(a busy server; the limit's decay allows no later spending)",
                        self.name,
                        life,
                        got,
                    )
                    continue
                bank.expiries.extend([expiry] * (got - 1))
            return

    async def _take_batch(self) -> tuple[int, float, float]:
        """Take slots for the waiting requests once free: how many, when they were asked for
        and how long they may live from then."""
        refusals = 0
        async with self._server.session() as session:
            while True:
                current = await session.read(self.name)
                if current is None:
                    raise SharedRateLimitError(
                        f"the global concurrency limit {self.name!r} does not exist; create it with "
                        "`python deployments/setup.py` (or `prefect gcl create`) before running"
                    )
                if not current.active or current.slot_decay_per_second <= 0:
                    raise SharedRateLimitError(
                        f"the global concurrency limit {self.name!r} is inactive or has no slot decay; "
                        "it cannot pace requests"
                    )
                scale, batch = batch_for(current)
                derived = None
                if self.requests_per_minute is not None:
                    derived = slot_life(current, self.requests_per_minute)
                life = self.slot_ttl if derived is None else derived
                # The batch, or every free slot when more are free (this take comes late, the
                # server being slow: taking them all keeps the decay from going to waste).
                free = (current.limit - current.active_slots) // scale
                with self._bank.lock:
                    want = max(1, min(self._bank.waiting, max(batch, free)))
                wait = _seconds_until_free(
                    limit=current.limit,
                    active=current.active_slots,
                    decay=current.slot_decay_per_second,
                    updated=current.updated,
                    want=want * scale,
                    now=datetime.fromtimestamp(self._clock.time(), timezone.utc),
                )
                if wait > 0:
                    # Sleep until the slots are free, then read again: another process may have
                    # taken them meanwhile, and a refused attempt would throw away the decay
                    # since. A process refused before wakes later (its back-off): the one that
                    # took last takes again while it has work, the others read that it did
                    # instead of all asking at once (each refusal loses the decay since the
                    # last take); the headroom absorbs the lateness of whoever takes.
                    with self._bank.lock:
                        backoff = self._bank.backoff
                    delay = backoff * random.uniform(0.5, 1.0)  # noqa: S311
                    await self._clock.sleep(wait + _EPSILON + delay)
                    continue
                asked = self._clock.monotonic()
                if await session.take(self.name, want * scale):
                    logger.debug("took %d requests' slots of %s", want, self.name)
                    with self._bank.lock:
                        self._bank.backoff /= 2
                    return want, asked, life
                refusals += 1
                headroom = (current.limit - batch * scale) / current.slot_decay_per_second
                with self._bank.lock:
                    self._bank.refused += 1
                    self._bank.backoff = min(BACKOFF_CAP * headroom, max(2 * self._bank.backoff, _BACKOFF))
                if refusals % 10 == 0:
                    logger.warning(
                        "%d attempts on %s refused in a row: is this host's clock ahead of the "
                        "Prefect server's database clock?",
                        refusals,
                        self.name,
                    )
