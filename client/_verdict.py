"""An explicit, explainable verdict policy.

``malicious``, ``suspicious``, ``clean`` and ``unknown`` stay distinct: an indicator
VirusTotal has never seen, or that too few engines looked at, is ``unknown``, never
``clean``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .models import VERDICT_SEVERITY, AnalysisStats, EngineResult, VTObject


class Verdict(str, Enum):
    """The four verdicts, worst first (``unknown`` ranks above ``clean``: never seen is not safe)."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    UNKNOWN = "unknown"
    CLEAN = "clean"

    @property
    def severity(self) -> int:
        """3 malicious, 2 suspicious, 1 unknown, 0 clean: for ranking (``VERDICT_SEVERITY``)."""
        return VERDICT_SEVERITY[self.value]


class VerdictPolicy(BaseModel):
    """Thresholds that turn engine counts into a verdict.

    Args:
        malicious_threshold: engines saying malicious for ``malicious``.
        suspicious_threshold: engines saying malicious or suspicious for ``suspicious``.
        min_engines: fewer engines with an answer than this gives ``unknown``.
        preferred_engines: engines trusted on their own: one of them saying malicious
            is enough for ``malicious``.
    """

    model_config = ConfigDict(frozen=True)

    malicious_threshold: int = Field(default=3, ge=1)
    suspicious_threshold: int = Field(default=1, ge=1)
    min_engines: int = Field(default=5, ge=0)
    preferred_engines: tuple[str, ...] = ()


class Assessment(BaseModel):
    """A verdict and the one-line reason for it."""

    verdict: Verdict
    reason: str
    malicious: int = 0
    suspicious: int = 0
    engines: int = 0

    @property
    def ratio(self) -> str:
        """``malicious/engines``, e.g. ``12/70``."""
        return f"{self.malicious}/{self.engines}"


def assess_object(obj: VTObject[Any], policy: VerdictPolicy | None = None) -> Assessment:
    """Apply ``policy`` to a file, URL, domain or IP report (its last analysis' stats and results)."""
    attributes = obj.attributes
    return assess(
        getattr(attributes, "last_analysis_stats", None),
        getattr(attributes, "last_analysis_results", None),
        policy,
    )


def assess(
    stats: AnalysisStats | None,
    results: Mapping[str, EngineResult] | None = None,
    policy: VerdictPolicy | None = None,
) -> Assessment:
    """Apply ``policy`` to an object's (or analysis') stats and per-engine results."""
    policy = policy or VerdictPolicy()
    if stats is None:
        return Assessment(verdict=Verdict.UNKNOWN, reason="no analysis results on record")
    engines = stats.total
    counts = {"malicious": stats.malicious, "suspicious": stats.suspicious, "engines": engines}
    flagged: Sequence[str] = [
        name
        for name in policy.preferred_engines
        if results and name in results and results[name].category == "malicious"
    ]
    if flagged:
        return Assessment(
            verdict=Verdict.MALICIOUS,
            reason=f"preferred engine {flagged[0]} says malicious"
            + (f" ({results[flagged[0]].result})" if results and results[flagged[0]].result else ""),
            **counts,
        )
    if stats.malicious >= policy.malicious_threshold:
        return Assessment(
            verdict=Verdict.MALICIOUS,
            reason=f"{stats.malicious}/{engines} engines say malicious "
            f"(threshold {policy.malicious_threshold})",
            **counts,
        )
    if stats.malicious + stats.suspicious >= policy.suspicious_threshold:
        return Assessment(
            verdict=Verdict.SUSPICIOUS,
            reason=f"{stats.malicious} malicious and {stats.suspicious} suspicious of {engines} engines "
            f"(below the malicious threshold of {policy.malicious_threshold})",
            **counts,
        )
    if engines < policy.min_engines:
        return Assessment(
            verdict=Verdict.UNKNOWN,
            reason=f"only {engines} engines answered (at least {policy.min_engines} needed)",
            **counts,
        )
    return Assessment(verdict=Verdict.CLEAN, reason=f"0/{engines} engines flag it", **counts)
