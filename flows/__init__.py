"""Flows composed from the pack's tasks. No HTTP here: the client owns it."""

from ._enrich import EMULATED_BANNER, EnrichedIndicator, EnrichmentReport, enrich_iocs
from ._expand import CollectionHook, expand_iocs
from ._expand_artifacts import mermaid_diagram, mermaid_markdown, node_rows
from ._stix import stix_bundle, stix_bundle_json

__all__ = [
    "EMULATED_BANNER",
    "CollectionHook",
    "EnrichedIndicator",
    "EnrichmentReport",
    "enrich_iocs",
    "expand_iocs",
    "mermaid_diagram",
    "mermaid_markdown",
    "node_rows",
    "stix_bundle",
    "stix_bundle_json",
]
