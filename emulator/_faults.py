"""Fault injection: make the emulator slow, flaky or broken on purpose, deterministically.

A ``Fault`` applies to the requests it matches (optionally by API key, path prefix and method,
``method="WRITE"`` meaning every request that is not a read)
and fires either always, for the next ``count`` matching requests, at a seeded ``rate``, or
both (at ``rate``, at most ``count`` times). Kinds:

==================== =====================================================================
``latency``          sleep ``seconds`` for real (``asyncio.sleep``), then carry on
``transient``        503 ``TransientError``
``deadline``         504 ``DeadlineExceededError``
``too_many_requests`` 429 ``TooManyRequestsError``; ``Retry-After: <retry_after>`` if given
                     (the header is UNCONFIRMED on the real API, hence off by default)
``error``            any v3 error: ``code`` (required) and ``message``
``drop``             close the connection without a response (``ConnectionDropped``);
                     ``after_processing=True`` handles the request first, then drops the answer
``truncate``         handle the request, then send only the first half of the body
``non_json``         a ``text/html`` error page instead of JSON, with ``status`` (default
                     502), as a proxy in front of the API might send
==================== =====================================================================

Latency faults add up and never stop a request; of the other kinds, the first one (in the
order added) that fires decides the answer. Faults act before authentication and quota, so a
faulted request costs no quota, except ``truncate`` and ``drop(after_processing=True)``, which
let the request through first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ._errors import ERROR_STATUS
from ._rng import seeded

__all__ = ["API_PREFIX", "WRITES", "ConnectionDropped", "Fault", "FaultKind", "FaultPlan", "path_matches"]

API_PREFIX = "/api/v3"
WRITES = "WRITE"
"""``method=WRITES`` makes a fault hit every request that may change something (not a read)."""
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

FaultKind = Literal[
    "latency", "transient", "deadline", "too_many_requests", "error", "drop", "truncate", "non_json"
]
_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


class ConnectionDropped(Exception):  # noqa: N818 - it names an event, not an error condition
    """Raised inside the app when a fault drops the connection.

    Plain ASGI cannot close a socket. ``Emulator.transport()`` turns this exception into
    ``httpx.RemoteProtocolError`` and the loopback server closes the socket instead.
    """


def path_matches(path: str, prefix: str) -> bool:
    """Whether ``path`` starts with ``prefix``, given with or without the ``/api/v3`` part."""
    if path.startswith(prefix):
        return True
    return path.startswith(API_PREFIX) and path[len(API_PREFIX) :].startswith(prefix)


@dataclass(eq=False)
class Fault:
    """One injected fault; see the module docstring for the kinds and their fields."""

    kind: FaultKind
    rate: float | None = None
    count: int | None = None
    key: str | None = None
    path_prefix: str | None = None
    method: str | None = None
    seconds: float = 0.0
    retry_after: int | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    after_processing: bool = False
    skip: int = 0
    fired: int = 0

    def matches(self, key: str | None, method: str, path: str) -> bool:
        """Whether this fault applies to a request (ignoring rate and count)."""
        if self.count is not None and self.count <= 0:
            return False
        if self.key is not None and key != self.key:
            return False
        if self.method is not None:
            wanted = self.method.upper()
            if wanted == WRITES:
                if method.upper() in _READ_METHODS:
                    return False
            elif method.upper() != wanted:
                return False
        return self.path_prefix is None or path_matches(path, self.path_prefix)


class FaultPlan:
    """The faults currently switched on, checked for every request under ``/api/v3``.

    Args:
        seed: Seed of the RNG behind ``rate``; the same seed and the same request sequence
            give the same faults.

    Example:
        >>> plan = FaultPlan()
        >>> _ = plan.add("transient", count=2, path_prefix="/files")
        >>> _ = plan.add("latency", seconds=0.01)
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = seeded(f"faults:{seed}")
        self._faults: list[Fault] = []

    def add(
        self,
        kind: FaultKind,
        *,
        rate: float | None = None,
        count: int | None = None,
        key: str | None = None,
        path_prefix: str | None = None,
        method: str | None = None,
        seconds: float = 0.0,
        retry_after: int | None = None,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        after_processing: bool = False,
        skip: int = 0,
    ) -> Fault:
        """Switch on a fault and return it (pass it to ``remove`` to switch it off).

        Args:
            kind: What goes wrong (see the module docstring).
            rate: Probability in [0, 1] that a matching request is hit; ``None`` = always.
            count: Hit at most this many matching requests; ``None`` = no limit.
            key: Only requests sent with this API key.
            path_prefix: Only paths starting with this (``/files`` or ``/api/v3/files``).
            method: Only this HTTP method; ``"WRITE"`` (:data:`WRITES`) for every method but
                GET, HEAD and OPTIONS (POST, PATCH, PUT, DELETE: the requests that change state).
            seconds: Delay for ``latency``.
            retry_after: ``Retry-After`` value for ``too_many_requests``.
            status: HTTP status for ``non_json`` (default 502).
            code: v3 error code for ``error``.
            message: Error message for ``error`` (and the other error kinds).
            after_processing: For ``drop``: handle the request first, then drop the answer.
            skip: Let this many matching requests through before the fault starts (e.g.
                refuse the third page of a listing, not the first).

        Returns:
            The new fault; its ``fired`` attribute counts the requests it hit.
        """
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(_KINDS)}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        if skip < 0:
            raise ValueError("skip must not be negative")
        if kind == "error" and (code is None or code not in ERROR_STATUS):
            raise ValueError("an 'error' fault needs a v3 error code")
        fault = Fault(
            kind=kind,
            rate=rate,
            count=count,
            key=key,
            path_prefix=path_prefix,
            method=method,
            seconds=seconds,
            retry_after=retry_after,
            status=status,
            code=code,
            message=message,
            after_processing=after_processing,
            skip=skip,
        )
        self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Switch one fault off."""
        self._faults.remove(fault)

    def clear(self) -> None:
        """Switch every fault off."""
        self._faults.clear()

    @property
    def faults(self) -> tuple[Fault, ...]:
        """The faults switched on, in the order they were added."""
        return tuple(self._faults)

    def select(self, key: str | None, method: str, path: str) -> tuple[float, Fault | None]:
        """Decide the faults for one request: total extra latency, and the fault that answers."""
        delay = 0.0
        chosen: Fault | None = None
        for fault in self._faults:
            if chosen is not None and fault.kind != "latency":
                continue
            if not fault.matches(key, method, path):
                continue
            # The RNG is drawn only for matching, rated faults, so a plan's behaviour depends
            # on the requests it sees and nothing else.
            if fault.rate is not None and self._rng.random() >= fault.rate:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            fault.fired += 1
            if fault.count is not None:
                fault.count -= 1
            if fault.kind == "latency":
                delay += fault.seconds
            else:
                chosen = fault
        return delay, chosen
