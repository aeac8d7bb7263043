"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from ._alerts import MAX_SEEN_IDS, AlertCheckpoint, PollReport, poll_alerts
from ._enrich import EMULATED_BANNER, EnrichedIndicator, EnrichmentReport, enrich_iocs

__all__ = [
    "EMULATED_BANNER",
    "MAX_SEEN_IDS",
    "AlertCheckpoint",
    "EnrichedIndicator",
    "EnrichmentReport",
    "PollReport",
    "enrich_iocs",
    "poll_alerts",
]
