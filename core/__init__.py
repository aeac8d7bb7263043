"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._migrate import (
    MAX_SCAN_BYTES,
    SCANNED_SUFFIXES,
    SKIPPED_DIRECTORIES,
    MigrationFinding,
    MigrationInputError,
    MigrationReport,
    collect_files,
    mask_key,
    render_markdown,
    scan_paths,
    scan_text,
)
from ._v2map import (
    V2_ENDPOINTS,
    V2_FIELDS,
    V2_QUOTA_STATUS,
    V2Endpoint,
    V2Field,
    v2_endpoint,
    v2_field,
)

__all__ = [
    "GUI_ROOT",
    "MAX_SCAN_BYTES",
    "SCANNED_SUFFIXES",
    "SHORT_HASH_LENGTH",
    "SKIPPED_DIRECTORIES",
    "V2_ENDPOINTS",
    "V2_FIELDS",
    "V2_QUOTA_STATUS",
    "VERDICT_ORDER",
    "MigrationFinding",
    "MigrationInputError",
    "MigrationReport",
    "V2Endpoint",
    "V2Field",
    "artifact_key",
    "canonical_url",
    "collect_files",
    "defang",
    "defang_text",
    "display_indicator",
    "markdown_cell",
    "markdown_link",
    "mask_key",
    "node_display",
    "relationship_summary",
    "render_markdown",
    "scan_paths",
    "scan_text",
    "short_hash",
    "shorten_hashes",
    "url_page_id",
    "v2_endpoint",
    "v2_field",
    "verdict_counts",
    "verdict_rank",
    "vt_link",
]
