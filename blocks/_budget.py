"""The daily budget guard: keep part of the key's day for incident response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect_virustotal.client import RequestBudgetExceededError
from prefect_virustotal.client.models import OverallQuotas

if TYPE_CHECKING:
    from ._credentials import VirusTotalCredentials


class DailyReserveError(RequestBudgetExceededError):
    """Routine work was refused because it would eat into the incident-response reserve."""


async def ensure_daily_budget(
    credentials: VirusTotalCredentials, needed: int, *, reserve: int | None = None
) -> OverallQuotas:
    """Refuse ``needed`` requests when they would eat into the day's reserve.

    Reads the key's quota use (``GET /users/{id}/overall_quotas``, one request) and checks
    that after ``needed`` more requests at least ``reserve`` of today's allowance remain.

    Args:
        credentials: the credentials block (its ``daily_reserve`` is the default reserve).
        needed: requests the work about to start will send at most.
        reserve: requests to keep back; defaults to ``credentials.daily_reserve`` (0 if None).

    Returns:
        The quota use that was read.

    Raises:
        DailyReserveError: the work would leave fewer than ``reserve`` requests today.

    Example:
        ```python
        await ensure_daily_budget(credentials, needed=len(indicators))
        ```
    """
    if needed < 0:
        raise ValueError("needed must not be negative")
    keep = credentials.daily_reserve if reserve is None else reserve
    keep = keep or 0
    async with credentials.get_client() as vt:
        quotas = await vt.users.get_overall_quotas()
    daily = quotas.daily
    if daily.allowed and daily.remaining - needed < keep:
        raise DailyReserveError(
            f"refused: this work needs up to {needed} requests, {daily.remaining} of today's "
            f"{daily.allowed} remain and {keep} are kept in reserve for incident response "
            "(the day resets at 00:00 UTC; an incident runbook may pass reserve=0)",
            scope="daily",
        )
    return quotas
