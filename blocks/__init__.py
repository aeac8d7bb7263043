"""Prefect blocks of the pack (``prefect block register -m prefect_virustotal.blocks``)."""

from ._budget import DailyReserveError, ensure_daily_budget
from ._credentials import VirusTotalCredentials, resolve_credentials
from ._ratelimit import PrefectRateLimiter, SharedRateLimitError, rate_limit_name_for, rate_limit_settings

__all__ = [
    "DailyReserveError",
    "PrefectRateLimiter",
    "SharedRateLimitError",
    "VirusTotalCredentials",
    "ensure_daily_budget",
    "rate_limit_name_for",
    "rate_limit_settings",
    "resolve_credentials",
]
