"""The request log tests read: one record per request the emulator saw."""

from __future__ import annotations

from dataclasses import dataclass

from ._faults import path_matches

__all__ = ["RequestLog", "RequestRecord"]


@dataclass
class RequestRecord:
    """One request as the emulator saw it.

    Attributes:
        time: Arrival time on the emulator's clock (epoch seconds).
        method: HTTP method.
        path: Full request path, ``/api/v3`` included.
        query: Raw query string (``""`` if none).
        api_key: The ``x-apikey`` header as sent, or ``None``.
        status: HTTP status answered; ``None`` while in flight or if the connection was dropped.
        fault: Kind of the injected fault that answered, if any.
        scheme: ``http`` or ``https``, as the request arrived.
    """

    time: float
    method: str
    path: str
    query: str
    api_key: str | None
    status: int | None = None
    fault: str | None = None
    scheme: str = "http"


class RequestLog:
    """An append-only list of ``RequestRecord`` with a counting helper."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Add a record."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        key: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many records match every filter given.

        ``path_prefix`` may be given with or without ``/api/v3`` (``/files`` matches
        ``/api/v3/files/...``).
        """
        return sum(
            1
            for r in self.records
            if (method is None or r.method == method.upper())
            and (path_prefix is None or path_matches(r.path, path_prefix))
            and (key is None or r.api_key == key)
            and (status is None or r.status == status)
        )
