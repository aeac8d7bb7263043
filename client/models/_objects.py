"""Attributes of files, URLs, domains, IP addresses and analyses."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import EpochDatetime, VTModel, VTObject


class AnalysisStats(VTModel):
    """Engine counts by category. File analyses add the hyphenated keys."""

    harmless: int = 0
    malicious: int = 0
    suspicious: int = 0
    undetected: int = 0
    timeout: int = 0
    confirmed_timeout: int = Field(default=0, alias="confirmed-timeout")
    failure: int = 0
    type_unsupported: int = Field(default=0, alias="type-unsupported")

    @property
    def total(self) -> int:
        """Engines that gave an answer (harmless, malicious, suspicious, undetected)."""
        return self.harmless + self.malicious + self.suspicious + self.undetected


class EngineResult(VTModel):
    """One engine's answer."""

    category: str
    engine_name: str
    method: str | None = None
    result: str | None = None
    engine_version: str | None = None
    engine_update: str | None = None


class Votes(VTModel):
    """Community votes."""

    harmless: int = 0
    malicious: int = 0


class _Reputable(VTModel):
    """Fields shared by every object that engines analyse."""

    last_analysis_date: EpochDatetime | None = None
    last_analysis_stats: AnalysisStats | None = None
    last_analysis_results: dict[str, EngineResult] = Field(default_factory=dict)
    reputation: int | None = None
    total_votes: Votes | None = None
    tags: list[str] = Field(default_factory=list)


class _FileIdentity(VTModel):
    """What identifies a file, public or private: hashes, size, type and names."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    size: int | None = None
    type_description: str | None = None
    type_tag: str | None = None
    names: list[str] = Field(default_factory=list)


class FileAttributes(_FileIdentity, _Reputable):
    """Attributes of a ``file``."""

    meaningful_name: str | None = None
    magic: str | None = None
    ssdeep: str | None = None
    tlsh: str | None = None
    vhash: str | None = None
    first_submission_date: EpochDatetime | None = None
    last_submission_date: EpochDatetime | None = None
    times_submitted: int | None = None
    unique_sources: int | None = None
    popular_threat_classification: dict[str, Any] | None = None


class URLAttributes(_Reputable):
    """Attributes of a ``url``."""

    url: str | None = None
    last_final_url: str | None = None
    title: str | None = None
    tld: str | None = None
    categories: dict[str, str] = Field(default_factory=dict)
    first_submission_date: EpochDatetime | None = None
    last_submission_date: EpochDatetime | None = None
    last_http_response_code: int | None = None
    times_submitted: int | None = None
    threat_names: list[str] = Field(default_factory=list)


class DomainAttributes(_Reputable):
    """Attributes of a ``domain``."""

    tld: str | None = None
    registrar: str | None = None
    creation_date: EpochDatetime | None = None
    last_update_date: EpochDatetime | None = None
    last_modification_date: EpochDatetime | None = None
    categories: dict[str, str] = Field(default_factory=dict)
    popularity_ranks: dict[str, Any] = Field(default_factory=dict)
    last_dns_records: list[dict[str, Any]] = Field(default_factory=list)


class IPAddressAttributes(_Reputable):
    """Attributes of an ``ip_address``."""

    asn: int | None = None
    as_owner: str | None = None
    country: str | None = None
    continent: str | None = None
    network: str | None = None
    regional_internet_registry: str | None = None
    last_modification_date: EpochDatetime | None = None


class AnalysisAttributes(VTModel):
    """Attributes of an ``analysis``: ``status`` is queued, in-progress or completed."""

    date: EpochDatetime | None = None
    status: str
    stats: AnalysisStats = Field(default_factory=AnalysisStats)
    results: dict[str, EngineResult] = Field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """True once every engine has answered."""
        return self.status == "completed"


FileObject = VTObject[FileAttributes]
URLObject = VTObject[URLAttributes]
DomainObject = VTObject[DomainAttributes]
IPAddressObject = VTObject[IPAddressAttributes]
AnalysisObject = VTObject[AnalysisAttributes]
