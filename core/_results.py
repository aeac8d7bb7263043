"""Results the pack hands back (not API data): per-indicator outcomes of a batch, submissions."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from prefect_virustotal.client.models import VTModel, VTObject


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


class SubmissionOutcome(str, Enum):
    """How ``submit_and_wait`` got its report."""

    EXISTING_REPORT = "existing_report"
    """A fresh enough report existed: nothing was uploaded."""
    ATTACHED = "attached"
    """A checkpointed analysis of an earlier run was resumed: nothing was uploaded."""
    SUBMITTED = "submitted"
    """The file or URL was submitted and its analysis awaited."""


class SubmissionResult(VTModel):
    """What ``submit_and_wait`` returns.

    Attributes:
        kind: ``file`` or ``url``.
        indicator: the SHA-256 of the file, or the URL (without credentials).
        private: private scanning was used.
        outcome: existing report, attached to an earlier analysis, or submitted.
        analysis_id: the analysis waited on (None for an existing report).
        verdict: malicious, suspicious, clean or unknown.
        reason: one line explaining the verdict.
        report: the final file or URL report.
        link: the indicator's page on virustotal.com.
        emulated: the answer came from the pack's emulator: it is fiction.
    """

    kind: Literal["file", "url"]
    indicator: str
    private: bool = False
    outcome: SubmissionOutcome
    analysis_id: str | None = None
    verdict: str
    reason: str
    report: VTObject[Any] | None = None
    link: str
    emulated: bool = False
