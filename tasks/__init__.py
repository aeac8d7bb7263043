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

__all__ = [
    "LOOKUP_CACHE",
    "LOOKUP_CACHE_EXPIRATION",
    "get_analysis",
    "get_domain_report",
    "get_file_report",
    "get_ip_report",
    "get_related_objects",
    "get_url_report",
    "lookup_indicators",
]
