"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._checkpoints import (
    CHECKPOINT_PREFIX,
    MAX_CHECKPOINT_BYTES,
    CheckpointStore,
    CheckpointTooLargeError,
    MemoryCheckpointStore,
    checkpoint_fits,
    checkpoint_name,
    checkpoint_size,
    ensure_checkpoint_fits,
)
from ._enrich import (
    EnrichedIndicator,
    EnrichmentReport,
    enrich_results,
    lookup_many,
)
from ._expand import (
    DEFAULT_RELATIONSHIPS,
    DESCRIPTOR_PAGE,
    EMBEDDED_PAGE,
    Discovery,
    LevelResult,
    fetch_level,
    level_request_bound,
    target_of,
)
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
from ._submission import submission_checkpoint
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
    "CHECKPOINT_PREFIX",
    "DEFAULT_RELATIONSHIPS",
    "DESCRIPTOR_PAGE",
    "EMBEDDED_PAGE",
    "MAX_CHECKPOINT_BYTES",
    "MAX_SCAN_BYTES",
    "SCANNED_SUFFIXES",
    "SKIPPED_DIRECTORIES",
    "V2_ENDPOINTS",
    "V2_FIELDS",
    "V2_QUOTA_STATUS",
    "CheckpointStore",
    "CheckpointTooLargeError",
    "Discovery",
    "EnrichedIndicator",
    "EnrichmentReport",
    "LevelResult",
    "MemoryCheckpointStore",
    "MigrationFinding",
    "MigrationInputError",
    "MigrationReport",
    "V2Endpoint",
    "V2Field",
    "checkpoint_fits",
    "checkpoint_name",
    "checkpoint_size",
    "collect_files",
    "enrich_results",
    "ensure_checkpoint_fits",
    "fetch_level",
    "level_request_bound",
    "lookup_many",
    "mask_key",
    "render_markdown",
    "scan_paths",
    "scan_text",
    "submission_checkpoint",
    "target_of",
    "v2_endpoint",
    "v2_field",
]
