"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._display import (
    GUI_ROOT,
    SHORT_HASH_LENGTH,
    VERDICT_ORDER,
    artifact_key,
    canonical_url,
    defang,
    defang_text,
    display_indicator,
    markdown_cell,
    markdown_link,
    node_display,
    relationship_summary,
    short_hash,
    shorten_hashes,
    url_page_id,
    verdict_counts,
    verdict_rank,
    vt_link,
)

__all__ = [
    "GUI_ROOT",
    "SHORT_HASH_LENGTH",
    "VERDICT_ORDER",
    "artifact_key",
    "canonical_url",
    "defang",
    "defang_text",
    "display_indicator",
    "markdown_cell",
    "markdown_link",
    "node_display",
    "relationship_summary",
    "short_hash",
    "shorten_hashes",
    "url_page_id",
    "verdict_counts",
    "verdict_rank",
    "vt_link",
]
