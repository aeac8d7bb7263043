"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from ._collections import CollectionSyncReport, sync_collection
from ._enrich import EMULATED_BANNER, EnrichedIndicator, EnrichmentReport, enrich_iocs

__all__ = [
    "EMULATED_BANNER",
    "CollectionSyncReport",
    "EnrichedIndicator",
    "EnrichmentReport",
    "enrich_iocs",
    "sync_collection",
]
