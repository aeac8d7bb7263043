"""Prefect tasks, one module per v3 area. Tasks ship with ``retries=0``: the client retries."""

from ._alerts import (
    acknowledge_alerts,
    delete_hunting_notification,
    delete_hunting_notifications,
    delete_ioc_stream_notification,
    delete_ioc_stream_notifications,
    fetch_alert_page,
    get_hunting_notification,
    get_ioc_stream_notification,
    list_hunting_notification_files,
    list_hunting_notifications,
    list_ioc_stream,
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
    "LOOKUP_CACHE",
    "LOOKUP_CACHE_EXPIRATION",
    "acknowledge_alerts",
    "delete_hunting_notification",
    "delete_hunting_notifications",
    "delete_ioc_stream_notification",
    "delete_ioc_stream_notifications",
    "fetch_alert_page",
    "get_analysis",
    "get_domain_report",
    "get_file_report",
    "get_hunting_notification",
    "get_ioc_stream_notification",
    "get_ip_report",
    "get_related_objects",
    "get_url_report",
    "list_hunting_notification_files",
    "list_hunting_notifications",
    "list_ioc_stream",
    "lookup_indicators",
]
