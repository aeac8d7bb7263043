"""Tasks on the key's user: its quota use and the daily budget guard."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials, ensure_daily_budget
from prefect_virustotal.client.models import OverallQuotas


@task(name="check_daily_budget", retries=0, cache_policy=NO_CACHE)
async def check_daily_budget(
    credentials: VirusTotalCredentials, needed: int, reserve: int | None = None
) -> OverallQuotas:
    """Refuse work that would eat into the requests kept for incident response.

    Reads the key's quota use (one request) and fails when, after ``needed`` more
    requests, fewer than ``reserve`` of today's allowance would remain.

    Args:
        credentials: the VirusTotal credentials block (``daily_reserve`` is the default).
        needed: requests the work about to start will send at most.
        reserve: requests to keep back today; defaults to ``credentials.daily_reserve``.

    Returns:
        The key's quota use as read.

    Raises:
        DailyReserveError: the work would eat into the reserve (the message says so).

    Example:
        ```python
        await check_daily_budget(credentials, needed=len(indicators))
        ```
    """
    quotas = await ensure_daily_budget(credentials, needed, reserve=reserve)
    daily = quotas.daily
    get_run_logger().info("daily quota: %d of %d used; %d requests needed", daily.used, daily.allowed, needed)
    return quotas
