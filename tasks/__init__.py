"""Prefect tasks, one module per v3 area. Tasks ship with ``retries=0``: the client retries."""

from ._collections import (
    add_collection_comment,
    add_collection_items,
    create_collection,
    delete_collection,
    get_collection,
    list_collection_comments,
    list_collection_items,
    list_user_collections,
    remove_collection_items,
    update_collection,
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
    "add_collection_comment",
    "add_collection_items",
    "create_collection",
    "delete_collection",
    "get_analysis",
    "get_collection",
    "get_domain_report",
    "get_file_report",
    "get_ip_report",
    "get_related_objects",
    "get_url_report",
    "list_collection_comments",
    "list_collection_items",
    "list_user_collections",
    "lookup_indicators",
    "remove_collection_items",
    "update_collection",
]
