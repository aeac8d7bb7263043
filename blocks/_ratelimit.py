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
3. reads the limit before each take (a read updates nothing) and waits until the slots it
   needs have decayed (computed from ``active_slots``, ``updated`` and the decay rate; this
   needs the hosts' clocks in step with the database's, as NTP keeps them: a clock that runs
   ahead only costs refusals, never an extra request);
4. overlaps its takes while it is the only process taking (*quiet*): each take is booked on
   the process's plan (an upper bound of what its own takes leave in the limit, so that a
   booked take never lands before its slots are free) and sent when both the plan and its
   read say so, without reading again. Up to ``PIPELINE`` takes are on their way at once, so
   one run is not bound by one round trip to the Prefect server per take, and only another
   process can cause a refusal;
5. once another process takes too (a read shows more than the plan allows, or a refusal:
   *contended*, for ``CONTENDED_SECONDS``), takes one at a time, reads again just before
   each take, and takes only when the whole limit is free: the process that took last goes
   on while it keeps the limit busy, and the others come in when it falls behind or ends, so
   that two processes rarely ask for the same slots (a refusal throws away the decay since
   the limit's last update). After a refusal it backs off (a random wait, doubled per
   refusal up to ``BACKOFF_CAP`` of the headroom's time, halved per take);
6. spends the slots locally, in this process, across task runs and threads, and drops
   slots not spent within their life (the limit's guard less ``PATH_JITTER``: ``SLOT_TTL``
   by default) of the moment it *asked* for them (the server took them after that moment,
   however slow its answer).

Why no 429, whoever takes slots from the limit and how many at a time: a bucket that holds
``c`` requests and decays at ``r`` requests per second hands out at most ``c + r x W``
requests' worth in any ``W`` seconds. A request reaches VirusTotal less than
``GUARD_SECONDS`` (``SLOT_TTL`` plus ``PATH_JITTER`` for the way to the API) after its slot
was taken, so the requests that arrive in any 60-second span were taken within less than
``60 + GUARD_SECONDS``. With ``r = (q - c + 1) / (60 + GUARD_SECONDS)`` for a quota of ``q``
per minute, that is fewer than ``q + 1``: no minute, however aligned, sees more than ``q``.
:func:`rate_limit_settings` computes the limit's ``(limit, slot_decay_per_second)``; the
most it allows is ``(q - c + 1) / q x 60 / (60 + guard)`` of the quota: with the default
guard of 1.5 s, 97.6 % for a public key (``c = 1``) and 96.7 % for 360/min (``c = 4``, a
batch of 2 and 2 of headroom); a responsive Prefect server (answers well within 0.7 s) can
take ``setup --guard 0.8``: 97.9 % for 360/min. A limit whose ``limit`` is not a multiple
of 100 (made by hand, ``prefect gcl create``) is read as one slot per request.

An answer from the Prefect server later than the slot life (1.4 s by default, 0.7 s with
``--guard 0.8``) wastes its slots: never a 429, but fewer requests. Hence the default guard
of 1.5 s, safe for a busy server; measured on a loaded host, 0.8 s dropped slots.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import random
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
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
BATCH_SECONDS = 0.35
"""Seconds of the quota taken per server round trip, by default (the batch): small, as takes
overlap (each request of batch or headroom costs one request a minute)."""
HEADROOM_SECONDS = 0.4
"""Seconds of the quota the limit holds beyond the batch: how late a take may land unpunished
(the jitter of the Prefect server's round trips)."""
BACKOFF_CAP = 0.6
"""Longest back-off after refusals, as a share of the headroom's time."""
MAX_BATCH = 20
"""Largest batch the set-up derives from a quota (one server round trip per batch)."""
PIPELINE = 3
"""Most takes one process has booked or in flight at once, while no other process takes."""
CONTENDED_SECONDS = 5.0
"""Seconds of one take at a time, each confirmed by a read, after a sign of another taker."""
_EPSILON = 0.01
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
        batch: most requests' slots taken per server round trip; by default
            ``BATCH_SECONDS`` of the quota, between 1 and ``MAX_BATCH`` (each request of batch or
            headroom costs one request a minute of throughput).
        guard: seconds added to the minute; a limiter that knows the quota lets its slots
            live ``guard - PATH_JITTER`` seconds (a busy Prefect server, whose answers take
            longer than ``SLOT_TTL``, needs more, at 0.16 % of the quota per 0.1 s).

    Returns:
        The limit and the decay rate, in slots (hundredths of a request).

    Example:
        >>> rate_limit_settings(4)  # one request at a time, 4 per 60.8 s
        (100, 6.578947368421052)
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
    """The slots this process holds for one limit (shared by threads and event loops), and
    what its own takes may leave in the limit."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    expiries: collections.deque[float] = field(default_factory=collections.deque)
    fetchers: int = 0
    sleeping: int = 0
    pending: int = 0
    """Requests of the takes this process has booked and not yet had answered."""
    pending_slots: int = 0
    capacity: int = 1
    """The limit in requests, as last read (how many requests' takes may be pending at once)."""
    waiting: int = 0
    taken: int = 0
    expired: int = 0
    refused: int = 0
    rounds: int = 0
    reads: int = 0
    backoff: float = 0.0
    warned: float = -math.inf
    contended_until: float = -math.inf
    answered: tuple[float, float] = (-math.inf, 0.0)
    """``(t, level)``: from ``t`` (monotonic) on, the limit holds at most ``level`` less the decay
    since, besides what the pending takes bring."""

    def held(self, at: float, decay: float) -> float:
        """The most the limit holds at ``at`` by the answered takes (see ``answered``)."""
        t, level = self.answered
        return max(0.0, level - decay * max(0.0, at - t))


_BANKS: dict[tuple[object, str], _Bank] = {}
_BANKS_LOCK = threading.Lock()


def _bank(server: object, name: str) -> _Bank:
    with _BANKS_LOCK:
        return _BANKS.setdefault((server, name), _Bank())


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
            own guard allows (:func:`slot_life`; the default guard lets them live 1.4 s).
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
        """Slots taken, dropped unspent, attempts refused, takes and reads by this process."""
        bank = self._bank
        return {
            "taken": bank.taken,
            "expired": bank.expired,
            "refused": bank.refused,
            "rounds": bank.rounds,
            "reads": bank.reads,
        }

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
                # One take at a time while other processes take too; up to PIPELINE overlapping
                # takes while this process has the limit to itself, more requests wait than its
                # booked takes will bring and every booked take is already on its way (the next
                # one overlaps their round trips; it does not split the batch).
                fetcher = bank.fetchers == 0 or (
                    bank.fetchers < PIPELINE
                    and bank.sleeping == 0
                    and bank.pending < bank.capacity
                    and now >= bank.contended_until
                    and bank.waiting > bank.pending + len(bank.expiries)
                )
                if fetcher:
                    bank.fetchers += 1
            if not fetcher:
                await self._clock.sleep(_POLL)
                continue
            try:
                got, asked, life = await self._take_batch(bank)
            finally:
                with bank.lock:
                    bank.fetchers -= 1
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
                        "(a busy server; the limit's decay allows no later spending: give a slow "
                        "server a longer guard, `prefect-virustotal setup --guard`)",
                        self.name,
                        life,
                        got,
                    )
                    continue
                bank.expiries.extend([expiry] * (got - 1))
            return

    async def _read(self, session: LimitSession) -> LimitState:
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
        return current

    async def _take_batch(self, bank: _Bank) -> tuple[int, float, float]:
        """Take slots for the waiting requests once free: how many, when they were asked for
        and how long they may live from then.

        Every take starts with a read. While no other process takes from the limit
        (*quiet*), the take is booked on this process's plan right away and sent when the
        plan and the read both say its slots are free, without reading again: several such
        takes overlap, so one run is not bound by one round trip per take. A booked take never
        lands before its slots are free by this process's own takes (the plan is an upper
        bound of what they leave in the limit), so only another process can cause a refusal;
        a read that shows more in the limit than the plan allows, or a refusal, marks the
        limit *contended* for ``CONTENDED_SECONDS``: one take at a time, a read just before
        each take and a back-off after a refusal, since a refusal throws away the decay since
        the limit's last update.
        """
        refusals = 0
        async with self._server.session() as session:
            while True:
                before = self._clock.monotonic()
                current = await self._read(session)
                scale, batch = batch_for(current)
                derived = None
                if self.requests_per_minute is not None:
                    derived = slot_life(current, self.requests_per_minute)
                life = self.slot_ttl if derived is None else derived
                decay = current.slot_decay_per_second
                now = self._clock.monotonic()
                wall = self._clock.time()
                elapsed = 0.0 if current.updated is None else max(0.0, wall - current.updated.timestamp())
                # The count the server stores and when it stored it, on this process's clock
                # (NTP keeps the hosts in step with the database; the read's moment is taken as
                # its answer's, which can only overstate the count). +1 covers the floor.
                raw = current.active_slots + math.floor(decay * elapsed) + 1
                stored_at = now - elapsed

                def seen(
                    at: float, raw: float = raw, stored_at: float = stored_at, decay: float = decay
                ) -> float:
                    # What this read and the answered takes say the limit holds at `at`. A take
                    # lands at some moment before its answer, and the later it lands, the more
                    # the limit holds afterwards (the decay of an empty limit is lost): so an
                    # answered take counts from its answer on, and a pending one as landing at
                    # any moment, with no decay at all.
                    return max(max(0.0, raw - decay * (at - stored_at)), bank.held(at, decay))

                with bank.lock:
                    bank.reads += 1
                    bank.capacity = current.limit // scale
                    # More than this process's own takes can account for: another process takes.
                    if current.active_slots > bank.held(before, decay) + bank.pending_slots + scale:
                        bank.contended_until = max(bank.contended_until, now + CONTENDED_SECONDS)
                    quiet = now >= bank.contended_until
                    others = bank.pending_slots
                    room = (current.limit - others) // scale
                    if room < 1:
                        wait_for_answers = True
                    else:
                        wait_for_answers = False
                        # The batch, or every free slot when more are free (this take comes late:
                        # taking them all keeps the decay from going to waste), for the requests
                        # that no pending take serves yet.
                        free = int((current.limit - seen(now) - others) // scale)
                        demand = bank.waiting - len(bank.expiries) - bank.pending
                        want = max(1, min(demand, max(batch, free), room))
                        slots = want * scale
                        # Another process takes too: it goes on while it keeps the limit busy, and
                        # this one takes only when the whole limit is free (the other is late or
                        # done), so that two processes rarely ask for the same slots.
                        needed = slots if quiet else current.limit - 1 - others
                        target = current.limit - others - needed
                        by_read = stored_at + (raw - target) / decay
                        t, level = bank.answered
                        by_answers = t + (level - target) / decay
                        land = max(now, min(by_read, now + current.limit / decay + 1.0), by_answers)
                        book = quiet or land <= now
                        if book:
                            bank.pending += want
                            bank.pending_slots += slots
                    backoff = bank.backoff
                if wait_for_answers:
                    await self._clock.sleep(_POLL)
                    continue
                sent = took = False
                try:
                    if land > now:
                        delay = 0.0 if quiet else backoff * random.uniform(0.5, 1.0)  # noqa: S311
                        with bank.lock:
                            bank.sleeping += 1
                        try:
                            await self._clock.sleep(land - now + _EPSILON + delay)
                        finally:
                            with bank.lock:
                                bank.sleeping -= 1
                                if book and self._clock.monotonic() < bank.contended_until:
                                    # Another process showed up meanwhile: read before asking.
                                    bank.pending -= want
                                    bank.pending_slots -= slots
                                    book = False
                        if not book:
                            # Contended: read again, as another process may have taken these
                            # slots meanwhile. A process refused before wakes later (its back-off):
                            # the one that took last takes again while it has work, the others read
                            # that it did instead of all asking at once; the headroom absorbs the
                            # lateness of whoever takes.
                            continue
                    asked = self._clock.monotonic()
                    sent = True
                    took = await session.take(self.name, slots)
                finally:
                    with bank.lock:
                        if book:
                            bank.pending -= want
                            bank.pending_slots -= slots
                        if took or (sent and sys.exc_info()[0] is not None):
                            # Landed (or not known: as if it had), at the latest just now.
                            answer = self._clock.monotonic()
                            bank.answered = (answer, seen(answer) + slots)
                if took:
                    logger.debug("took %d requests' slots of %s", want, self.name)
                    with bank.lock:
                        bank.backoff /= 2
                        if not quiet:
                            bank.contended_until = -math.inf  # this process took last: it goes on
                    return want, asked, life
                refusals += 1
                headroom = (current.limit - batch * scale) / decay
                with bank.lock:
                    bank.refused += 1
                    until = self._clock.monotonic() + CONTENDED_SECONDS
                    bank.contended_until = max(bank.contended_until, until)
                    bank.backoff = min(BACKOFF_CAP * headroom, max(2 * bank.backoff, _BACKOFF))
                if refusals % 10 == 0:
                    logger.warning(
                        "%d attempts on %s refused in a row: is this host's clock ahead of the "
                        "Prefect server's database clock?",
                        refusals,
                        self.name,
                    )
