"""Tasks on the key's user: its quota use and the daily budget guard."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials, ensure_daily_budget
from prefect_virustotal.client.models import ApiUsage, OverallQuotas


@task(name="VirusTotal: check daily budget", retries=0, cache_policy=NO_CACHE)
async def check_daily_budget(
    needed: int, reserve: int | None = None, *, credentials: VirusTotalCredentials
) -> OverallQuotas:
    """Refuse work that would eat into the requests kept for incident response.

    Reads the key's quota use (one request) and fails when, after ``needed`` more
    requests, fewer than ``reserve`` of today's allowance would remain.

    Args:
        needed: requests the work about to start will send at most.
        reserve: requests to keep back today; defaults to ``credentials.daily_reserve``.
        credentials: the VirusTotal credentials block (``daily_reserve`` is the default).

    Returns:
        The key's quota use as read.

    Raises:
        DailyReserveError: the work would eat into the reserve (the message says so).

    Example:
        ```python
        await check_daily_budget(needed=len(indicators), credentials=credentials)
        ```
    """
    quotas = await ensure_daily_budget(credentials, needed, reserve=reserve)
    daily = quotas.daily
    get_run_logger().info("daily quota: %d of %d used; %d requests needed", daily.used, daily.allowed, needed)
    return quotas


@task(name="VirusTotal: get overall quotas", retries=0, cache_policy=NO_CACHE)
async def get_overall_quotas(
    user_id: str | None = None, *, credentials: VirusTotalCredentials
) -> OverallQuotas:
    """Read a user's quota use per period (hourly, daily, monthly).

    Args:
        user_id: a user id; None for the key's own user (the key then travels in the path and
            log lines hide it).
        credentials: the VirusTotal credentials block.

    Example:
        ```python
        quotas = await get_overall_quotas(credentials)
        ```
    """
    async with credentials.get_client() as vt:
        quotas = await vt.users.get_overall_quotas(user_id)
    get_run_logger().info("daily quota: %d of %d used", quotas.daily.used, quotas.daily.allowed)
    return quotas


@task(name="VirusTotal: get API usage", retries=0, cache_policy=NO_CACHE)
async def get_api_usage(
    user_id: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> ApiUsage:
    """Read a user's requests per day and endpoint group (at most 30 days, the last 30 by default).

    Args:
        user_id: a user id; None for the key's own user.
        start_date: first day; with ``end_date``, at most 30 days apart.
        end_date: last day.
        credentials: the VirusTotal credentials block.

    Example:
        ```python
        usage = await get_api_usage(credentials)
        ```
    """
    async with credentials.get_client() as vt:
        usage = await vt.users.get_api_usage(user_id, start_date=start_date, end_date=end_date)
    get_run_logger().info("api usage: %d days with requests", len(usage.daily))
    return usage
