"""API usage over the last days: a table, a Unicode bar chart and the daily threshold check.

The chart is a markdown table whose bars are Unicode block characters (eighths of a cell), so
it renders in Prefect's default UI, where Mermaid blocks show as raw code.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, Field

from prefect_virustotal.client.models import ApiUsage, OverallQuotas

_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"


def bar(value: int, top: int, width: int = 30) -> str:
    """A bar of ``value`` against ``top`` (the longest bar), ``width`` cells at most."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, rest = divmod(min(eighths, width * 8), 8)
    return _FULL * full + (_EIGHTHS[rest] if rest else "")


class UsageDay(BaseModel):
    """One day of use."""

    day: date
    requests: int
    top_endpoint: str = ""


def usage_days(usage: ApiUsage, end: date, days: int = 30) -> list[UsageDay]:
    """``days`` consecutive days ending on ``end``, oldest first, missing days as 0."""
    out = []
    for offset in range(days - 1, -1, -1):
        day = end - timedelta(days=offset)
        groups = usage.daily.get(day.isoformat(), {})
        top = max(groups.items(), key=lambda kv: (kv[1], kv[0]))[0] if groups else ""
        out.append(UsageDay(day=day, requests=sum(groups.values()), top_endpoint=top))
    return out


def usage_chart(days: list[UsageDay], daily_allowed: int | None = None, width: int = 30) -> str:
    """A markdown table with one Unicode bar per day (scaled to the busiest day or the allowance)."""
    top = max([d.requests for d in days] + [daily_allowed or 0])
    lines = ["| day | requests | |", "|---|---:|:---|"]
    for d in days:
        share = f" ({d.requests / daily_allowed:.0%})" if daily_allowed else ""
        lines.append(f"| {d.day.isoformat()} | {d.requests}{share} | {bar(d.requests, top, width) or '·'} |")
    if daily_allowed:
        lines.append(f"| allowance | {daily_allowed} | {bar(daily_allowed, top, width)} |")
    return "\n".join(lines)


def usage_rows(days: list[UsageDay], daily_allowed: int | None = None) -> list[dict[str, str]]:
    """One table-artifact row per day, newest first."""
    return [
        {
            "day": d.day.isoformat(),
            "requests": str(d.requests),
            "share of daily quota": f"{d.requests / daily_allowed:.0%}" if daily_allowed else "-",
            "busiest endpoint": d.top_endpoint or "-",
        }
        for d in reversed(days)
    ]


def over_threshold(used: int, allowed: int, threshold: float) -> bool:
    """Whether ``used`` of ``allowed`` has reached ``threshold`` (a fraction, e.g. 0.8)."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold is a fraction in (0, 1]")
    return allowed > 0 and used >= threshold * allowed


class QuotaReport(BaseModel):
    """What ``quota_report`` (and ``prefect-virustotal quota``) returns."""

    days: list[UsageDay] = Field(default_factory=list)
    quotas: OverallQuotas
    per_endpoint: dict[str, int] = Field(default_factory=dict)
    threshold: float
    alerted: bool = False
    """Whether the quota event was emitted (only a flow emits it)."""

    @property
    def today_used(self) -> int:
        """Requests used today, as the quota counter says."""
        return self.quotas.daily.used

    @property
    def over_threshold(self) -> bool:
        """Whether today's use has reached the threshold of the daily allowance."""
        return over_threshold(self.quotas.daily.used, self.quotas.daily.allowed, self.threshold)


def quota_usage(
    quotas: OverallQuotas, usage: ApiUsage, *, end: date, days: int, threshold: float
) -> QuotaReport:
    """The report of ``days`` days of use ending on ``end`` (the event is the flow's business)."""
    return QuotaReport(
        days=usage_days(usage, end, days), quotas=quotas, per_endpoint=usage.per_endpoint, threshold=threshold
    )
