"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from prefect_virustotal.core import (
    MAX_SEEN_IDS,
    AlertCheckpoint,
    EnrichedIndicator,
    EnrichmentReport,
    QuotaReport,
)

from ._alerts import PollReport, poll_alerts
from ._checkpoints import VariableCheckpointStore
from ._collections import sync_collection
from ._enrich import enrich_iocs
from ._expand import CollectionHook, expand_iocs
from ._migrate import MIGRATION_ARTIFACT_KEY, migration_report
from ._quota import QUOTA_CHART_KEY, QUOTA_EVENT, QUOTA_TABLE_KEY, quota_report
from ._retrohunt import (
    FINISHED_EVENT,
    NOTIFIED_VARIABLE,
    RetrohuntReport,
    collect_retrohunt_results,
    retrohunt,
    watch_retrohunt_jobs,
)
from ._search import SEARCH_ARTIFACT_KEY, SearchReport, intelligence_search
from ._submit import submit_and_wait, submit_and_wait_many
from ._triage import triage

__all__ = [
    "FINISHED_EVENT",
    "MAX_SEEN_IDS",
    "MIGRATION_ARTIFACT_KEY",
    "NOTIFIED_VARIABLE",
    "QUOTA_CHART_KEY",
    "QUOTA_EVENT",
    "QUOTA_TABLE_KEY",
    "SEARCH_ARTIFACT_KEY",
    "AlertCheckpoint",
    "CollectionHook",
    "EnrichedIndicator",
    "EnrichmentReport",
    "PollReport",
    "QuotaReport",
    "RetrohuntReport",
    "SearchReport",
    "VariableCheckpointStore",
    "collect_retrohunt_results",
    "enrich_iocs",
    "expand_iocs",
    "intelligence_search",
    "migration_report",
    "poll_alerts",
    "quota_report",
    "retrohunt",
    "submit_and_wait",
    "submit_and_wait_many",
    "sync_collection",
    "triage",
    "watch_retrohunt_jobs",
]
