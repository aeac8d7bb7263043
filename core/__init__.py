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
from ._submission import submission_checkpoint

__all__ = [
    "CHECKPOINT_PREFIX",
    "DEFAULT_RELATIONSHIPS",
    "DESCRIPTOR_PAGE",
    "EMBEDDED_PAGE",
    "MAX_CHECKPOINT_BYTES",
    "CheckpointStore",
    "CheckpointTooLargeError",
    "Discovery",
    "LevelResult",
    "MemoryCheckpointStore",
    "checkpoint_fits",
    "checkpoint_name",
    "checkpoint_size",
    "ensure_checkpoint_fits",
    "fetch_level",
    "level_request_bound",
    "submission_checkpoint",
    "target_of",
]
