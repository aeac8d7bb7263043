"""Scanning: private scanning options, private objects and submission results."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from ._base import EpochDatetime, VTModel, VTObject
from ._objects import AnalysisAttributes, URLAttributes, _FileIdentity

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 28
MIN_INTERACTION_TIMEOUT = 60
MAX_INTERACTION_TIMEOUT = 1800
#: Where a private file is stored: the reference lists US and EU for files.
StorageRegion = Literal["US", "EU"]
#: Where a private URL's report is stored: the reference lists US, CA, EU and GB for URLs.
URLStorageRegion = Literal["US", "CA", "EU", "GB"]
Locale = Literal["EN_US", "AR_SA", "DE_DE", "ES_ES", "PT_BR"]


class PrivateScanOptions(VTModel):
    """The documented sandbox options of private scanning, checked before any request.

    Every field is optional: what is left out takes the group's default on the service.

    Args:
        disable_sandbox: skip dynamic analysis.
        enable_internet: let the sample reach the internet during detonation.
        intercept_tls: intercept TLS traffic in the sandbox.
        command_line: command-line arguments for the sample.
        password: password of a ZIP holding exactly one file.
        retention_period_days: days the file is kept, 1 to 28.
        storage_region: where the file is stored: US or EU.
        interaction_sandbox: the sandbox used for interaction (``cape`` by default).
        interaction_timeout: seconds of interaction, 60 to 1800.
        locale: the sandbox locale, e.g. ``EN_US``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    disable_sandbox: bool | None = None
    enable_internet: bool | None = None
    intercept_tls: bool | None = None
    command_line: str | None = Field(default=None, max_length=4096)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    retention_period_days: int | None = Field(default=None, ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)
    storage_region: StorageRegion | None = None
    interaction_sandbox: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,64}$")
    interaction_timeout: int | None = Field(
        default=None, ge=MIN_INTERACTION_TIMEOUT, le=MAX_INTERACTION_TIMEOUT
    )
    locale: Locale | None = None

    def form(self) -> dict[str, str]:
        """The options as form fields (booleans as ``true``/``false``), unset ones left out."""
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return out


class PrivateURLScanOptions(VTModel):
    """The options of a private URL scan (``POST /private/urls``), checked before any request.

    Args:
        user_agent: the User-Agent the sandbox browser sends.
        sandboxes: the sandboxes to detonate the URL in (names as the service lists them).
        retention_period_days: days the report is kept, 1 to 28.
        storage_region: US, CA, EU or GB.
        interaction_sandbox: the sandbox used for interaction.
        interaction_timeout: seconds of interaction, 60 to 1800.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: str | None = Field(default=None, min_length=1, max_length=1024, pattern=r"^[^\r\n]*$")
    sandboxes: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=16)
    retention_period_days: int | None = Field(default=None, ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)
    storage_region: URLStorageRegion | None = None
    interaction_sandbox: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,64}$")
    interaction_timeout: int | None = Field(
        default=None, ge=MIN_INTERACTION_TIMEOUT, le=MAX_INTERACTION_TIMEOUT
    )

    @field_validator("sandboxes")
    @classmethod
    def _sandbox_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in value or ():
            if not re.fullmatch(r"[a-z0-9_]{1,64}", name):
                raise ValueError(f"invalid sandbox name {name!r}")
        return value

    def form(self) -> dict[str, str]:
        """The options as form fields, unset ones left out.

        ``sandboxes`` goes as one comma-separated field (UNCONFIRMED how the service wants a
        list in a form; the emulator takes the same).
        """
        out: dict[str, str] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            out[name] = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
        return out


class ThreatVerdict(str, Enum):
    """``threat_verdict`` of a private file."""

    UNKNOWN = "VERDICT_UNKNOWN"
    UNDETECTED = "VERDICT_UNDETECTED"
    SUSPICIOUS = "VERDICT_SUSPICIOUS"
    MALICIOUS = "VERDICT_MALICIOUS"


class ThreatSeverity(VTModel):
    """``threat_severity`` of a private file."""

    threat_severity_level: str | None = None
    threat_severity_data: dict[str, Any] = Field(default_factory=dict)
    last_analysis_date: EpochDatetime | None = None
    version: int | str | None = None


class PrivateFileAttributes(_FileIdentity):
    """Attributes of a ``private_file``: no engine results, a threat verdict instead."""

    threat_verdict: str | None = None
    threat_severity: ThreatSeverity | None = None
    sandbox_verdicts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    last_analysis_date: EpochDatetime | None = None
    expiration: EpochDatetime | None = None
    tags: list[str] = Field(default_factory=list)


class PrivateURLAttributes(URLAttributes):
    """Attributes of a ``private_url``: like a URL, plus ``expiration``."""

    expiration: EpochDatetime | None = None


class PrivateAnalysisAttributes(AnalysisAttributes):
    """Attributes of a ``private_analysis``: status plus sandbox progress."""

    pending_stages: dict[str, Any] = Field(default_factory=dict)
    sandbox_configuration: dict[str, Any] = Field(default_factory=dict)
    sandbox_status: dict[str, Any] = Field(default_factory=dict)


PrivateFileObject = VTObject[PrivateFileAttributes]
PrivateURLObject = VTObject[PrivateURLAttributes]
PrivateAnalysisObject = VTObject[PrivateAnalysisAttributes]
