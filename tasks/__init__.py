"""Prefect tasks, one module per v3 area. Tasks ship with ``retries=0``: the client retries."""

from ._expand import (
    DEFAULT_RELATIONSHIPS,
    EXPAND_CACHE,
    EXPAND_CACHE_EXPIRATION,
    Discovery,
    LevelResult,
    expand_level,
    level_request_bound,
)
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
    "DEFAULT_RELATIONSHIPS",
    "EXPAND_CACHE",
    "EXPAND_CACHE_EXPIRATION",
    "LOOKUP_CACHE",
    "LOOKUP_CACHE_EXPIRATION",
    "Discovery",
    "LevelResult",
    "expand_level",
    "get_analysis",
    "get_domain_report",
    "get_file_report",
    "get_ip_report",
    "get_related_objects",
    "get_url_report",
    "level_request_bound",
    "lookup_indicators",
]
