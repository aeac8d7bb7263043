"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from ._enrich import EMULATED_BANNER, EnrichedIndicator, EnrichmentReport, enrich_iocs
from ._submit import checkpoint_name, submit_and_wait

__all__ = [
    "EMULATED_BANNER",
    "EnrichedIndicator",
    "EnrichmentReport",
    "checkpoint_name",
    "enrich_iocs",
    "submit_and_wait",
]
