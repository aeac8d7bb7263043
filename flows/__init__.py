"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from ._collections import CollectionSyncReport, sync_collection
from ._enrich import EMULATED_BANNER, EnrichedIndicator, EnrichmentReport, enrich_iocs
from ._retrohunt import (
    FINISHED_EVENT,
    NOTIFIED_VARIABLE,
    RetrohuntReport,
    abort_job_on_cancellation,
    collect_retrohunt_results,
    retrohunt,
    watch_retrohunt_jobs,
)

__all__ = [
    "EMULATED_BANNER",
    "FINISHED_EVENT",
    "NOTIFIED_VARIABLE",
    "CollectionSyncReport",
    "EnrichedIndicator",
    "EnrichmentReport",
    "RetrohuntReport",
    "abort_job_on_cancellation",
    "collect_retrohunt_results",
    "enrich_iocs",
    "retrohunt",
    "sync_collection",
    "watch_retrohunt_jobs",
]
