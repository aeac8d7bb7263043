"""Results the pack hands back: per-indicator outcomes of a batch."""

from __future__ import annotations

from enum import Enum
from typing import Any

from ._base import VTModel, VTObject


class LookupStatus(str, Enum):
    """What happened to one indicator of a batch."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    QUOTA_LIMITED = "quota_limited"
    SKIPPED = "skipped"
    """Not sent on purpose: an internal address or name (see ``error``)."""
    ERROR = "error"


class LookupResult(VTModel):
    """One indicator of a batch lookup: its report, or why there is none.

    Attributes:
        indicator: the input as given.
        kind: file, url, domain or ip_address; None when the input is invalid.
        id: the identifier used in the request.
        status: found, not_found, invalid, skipped, quota_limited or error.
        report: the object when found.
        error: a short text for the other statuses (never the API key).
        link: the indicator's page on virustotal.com.
        emulated: the answer came from the pack's emulator: it is fiction.
    """

    indicator: str
    kind: str | None = None
    id: str | None = None
    status: LookupStatus
    report: VTObject[Any] | None = None
    error: str | None = None
    link: str | None = None
    emulated: bool = False
