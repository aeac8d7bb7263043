"""``quota_report``: the key's use over the last 30 days, and an event before the quota runs out."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.events import emit_event

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import InvalidParameterError
from prefect_virustotal.core import QuotaReport, over_threshold, quota_usage, usage_chart, usage_rows
from prefect_virustotal.tasks import get_api_usage, get_overall_quotas

QUOTA_EVENT = "virustotal.quota.threshold"
"""Emitted when the day's use passes the threshold; payload: used, allowed, threshold."""
QUOTA_TABLE_KEY = "virustotal-quota-usage"
QUOTA_CHART_KEY = "virustotal-quota-chart"


@flow(name="virustotal-quota-report", log_prints=False)
async def quota_report(
    threshold: float = 0.8,
    user_id: str | None = None,
    days: int = 30,
    end_date: date | None = None,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> QuotaReport:
    """Report the key's API use over the last days and warn before the daily quota runs out.

    Reads ``overall_quotas`` and ``api_usage`` (two requests), writes a table artifact (one
    row per day) and a markdown chart of Unicode bars (it renders in Prefect's default UI),
    and emits ``virustotal.quota.threshold`` when today's use has reached ``threshold`` of
    the daily allowance, so that an automation can warn or pause deployments.

    Args:
        threshold: fraction of the daily allowance that triggers the event (0.8 = 80 %).
        user_id: a user id; None for the key's own user (the key is never shown).
        days: days to chart, 1-30 (the service's limit).
        end_date: the last day charted; today (UTC) by default.
        credentials: a credentials block, or the name of a saved one.

    Returns:
        Per-day use, the quota counters and whether the event was emitted.

    Raises:
        InvalidParameterError: threshold or days out of range (no request made).

    Example:
        ```python
        report = await quota_report(threshold=0.9)
        ```
    """
    if not 0 < threshold <= 1:
        raise InvalidParameterError("threshold is a fraction in (0, 1]")
    if not 1 <= days <= 30:
        raise InvalidParameterError("days must be 1-30")
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    quotas = await get_overall_quotas(user_id, credentials=block)
    end = end_date or datetime.now(timezone.utc).date()
    usage = await get_api_usage(
        user_id, start_date=end - timedelta(days=days - 1), end_date=end, credentials=block
    )
    report = quota_usage(quotas, usage, end=end, days=days, threshold=threshold)
    per_day, allowed = report.days, quotas.daily.allowed or None
    await acreate_table_artifact(
        key=QUOTA_TABLE_KEY, table=usage_rows(per_day, allowed), description="VirusTotal API requests per day"
    )
    chart = f"# VirusTotal API use, last {days} days\n\n{usage_chart(per_day, allowed)}\n"
    await acreate_markdown_artifact(key=QUOTA_CHART_KEY, markdown=chart, description="requests per day")
    daily = quotas.daily
    if over_threshold(daily.used, daily.allowed, threshold):
        report.alerted = True
        emit_event(
            event=QUOTA_EVENT,
            resource={"prefect.resource.id": f"virustotal.quota.{user_id or 'own-key'}"},
            payload={"used": daily.used, "allowed": daily.allowed, "threshold": threshold},
        )
        logger.warning(
            "daily quota %d of %d used (threshold %.0f%%)", daily.used, daily.allowed, threshold * 100
        )
    else:
        logger.info("daily quota %d of %d used", daily.used, daily.allowed)
    return report
