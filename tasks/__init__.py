"""Prefect tasks, one module per v3 area. Tasks ship with ``retries=0``: the client retries."""

from ._lookups import (
    LOOKUP_CACHE,
    LOOKUP_CACHE_EXPIRATION,
    get_analysis,
    get_domain_report,
    get_file_report,
    get_ip_report,
    get_related_objects,
    get_url_report,
    lookup_indicators,
)
from ._users import check_daily_budget

__all__ = [
    "LOOKUP_CACHE",
    "LOOKUP_CACHE_EXPIRATION",
    "check_daily_budget",
    "get_analysis",
    "get_domain_report",
    "get_file_report",
    "get_ip_report",
    "get_related_objects",
    "get_url_report",
    "lookup_indicators",
]
